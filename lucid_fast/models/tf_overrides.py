"""TensorFlow gradient overrides: Lucid's redirected ReLU / ReLU6 gradient and attribution's smooth MaxPool gradient.

Each override exists in the two forms the TF adapters need:

* a ``tf.custom_gradient`` function (:func:`redirected_relu`, :func:`redirected_relu6`, :func:`smooth_maxpool`),
  which :class:`~lucid_fast.models.tf_keras.KerasAdapter` calls in place of the layer's own op;
* a registered gradient (:func:`_register_override_gradients`, names ``_RELU_GRAD_NAME``, ``_RELU6_GRAD_NAME``,
  ``_MAXPOOL_GRAD_NAMES``), which :class:`~lucid_fast.models.tf_graphdef.GraphDefAdapter` installs with
  ``gradient_override_map`` while importing a frozen graph.

Both forms compute the gradient with one function (:func:`redirected_relu_grad`, :func:`smooth_maxpool_grad`).
"""
from __future__ import annotations

import threading

import tensorflow as tf

__all__ = [
    "redirected_relu_grad",
    "redirected_relu",
    "redirected_relu6",
    "forced_redirected_relu",
    "forced_redirected_relu6",
    "RELU_OVERRIDE_MODES",
    "relu_override_mode",
    "relu_fn",
    "MAXPOOL_GRADS",
    "SMOOTH_MAXPOOL_EPSILON",
    "GRAD_BLUR_WEIGHTS",
    "blur_gradient",
    "smooth_maxpool_grad",
    "smooth_maxpool",
]

# ---------------------------------------------------------------------------------------------------------------
# Lucid's redirected ReLU gradient
# ---------------------------------------------------------------------------------------------------------------

RELU_OVERRIDE_MODES = (False, True, "force")


def relu_override_mode(value):
    """A ``relu_override`` setting: False (TensorFlow's ReLU gradient), True (Lucid's redirected gradient, decided
    per batch item) or ``"force"`` (the redirected gradient for every item; the engine's second pass for an image
    whose gradient the ordinary one left at exactly zero)."""
    if isinstance(value, str):
        if value != "force":
            raise ValueError(f"relu_override must be False, True or 'force', got {value!r}")
        return "force"
    return bool(value)


def relu_fn(kind, mode):
    """The ReLU (``kind`` "relu") or ReLU6 (``"relu6"``) to run under a :func:`relu_override_mode`."""
    table = {False: (tf.nn.relu, tf.nn.relu6), True: (redirected_relu, redirected_relu6),
             "force": (forced_redirected_relu, forced_redirected_relu6)}
    return table[relu_override_mode(mode)][0 if kind == "relu" else 1]


def redirected_relu_grad(x, grad, upper=None, force=False):
    """The redirected ReLU (or ReLU6) gradient: Lucid's override, for an engine that *maximizes* its objective.

    A ReLU blocks the gradient where its input is negative, so a unit that no image in the batch activates yet
    gives an optimizer nothing to follow. Lucid's override lets the gradient through in that case, except where
    following it would push the input further into the blocked region. The check is done per batch item: where
    the ordinary gradient of an item is not entirely zero, that item keeps the ordinary gradient.

    Lucid differentiated ``-objective`` (TF1 optimizers minimize); lucid_fast differentiates the objective it
    maximizes, so with ``grad = d(objective)/d(relu output)`` a step moves the input along ``+grad`` and "pushes
    lower" means ``grad < 0``.

    Args:
        x: The ReLU's input, a float tensor of rank >= 1 whose first axis is the batch.
        grad: The upstream gradient, same shape as ``x``.
        upper: ``None`` for ReLU, ``6.0`` for ReLU6 (then inputs above ``upper`` are blocked as well, and the
            redirected gradient only lets through what pushes them down).

    Returns:
        The gradient with respect to ``x``, same shape:

        * ordinary part: ``grad`` where ``x >= 0`` (and ``x <= upper``), else 0 — as in Lucid, an input exactly
          at 0 (or at ``upper``) passes the gradient;
        * redirected part: ``grad`` except 0 where ``x < 0 and grad < 0`` (and where ``x > upper and grad > 0``);
        * per batch item, the ordinary part if any of its entries is non-zero, else the redirected part; with
          ``force=True``, the redirected part for every item.
    """
    x = tf.convert_to_tensor(x)
    grad = tf.convert_to_tensor(grad, dtype=x.dtype)
    zeros = tf.zeros_like(grad)
    blocked = x < 0
    if upper is not None:
        blocked = tf.logical_or(blocked, x > upper)
    ordinary = tf.where(blocked, zeros, grad)
    if force:
        wrong_way = tf.logical_and(x < 0, grad < 0)
        if upper is not None:
            wrong_way = tf.logical_or(wrong_way, tf.logical_and(x > upper, grad > 0))
        return tf.where(wrong_way, zeros, grad)
    batch = tf.shape(grad)[0]
    flat = tf.reshape(ordinary, [batch, -1])
    # "not entirely zero" as max > 0 or min < 0: two reductions, cheaper than a boolean pass over the tensor
    item_passes = tf.logical_or(tf.reduce_max(flat, axis=1) > 0, tf.reduce_min(flat, axis=1) < 0)

    def with_redirection():
        wrong_way = tf.logical_and(x < 0, grad < 0)
        if upper is not None:
            wrong_way = tf.logical_or(wrong_way, tf.logical_and(x > upper, grad > 0))
        redirected = tf.where(wrong_way, zeros, grad)
        passes = tf.reshape(item_passes, tf.concat([[batch], tf.ones([tf.rank(grad) - 1], tf.int32)], 0))
        return tf.where(passes, ordinary, redirected)

    # Usually every item passes (all but the first steps of a render): then skip the redirected branch.
    return tf.cond(tf.reduce_all(item_passes), lambda: ordinary, with_redirection)


@tf.custom_gradient
def redirected_relu(x):
    """``tf.nn.relu(x)`` whose gradient is :func:`redirected_relu_grad`."""
    def grad(upstream):
        return redirected_relu_grad(x, upstream)
    return tf.nn.relu(x), grad


@tf.custom_gradient
def redirected_relu6(x):
    """``tf.nn.relu6(x)`` whose gradient is :func:`redirected_relu_grad` with ``upper=6``."""
    def grad(upstream):
        return redirected_relu_grad(x, upstream, upper=6.0)
    return tf.nn.relu6(x), grad


@tf.custom_gradient
def forced_redirected_relu(x):
    """``tf.nn.relu(x)`` whose gradient is :func:`redirected_relu_grad` with ``force=True``."""
    def grad(upstream):
        return redirected_relu_grad(x, upstream, force=True)
    return tf.nn.relu(x), grad


@tf.custom_gradient
def forced_redirected_relu6(x):
    """``tf.nn.relu6(x)`` whose gradient is :func:`redirected_relu_grad` with ``upper=6, force=True``."""
    def grad(upstream):
        return redirected_relu_grad(x, upstream, upper=6.0, force=True)
    return tf.nn.relu6(x), grad


# ---------------------------------------------------------------------------------------------------------------
# Attribution's MaxPool gradient overrides (Lucid's AttrSpatial notebook)
# ---------------------------------------------------------------------------------------------------------------

MAXPOOL_GRADS = (None, "smooth", "smooth_blur")
SMOOTH_MAXPOOL_EPSILON = 1e-2  # Lucid AttrSpatial's make_MaxSmoothPoolGrad: avg(x^2) / (1e-2 + avg(|x|))
GRAD_BLUR_WEIGHTS = (0.5, 0.25)  # Lucid AttrSpatial's blur_hack: weights of the 4 edge and 4 corner neighbours


def _check_maxpool_grad(maxpool_grad):
    if maxpool_grad not in MAXPOOL_GRADS:
        raise ValueError(f"maxpool_grad must be one of {list(MAXPOOL_GRADS)}, got {maxpool_grad!r}")
    return maxpool_grad


def blur_gradient(grad, w_edge=GRAD_BLUR_WEIGHTS[0], w_corner=GRAD_BLUR_WEIGHTS[1]):
    """Lucid's "blur hack" on an NHWC tensor: ``(1 - w_edge - w_corner) * g + w_edge * (mean of the 4 edge
    neighbours) + w_corner * (mean of the 4 corner neighbours)``, zero outside the map."""
    p = tf.pad(grad, [(0, 0), (1, 1), (1, 1), (0, 0)])
    edges = (p[:, 2:, 1:-1] + p[:, :-2, 1:-1] + p[:, 1:-1, 2:] + p[:, 1:-1, :-2]) / 4.0
    corners = (p[:, 2:, 2:] + p[:, 2:, :-2] + p[:, :-2, 2:] + p[:, :-2, :-2]) / 4.0
    return (1.0 - w_edge - w_corner) * grad + w_edge * edges + w_corner * corners


def smooth_maxpool_grad(x, grad, ksize, strides, padding, blur=False):
    """The smooth MaxPool gradient of Lucid's AttrSpatial notebook, for attribution.

    A max-pool passes its whole gradient to the one input that won each window, which makes attribution maps
    checkered and jumpy. This gradient is instead the gradient of the relaxation
    ``avg_pool(x**2) / (eps + avg_pool(|x|))`` (each window's inputs weighted by their size), evaluated at the
    pool's input ``x`` with the upstream ``grad``; with ``blur`` it is then blurred by :func:`blur_gradient`
    (Lucid's second, less principled fix for checkerboard artifacts). Both hide part of what the model does:
    use them to read attribution maps, not to study the pooling itself.

    Args:
        x: The pool's NHWC input.
        grad: The gradient with respect to the pool's output.
        ksize, strides: The pool's window and strides (ints or 2-sequences).
        padding: ``"SAME"`` or ``"VALID"``.
        blur: Also apply :func:`blur_gradient`.

    Returns:
        The gradient with respect to ``x``.
    """
    x = tf.convert_to_tensor(x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        relaxed = tf.nn.avg_pool2d(x * x, ksize, strides, padding) / (
            SMOOTH_MAXPOOL_EPSILON + tf.nn.avg_pool2d(tf.abs(x), ksize, strides, padding))
    out = tape.gradient(relaxed, x, output_gradients=tf.convert_to_tensor(grad, dtype=x.dtype))
    return blur_gradient(out) if blur else out


def smooth_maxpool(x, ksize, strides, padding, blur=False):
    """``tf.nn.max_pool2d(x, ...)`` whose gradient is :func:`smooth_maxpool_grad`."""
    @tf.custom_gradient
    def pool(x_in):
        def grad(upstream):
            return smooth_maxpool_grad(x_in, upstream, ksize, strides, padding, blur=blur)
        return tf.nn.max_pool2d(x_in, ksize, strides, padding), grad
    return pool(x)


_RELU_GRAD_NAME = "LucidFastRedirectedRelu"
_RELU6_GRAD_NAME = "LucidFastRedirectedRelu6"
_FORCED_RELU_GRAD_NAME = "LucidFastForcedRedirectedRelu"
_FORCED_RELU6_GRAD_NAME = "LucidFastForcedRedirectedRelu6"
_MAXPOOL_GRAD_NAMES = {"smooth": "LucidFastSmoothMaxPool", "smooth_blur": "LucidFastSmoothBlurMaxPool"}
_registered = False
_register_lock = threading.Lock()


def _register_override_gradients():
    """Registers the redirected gradients for ``gradient_override_map`` (once per process)."""
    global _registered
    with _register_lock:
        if _registered:
            return

        @tf.RegisterGradient(_RELU_GRAD_NAME)
        def _relu_grad(op, grad):  # noqa: ANN001 - TF's gradient function signature
            return redirected_relu_grad(op.inputs[0], grad)

        @tf.RegisterGradient(_RELU6_GRAD_NAME)
        def _relu6_grad(op, grad):  # noqa: ANN001
            return redirected_relu_grad(op.inputs[0], grad, upper=6.0)

        @tf.RegisterGradient(_FORCED_RELU_GRAD_NAME)
        def _forced_relu_grad(op, grad):  # noqa: ANN001
            return redirected_relu_grad(op.inputs[0], grad, force=True)

        @tf.RegisterGradient(_FORCED_RELU6_GRAD_NAME)
        def _forced_relu6_grad(op, grad):  # noqa: ANN001
            return redirected_relu_grad(op.inputs[0], grad, upper=6.0, force=True)

        def maxpool_grad_fn(blur):
            def _maxpool_grad(op, grad):  # noqa: ANN001
                if op.get_attr("data_format") not in (b"NHWC", "NHWC"):
                    raise ValueError(f"smooth MaxPool gradient: only NHWC pools are supported, op {op.name!r} "
                                     f"is {op.get_attr('data_format')}")
                padding = op.get_attr("padding")
                padding = padding.decode() if isinstance(padding, bytes) else padding
                return smooth_maxpool_grad(op.inputs[0], grad, list(op.get_attr("ksize")),
                                           list(op.get_attr("strides")), padding, blur=blur)
            return _maxpool_grad

        tf.RegisterGradient(_MAXPOOL_GRAD_NAMES["smooth"])(maxpool_grad_fn(False))
        tf.RegisterGradient(_MAXPOOL_GRAD_NAMES["smooth_blur"])(maxpool_grad_fn(True))
        _registered = True
