"""Parameterization stages that act along the batch axis, for recipes that share parameters between images.

lucid_fast's parameterization graph (:mod:`lucid_fast.optvis.param`) combines images with ``+``, scaling,
channel slices and :func:`~lucid_fast.optvis.param.concat`. Recipes that tie a batch of images together (an
interpolation whose frames share landmarks, a grid of neuron pairs) also need to pick, reverse and blend
batch items, and to hold a term fixed for some images. The stages here do that, each with its exact backward
(so they join a render like any native stage):

* :func:`take` - batch items by index (Lucid's ``t[n]`` / ``t[::-1]`` on a tensor), gradients scatter-added;
* :func:`reverse_batch` - the batch in reverse order;
* :func:`stop_gradient` - the value passes, the gradient does not (``tf.stop_gradient``);
* :func:`interpolate_batch` - linear interpolation along the batch axis (``b`` items to ``B``);
* :func:`lowres_tensor` - :func:`lucid_fast.optvis.param.lowres_tensor`, extended to Lucid's interpolation
  along the batch axis (an underlying batch between 1 and the batch, e.g. 2 end points for 5 frames).
"""
import numpy as np

from lucid_fast import ops
from lucid_fast.optvis import param
from lucid_fast.optvis.param.core import Node, Param, as_node, normal_init
from lucid_fast.optvis.param.spatial import DEFAULT_SD, Upsample

__all__ = ["take", "reverse_batch", "stop_gradient", "interpolate_batch", "linear_weights", "lowres_tensor"]


class Take(Node):
    """Batch items ``indices`` of a parameterization (repeats allowed); backward scatter-adds."""

    def __init__(self, a, indices):
        a = as_node(a)
        if len(a.shape) < 1:
            raise ValueError("take: the parameterization has no batch axis")
        idx = np.asarray(indices)
        if idx.ndim != 1 or idx.size == 0 or not np.issubdtype(idx.dtype, np.integer):
            raise ValueError(f"take: indices must be a non-empty 1-D sequence of ints, got {indices!r}")
        n = a.shape[0]
        if idx.min() < -n or idx.max() >= n:
            raise ValueError(f"take: indices {idx.tolist()} out of range for a batch of {n}")
        self.inputs = (a,)
        self.index = np.where(idx < 0, idx + n, idx).astype(np.int64)
        self.shape = (len(self.index),) + tuple(a.shape[1:])

    def forward(self, a):
        out = ops.empty_aligned(self.shape)
        np.take(a, self.index, axis=0, out=out)
        return out

    def backward(self, grad_out, a):
        g = np.zeros(np.shape(a), np.float32)
        np.add.at(g, self.index, grad_out)
        return (g,)


def take(node, indices):
    """Batch items of ``node``: ``take(t, 3)`` is item 3 kept as a batch of one, ``take(t, [2, 0])`` a new batch.

    Args:
        node: a parameterization (a :class:`~lucid_fast.optvis.param.Node`).
        indices: an int or a 1-D sequence of ints (negative counts from the end; repeats allowed).

    Returns:
        A parameterization of shape ``(len(indices),) + node.shape[1:]``. Its backward adds each item's
        gradient into the item it was taken from.
    """
    if isinstance(indices, (int, np.integer)):
        indices = [int(indices)]
    return Take(node, indices)


def reverse_batch(node):
    """``node`` with its batch in reverse order (Lucid's ``t[::-1]``)."""
    n = as_node(node).shape[0]
    return Take(node, np.arange(n - 1, -1, -1))


class StopGradient(Node):
    def __init__(self, a):
        a = as_node(a)
        self.inputs = (a,)
        self.shape = tuple(a.shape)

    def forward(self, a):
        out = ops.empty_aligned(self.shape)
        out[...] = a
        return out

    def backward(self, grad_out, a):
        return (None,)


def stop_gradient(node):
    """The value of ``node``, through which no gradient flows back (``tf.stop_gradient``).

    The parameters behind ``node`` still get the gradients of the other places they are used.
    """
    return StopGradient(node)


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


def interpolate_batch(node, batch):
    """``node``'s batch linearly interpolated to ``batch`` items (first item to first, last to last, in between
    blended; see :func:`linear_weights` for the exact sample positions)."""
    return InterpolateBatch(node, batch)


def _shape4(fn, shape):
    shape = tuple(shape)
    if len(shape) != 4 or any(not isinstance(s, (int, np.integer)) or s < 1 for s in shape):
        raise ValueError(f"{fn}: shapes must be (batch, height, width, channels) of positive ints, got {shape!r}")
    return tuple(int(s) for s in shape)


def lowres_tensor(shape, underlying_shape, offset=None, sd=None):
    """Lucid's ``lowres_tensor``, including its interpolation along the batch axis.

    A ``(B, H, W, C)`` tensor made by bilinearly resizing a low-resolution parameter of ``underlying_shape``
    ``(b, h, w, C)``. With ``b == 1`` the low-resolution tensor is shared by every batch item, with ``b == B``
    each item has its own (both exactly :func:`lucid_fast.optvis.param.lowres_tensor`, ``offset`` included);
    with ``1 < b < B`` the ``b`` items are interpolated across the batch as well (Lucid resizes every axis),
    e.g. ``b = 2`` makes the batch a linear blend from one end point to the other, which is how aligned
    interpolations share their layout between frames. Spatial resizing is TF2 half-pixel bilinear; the batch
    axis uses the same rule (:func:`linear_weights`), where Lucid's TF1 resize sampled without half-pixel
    centres (so its last frames repeated the end point). ``offset`` is supported only when ``b`` is 1 or ``B``.
    """
    shape = _shape4("lowres_tensor", shape)
    underlying_shape = _shape4("lowres_tensor", underlying_shape)
    b_big, b_low = shape[0], underlying_shape[0]
    if b_low in (1, b_big):
        return param.lowres_tensor(shape, underlying_shape, offset=offset, sd=sd)
    if b_low > b_big:
        raise ValueError(f"lowres_tensor: the underlying batch {b_low} is larger than the batch {b_big}")
    if underlying_shape[3] != shape[3]:
        raise ValueError(f"lowres_tensor: underlying channels must equal {shape[3]}, got {underlying_shape}")
    if offset is not None and offset is not False:
        raise ValueError("lowres_tensor: offset is not supported with interpolation along the batch axis")
    sd = DEFAULT_SD if sd is None else sd
    low = Param(underlying_shape, normal_init(underlying_shape, sd), name="lowres_tensor")
    t = low
    if underlying_shape[1:3] != shape[1:3]:
        t = Upsample(low, (b_low,) + shape[1:])
    return InterpolateBatch(t, b_big)
