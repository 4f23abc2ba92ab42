"""``lowres_tensor``: a tensor parameterized by a lower-resolution one (Lucid's ``optvis.param.lowres``).

Lucid resizes the low-resolution variable along every axis whose size differs (its ``resize_bilinear_nd``).
Here the stages are native: a bilinear interpolation along the batch axis (:class:`InterpolateBatch`), then a
spatial bilinear upsampling (``ops.upsample_bilinear``), then Lucid's optional offset. Both resizes are linear
maps with exact adjoints, so the parameterization joins a render like any other stage.

Sampling convention: TF2's ``tf.image.resize(method="bilinear")`` (half-pixel centres, clamped at the ends) on
every axis. Lucid ran TF1's ``resize_bilinear`` without half-pixel centres: the same interpolation shifted by
half a low-resolution cell, so along the batch its *last* frames repeated the end point (an underlying batch of
2 over 6 frames: 0, 1/3, 2/3, 1, 1, 1); here the ends are treated alike (0, 0, 1/3, 2/3, 1, 1) and reversing
the underlying batch reverses the frames.
"""
import numpy as np

from lucid_fast import ops
from lucid_fast._bindings import checks

from .core import Node, Param, normal_init

DEFAULT_SD = 0.01  # Lucid's init scale (sd or 0.01)


def linear_weights(n_in, n_out):
    """The ``(n_out, n_in)`` matrix of linear interpolation from ``n_in`` samples to ``n_out``.

    Sample positions follow TF2's ``tf.image.resize(method="bilinear")`` along one axis (half-pixel centres,
    clamped at the ends): output ``i`` reads input position ``(i + 0.5) * n_in / n_out - 0.5``. So ``n_in == 1``
    repeats the sample, ``n_in == n_out`` is the identity, and the weights are mirror-symmetric
    (``W[::-1, ::-1] == W``): reversing the input reverses the output.
    """
    if n_in < 1 or n_out < 1:
        raise ValueError(f"linear_weights: sizes must be >= 1, got {n_in} -> {n_out}")
    w = np.zeros((n_out, n_in), np.float64)
    src = (np.arange(n_out) + 0.5) * (n_in / n_out) - 0.5
    src = np.clip(src, 0.0, n_in - 1)
    lo = np.floor(src).astype(np.int64)
    hi = np.minimum(lo + 1, n_in - 1)
    frac = src - lo
    rows = np.arange(n_out)
    np.add.at(w, (rows, lo), 1.0 - frac)
    np.add.at(w, (rows, hi), frac)
    return w.astype(np.float32)


class InterpolateBatch(Node):
    """Linear interpolation along the batch axis: (b, ...) -> (B, ...) with :func:`linear_weights`."""

    def __init__(self, a, batch):
        from .core import as_node

        a = as_node(a)
        if batch < 1:
            raise ValueError(f"interpolate_batch: batch must be >= 1, got {batch}")
        self.inputs = (a,)
        self.shape = (int(batch),) + tuple(a.shape[1:])
        self.weights = linear_weights(a.shape[0], int(batch))

    def forward(self, a):
        out = ops.empty_aligned(self.shape)
        flat = np.reshape(a, (a.shape[0], -1))
        np.matmul(self.weights, flat, out=out.reshape(self.shape[0], -1))
        return out

    def backward(self, grad_out, a):
        g = self.weights.T @ np.reshape(grad_out, (self.shape[0], -1))
        return (g.reshape(np.shape(a)).astype(np.float32, copy=False),)


class Upsample(Node):
    """Native stage: bilinear upsampling of a low-resolution (b_low in {1, B}) tensor to (B, H, W, C)."""

    device_kinds = ("cpu", "cuda")

    def __init__(self, low, shape):
        self.inputs = (low,)
        self.shape = tuple(shape)
        self.low_shape = low.shape

    def forward(self, low):
        return ops.device_of(low).ops.upsample_bilinear(low, self.shape[1:3], batch=self.shape[0])

    def backward(self, grad_out, low):
        dev = ops.device_of(low, grad_out)
        return (dev.ops.upsample_bilinear_adjoint(dev.xp.ascontiguousarray(grad_out), self.low_shape[1:3],
                                                  low_batch=self.low_shape[0]),)


class Offset(Node):
    """Lucid's lowres_tensor offset: shift each axis by ``pad`` with symmetric edges (pad then crop)."""

    def __init__(self, a, offsets):
        self.inputs = (a,)
        self.shape = a.shape
        self.index = []
        for n, pad in zip(a.shape, offsets):
            i = np.arange(n) - pad
            i = np.where(i < 0, -i - 1, i)  # SYMMETRIC: -1 -> 0, -2 -> 1, ...
            self.index.append(np.clip(i, 0, n - 1))

    def forward(self, a):
        out = ops.empty_aligned(self.shape)
        out[...] = a[np.ix_(*self.index)]
        return out

    def backward(self, grad_out, a):
        g = np.zeros(self.shape, np.float32)
        np.add.at(g, np.ix_(*self.index), grad_out)
        return (g,)


class Reshape(Node):
    """A view of a parameterization with another shape of the same size (``tf.reshape``)."""

    device_kinds = ("cpu", "cuda")

    def __init__(self, a, shape):
        shape = tuple(int(s) for s in shape)
        if int(np.prod(shape)) != int(np.prod(a.shape)):
            raise ValueError(f"reshape: cannot reshape {a.shape} to {shape}")
        self.inputs = (a,)
        self.shape = shape

    def forward(self, a):
        out = ops.device_of(a).empty(self.shape)
        out[...] = a.reshape(self.shape)
        return out

    def backward(self, grad_out, a):
        return (grad_out.reshape(a.shape),)


def _shape(fn, what, shape):
    try:
        shape = tuple(shape)
    except TypeError:
        shape = None
    if shape is None or len(shape) not in (3, 4) or any(
            isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 1 for s in shape):
        raise ValueError(f"{fn}: {what} must be (batch, height, width, channels) or (height, width, channels) of "
                         f"positive ints, got {shape!r}")
    return tuple(int(s) for s in shape)


def lowres_tensor(shape, underlying_shape, offset=None, sd=None):
    """A tensor parameterized by a lower-resolution one, bilinearly resized up (Lucid's ``lowres_tensor``).

    Args:
        shape: the resulting shape, ``(batch, height, width, channels)`` (or ``(height, width, channels)``).
        underlying_shape: the optimized variable's shape, of the same rank. Its channels must equal
            ``shape``'s; its height and width are at most ``shape``'s; its batch ``b`` may be anything from 1 to
            the batch ``B``: ``b == 1`` shares one low-resolution tensor across the batch, ``b == B`` gives each
            item its own, and ``1 < b < B`` interpolates along the batch as well (``b = 2`` blends linearly from
            one end point to the other across the batch, as Lucid's interpolation notebooks use it).
        offset: Lucid's phase shift of the interpolation grid: None or False for none; True for half the ratio
            of ``shape`` to ``underlying_shape`` on each axis; an int for that many pixels on every axis; or a
            list with one entry (bool or int) per axis. Applied by padding symmetrically and cropping.
        sd: standard deviation of the variable's initial values (Lucid's 0.01 when None).

    Returns:
        A parameterization of shape ``shape``.
    """
    shape = _shape("lowres_tensor", "shape", shape)
    underlying_shape = _shape("lowres_tensor", "underlying_shape", underlying_shape)
    if len(shape) != len(underlying_shape):
        raise ValueError(f"lowres_tensor: shape {shape} and underlying_shape {underlying_shape} must have the same "
                         f"rank")
    if len(shape) == 3:  # (h, w, c): one image without a batch axis
        t = lowres_tensor((1,) + shape, (1,) + underlying_shape, offset=_offsets_4d(offset), sd=sd)
        return Reshape(t, shape)
    b_big, h, w, c = shape
    b_low, h_low, w_low, c_low = underlying_shape
    if b_low > b_big:
        raise ValueError(f"lowres_tensor: the underlying batch {b_low} is larger than the batch {b_big} "
                         f"(underlying batch must be between 1 and {b_big}); shape {shape}, "
                         f"underlying_shape {underlying_shape}")
    if c_low != c:
        raise ValueError(f"lowres_tensor: underlying channels must equal {c} (lucid_fast does not resize the "
                         f"channel axis), got underlying_shape {underlying_shape}")
    if h_low > h or w_low > w:
        raise ValueError(f"lowres_tensor: underlying height and width must not exceed the result's {h}x{w}, got "
                         f"underlying_shape {underlying_shape}")
    sd = DEFAULT_SD if sd is None else checks.check_finite_scalar("lowres_tensor", "sd", sd, minimum=0.0)
    low = Param(underlying_shape, normal_init(underlying_shape, sd), name="lowres_tensor")
    t = low
    if 1 < b_low < b_big:
        t = InterpolateBatch(t, b_big)  # interpolating the batch at low resolution is cheaper; the maps commute
    if tuple(t.shape) != shape:  # spatial resize, and the batch broadcast of a shared (b = 1) tensor
        t = Upsample(t, shape)
    if offset is not None and offset is not False:
        offs = list(offset) if isinstance(offset, (list, tuple)) else [offset] * len(shape)
        if len(offs) != len(shape):
            raise ValueError(f"lowres_tensor: offset must be a scalar or one entry per axis ({len(shape)}), "
                             f"got {offset!r}")
        ints = []
        for s, u, o in zip(shape, underlying_shape, offs):
            if o is True:
                o = s / u / 2
            elif o is False or o is None:
                o = 0
            elif isinstance(o, bool) or not isinstance(o, (int, np.integer)):
                raise ValueError(f"lowres_tensor: offset entries must be ints, True, False or None, got {o!r}")
            ints.append(int(o))
        if any(ints):
            t = Offset(t, ints)
    return t


def _offsets_4d(offset):
    if isinstance(offset, (list, tuple)):
        return [0] + list(offset)
    return offset if offset in (None, False) else [0] + [offset] * 3


__all__ = ["lowres_tensor", "linear_weights", "InterpolateBatch", "Upsample", "Offset", "Reshape"]
