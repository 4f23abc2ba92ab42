"""Bilinear resizing of a tensor along any of its axes (Lucid's ``optvis.param.resize_bilinear_nd``).

Each axis whose size changes is resized by linear interpolation (bilinear resizing is separable, so the order
does not matter), with TF2's ``tf.image.resize(method="bilinear")`` sample positions: half-pixel centres,
clamped at the ends (:func:`lucid_fast.optvis.param.lowres.linear_weights`). Works on TF tensors (and on numpy
arrays, returning a TF tensor); parameterizations use :func:`lucid_fast.optvis.param.lowres_tensor`.
"""
import numpy as np

from .lowres import linear_weights


def product(l):  # noqa: E741 - Lucid's parameter name
    """The product of a list of numbers (1 for an empty list)."""
    prod = 1
    for v in l:
        prod *= v
    return prod


def collapse_shape(shape, a, b):
    """``shape`` with the axes before ``a`` multiplied into one and those from ``b`` on into one, padding with
    1s when ``a < 0`` or ``b > len(shape)``: always ``[prod(before), *shape[a:b], prod(after)]``.

    Examples: ``[1, 2, 3, 4, 5], a=0, b=2 -> [1, 1, 2, 60]``; ``a=3, b=5 -> [6, 4, 5, 1]``.
    """
    shape = list(shape)
    if a < 0:
        return collapse_shape([1] * -a + shape, 0, b - a)
    if b > len(shape):
        return collapse_shape(shape + [1] * (b - len(shape)), a, b)
    return [product(shape[:a])] + shape[a:b] + [product(shape[b:])]


def resize_bilinear_nd(t, target_shape):
    """Resizes ``t`` to ``target_shape`` (same rank) by linear interpolation along every axis that changes."""
    import tensorflow as tf

    t = tf.convert_to_tensor(t, tf.float32)
    shape = t.shape.as_list()
    target_shape = [int(s) for s in target_shape]
    if len(shape) != len(target_shape) or any(s is None for s in shape):
        raise ValueError(f"resize_bilinear_nd: t must have a static shape of rank {len(target_shape)}, got {shape}")
    if any(s < 1 for s in target_shape):
        raise ValueError(f"resize_bilinear_nd: target_shape must be positive, got {target_shape}")
    for axis, (n_in, n_out) in enumerate(zip(shape, target_shape)):
        if n_in == n_out:
            continue
        w = tf.constant(linear_weights(n_in, n_out))  # (n_out, n_in)
        t = tf.tensordot(w, t, axes=[[1], [axis]])     # the new axis comes first
        t = tf.experimental.numpy.moveaxis(t, 0, axis)
    return t


__all__ = ["collapse_shape", "product", "resize_bilinear_nd"]
