"""Parameters constrained to a unit ball (Lucid's ``optvis.param.unit_balls``; EXPERIMENTAL there too).

``unit_ball_L2(shape)`` and ``unit_ball_L_inf(shape)`` are parameterizations that start at zero and stay in the
L2 / L-infinity unit ball: the forward maps the variable ``x`` to ``x / max(1, |x|)``, and the backward lets
the optimizer move freely inside the ball but removes, on the boundary, the part of the step that would push
further out. lucid_fast maximizes, so "further out" is the direction of the incoming gradient (the step's
direction); ``precondition=True`` (L-infinity) replaces the gradient by its sign, the steepest-ascent direction
under the L-infinity norm.

``constrain_L2``, ``constrain_L_inf`` and ``constrain_L_inf_precondition`` apply the same maps to an existing
parameterization (a :class:`~lucid_fast.optvis.param.Node`) or to a TensorFlow tensor (then through
``tf.custom_gradient``, for TF code inside an objective or a TFParam).
"""
import numpy as np

from lucid_fast import ops

from .core import Node, Param


def dot(a, b):
    """``sum(a * b)`` over every element (a TF scalar)."""
    import tensorflow as tf

    return tf.reduce_sum(a * b)


# ---- the maps on numpy arrays (value, and the constrained backward) ----------------------------------------

def _l2_fwd(x):
    return x / max(1.0, float(np.linalg.norm(x)))


def _l2_bwd(x, g):
    norm = float(np.linalg.norm(x))
    if norm < 1.0 or norm == 0.0:
        return g
    unit = x / norm
    along = float(np.sum(unit * g))
    return g - along * unit if along > 0.0 else g  # on/outside the sphere: no outward component


def _linf_fwd(x):
    return x / np.maximum(1.0, np.abs(x))


def _linf_bwd(x, g, precondition):
    if precondition:
        g = np.sign(g)
    return np.where((np.abs(x) >= 1.0) & (x * g > 0.0), 0.0, g).astype(np.float32)


class _Constrain(Node):
    def __init__(self, a, kind, precondition=False):
        self.inputs = (a,)
        self.shape = a.shape
        self.kind, self.precondition = kind, bool(precondition)

    def forward(self, a):
        out = ops.empty_aligned(self.shape)
        out[...] = _l2_fwd(a) if self.kind == "L2" else _linf_fwd(a)
        return out

    def backward(self, grad_out, a):
        g = np.asarray(grad_out, np.float32)
        if self.kind == "L2":
            return (np.asarray(_l2_bwd(a, g), np.float32),)
        return (_linf_bwd(a, g, self.precondition),)


# ---- the TensorFlow versions -------------------------------------------------------------------------------

def _tf_l2(x_t):
    import tensorflow as tf

    @tf.custom_gradient
    def f(x):
        norm = tf.norm(x)

        def grad(g):
            unit = x / tf.maximum(norm, 1e-30)
            along = tf.reduce_sum(unit * g)
            clip = tf.logical_and(norm >= 1.0, along > 0.0)
            return tf.where(clip, g - along * unit, g)

        return x / tf.maximum(1.0, norm), grad

    return f(tf.convert_to_tensor(x_t, tf.float32))


def _tf_linf(x_t, precondition):
    import tensorflow as tf

    @tf.custom_gradient
    def f(x):
        def grad(g):
            if precondition:
                g = tf.sign(g)
            return tf.where(tf.logical_and(tf.abs(x) >= 1.0, x * g > 0.0), tf.zeros_like(g), g)

        return x / tf.maximum(1.0, tf.abs(x)), grad

    return f(tf.convert_to_tensor(x_t, tf.float32))


# ---- public ------------------------------------------------------------------------------------------------

def constrain_L2(x):
    """``x / max(1, ||x||_2)``; on the sphere the gradient loses its outward component."""
    return _Constrain(x, "L2") if isinstance(x, Node) else _tf_l2(x)


def constrain_L_inf(x):
    """``x / max(1, |x|)`` elementwise; saturated entries get no gradient that pushes them further out."""
    return _Constrain(x, "L_inf") if isinstance(x, Node) else _tf_linf(x, precondition=False)


def constrain_L_inf_precondition(x):
    """:func:`constrain_L_inf` with the gradient replaced by its sign (steepest ascent under L-infinity)."""
    return _Constrain(x, "L_inf", precondition=True) if isinstance(x, Node) else _tf_linf(x, precondition=True)


def _zeros_param(shape, name):
    shape = tuple(shape)
    if not shape or any(isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 1 for s in shape):
        raise ValueError(f"{name}: shape must be a tuple of positive ints, got {shape!r}")
    return Param(shape, init_val=np.zeros(shape, np.float32), name=name)


def unit_ball_L2(shape):
    """A parameter constrained to the L2 unit ball (starts at zero)."""
    return constrain_L2(_zeros_param(shape, "unit_ball_L2"))


def unit_ball_L_inf(shape, precondition=True):
    """A parameter constrained to the L-infinity unit ball (starts at zero); ``precondition`` takes the sign of
    the gradient."""
    x = _zeros_param(shape, "unit_ball_L_inf")
    return constrain_L_inf_precondition(x) if precondition else constrain_L_inf(x)


__all__ = ["constrain_L2", "constrain_L_inf", "constrain_L_inf_precondition", "dot", "unit_ball_L2",
           "unit_ball_L_inf"]
