"""Parameterization stages that act along the batch axis, for recipes that share parameters between images.

lucid_fast's parameterization graph (:mod:`lucid_fast.optvis.param`) combines images with ``+``, scaling,
channel slices and :func:`~lucid_fast.optvis.param.concat`. Recipes that tie a batch of images together (an
interpolation whose frames share landmarks, a grid of neuron pairs) also need to pick, reverse and blend
batch items, and to hold a term fixed for some images. The stages here do that, each with its exact backward
(so they join a render like any native stage):

* :func:`take` - batch items by index (Lucid's ``t[n]`` / ``t[::-1]`` on a tensor), gradients scatter-added;
* :func:`reverse_batch` - the batch in reverse order;
* :func:`stop_gradient` - the value passes, the gradient does not (``tf.stop_gradient``);
* :func:`interpolate_batch` - linear interpolation along the batch axis (``b`` items to ``B``;
  :func:`lucid_fast.optvis.param.lowres.linear_weights`);
* :func:`lowres_tensor` - the same as :func:`lucid_fast.optvis.param.lowres_tensor`, which handles Lucid's
  interpolation along the batch axis (an underlying batch between 1 and the batch) itself.
"""
import numpy as np

from lucid_fast import ops
from lucid_fast.optvis import param
from lucid_fast.optvis.param.core import Node, as_node
from lucid_fast.optvis.param.lowres import InterpolateBatch, linear_weights  # noqa: F401  (their old home)

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

    The parameters behind ``node`` still get the gradients of the other places they are used. This is what to
    write for Lucid's ``tf.stop_gradient(t)`` on a parameterization (a TF op on one raises a TypeError naming it).
    """
    return StopGradient(node)


def interpolate_batch(node, batch):
    """``node``'s batch linearly interpolated to ``batch`` items (first item to first, last to last, in between
    blended; see :func:`linear_weights` for the exact sample positions)."""
    return InterpolateBatch(node, batch)


def lowres_tensor(shape, underlying_shape, offset=None, sd=None):
    """:func:`lucid_fast.optvis.param.lowres_tensor` (which interpolates along the batch axis as Lucid's does);
    kept here under its old name."""
    return param.lowres_tensor(shape, underlying_shape, offset=offset, sd=sd)
