"""Small helpers shared by the objectives: dot products, positions, layer-accessor wrappers, blur.

Everything here works on the model framework's tensors (TensorFlow's inside the engine's ``tf.function`` or
eagerly, PyTorch's for an ``nn.Module``), through :mod:`lucid_fast.models.backend`. A "layer accessor" ``T`` is
a function ``name -> tensor`` (see :mod:`lucid_fast.optvis.objectives`).
"""
import numbers

import numpy as np

from lucid_fast.models.backend import of_tensor

# pylint: disable=invalid-name  (T is the conventional name of the layer accessor)


def _dot(x_t, y_t):
    """Dot product over the last (channel) axis, broadcasting the others."""
    return of_tensor(x_t).sum(x_t * y_t, axis=-1)


def _dot_cossim(x_t, y_t, cossim_pow=0):
    """Mean over positions of ``x.y``, optionally weighted by the cosine similarity raised to ``cossim_pow``.

    With ``cossim_pow == 0`` this is the plain mean dot product. Otherwise every position's dot product is
    multiplied by ``max(0.1, cos(x, y)) ** cossim_pow`` (magnitudes are offset by 1e-4 against division by
    zero), which rewards pointing in the direction of ``y`` rather than just being large.
    """
    eps = 1e-4
    B = of_tensor(x_t)
    if not B.is_tensor(y_t):
        y_t = B.constant(y_t, like=x_t)
    xy_t = _dot(x_t, y_t)
    if cossim_pow == 0:
        return B.mean(xy_t)
    x_norm_t = B.sqrt(_dot(x_t, x_t))
    y_norm_t = B.sqrt(_dot(y_t, y_t))
    cos_t = xy_t / (eps + x_norm_t) / (eps + y_norm_t)
    return B.mean(xy_t * B.maximum(cos_t, 0.1) ** cossim_pow)


def axis_size(t, axis):
    """Static size of ``axis`` when known, else the dynamic one (public: recipes use it too)."""
    return of_tensor(t).size(t, axis)


class PositionError(ValueError):
    """A neuron position outside a layer's spatial size (it depends on the image size)."""


def _check_position(who, x, y):
    """x and y: None (the centre) or ints >= 0."""
    for name, v in (("x", x), ("y", y)):
        if v is not None and (not _is_int(v) or v < 0):
            raise ValueError(f"{who}: {name} must be None (the centre) or an integer >= 0, got {v!r}")


def _extract_act_pos(acts_t, x=None, y=None, who="neuron", layer=None):
    """The single spatial position ``[:, x:x+1, y:y+1]`` of NHWC activations (kept 4-D).

    As in Lucid, ``x`` indexes axis 1 (rows) and ``y`` axis 2 (columns); each defaults to ``size // 2``,
    the centre (for even sizes, the lower/right one of the two central positions). A position outside a
    statically known size raises :class:`PositionError` (Lucid sliced nothing and averaged it into NaN).
    """
    rows, cols = acts_t.shape[1], acts_t.shape[2]
    if (x is not None and rows is not None and x >= rows) or (y is not None and cols is not None and y >= cols):
        raise PositionError(f"{who}: position x={x}, y={y} is outside layer {layer!r}, whose activations are "
                            f"{rows}x{cols} positions at this image size (x indexes rows 0..{rows - 1}, y columns "
                            f"0..{cols - 1}); pick a position inside, or render a larger image")
    x_ = axis_size(acts_t, 1) // 2 if x is None else x
    y_ = axis_size(acts_t, 2) // 2 if y is None else y
    return acts_t[:, x_:x_ + 1, y_:y_ + 1]


def _make_arg_str(arg):
    """Short printable form of an argument for descriptions ("..." for long or multi-line values)."""
    text = str(arg)
    return "..." if len(text) > 15 or "\n" in text else text


def _T_force_NHWC(T):
    """Wrap ``T`` so that dense activations ``(N, C)`` come back as ``(N, 1, 1, C)``.

    Keras models (the only ones lucid_fast renders) are NHWC already, so unlike Lucid there is no NCHW
    detection; other ranks pass through unchanged.
    """
    def T_nhwc(name):
        t = T(name)
        if of_tensor(t).rank(t) == 2:
            return t[:, None, None, :]
        return t
    T_nhwc.backend = getattr(T, "backend", None)
    return T_nhwc


def _is_int(value):
    return isinstance(value, (numbers.Integral, np.integer)) and not isinstance(value, bool)


def _T_handle_batch(T, batch=None):
    """Wrap ``T`` so that every tensor it returns is restricted to batch item ``batch`` (kept 4-D).

    ``batch=None`` (or any non-integer) returns ``T`` unchanged, as in Lucid. Negative indices count from the
    end. An index outside a statically known batch raises ValueError (Lucid would silently average nothing).
    """
    if not _is_int(batch):
        return T
    batch = int(batch)

    def T_item(name):
        t = T(name)
        n = t.shape[0] if of_tensor(t).rank(t) else None
        if n is not None and not -n <= batch < n:
            raise ValueError(f"objective: batch={batch} is outside the batch of {n} item(s) of layer {name!r}")
        return t[batch:] if batch == -1 else t[batch:batch + 1]
    T_item.backend = getattr(T, "backend", None)
    return T_item


def _tf_blur(x_t, w=3):
    """Per-channel weighted box blur with SAME padding, renormalised at the borders (Lucid's blur; see
    :meth:`lucid_fast.models.backend.Backend.blur`)."""
    return of_tensor(x_t).blur(x_t, w)
