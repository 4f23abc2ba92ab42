"""The tensor functions objectives are written in, for each framework a model can run in.

An objective is a function of the layer accessor ``T`` (:class:`lucid_fast.models.accessor.LayerAccessor`),
and ``T`` returns the model framework's tensors: TensorFlow's for a Keras model, PyTorch's for an
``nn.Module``. The built-in objectives compute through a :class:`Backend`, the few tensor functions they need
under one name per framework, so that one definition serves both::

    B = backend.of_accessor(T)          # the accessor's framework (TensorFlow when it names none)
    return B.mean(T("mixed4a")[..., 97])

Indexing, slicing, ``+ - * / **`` and comparisons with Python numbers are the tensors' own and work alike in
both frameworks. Tensors are NHWC in both (the PyTorch adapter hands objectives NHWC views of its NCHW
activations). A numpy array meeting a tensor goes through :meth:`Backend.constant` first.

This module imports no framework: a backend imports its framework the first time it is asked for
(:func:`get`), so the TensorFlow-free path (a PyTorch model on a machine without TensorFlow) never loads it.
"""
from __future__ import annotations

import sys

import numpy as np

__all__ = ["Backend", "get", "of_accessor", "of_tensor", "BACKENDS"]

BACKENDS = ("tensorflow", "torch")


def _blur_kernel(width):
    """``width x width`` weights: 1 inside, 0.5 on the border ring (Lucid's blur weights)."""
    k = np.full((width, width), 0.5, dtype=np.float32)
    k[1:-1, 1:-1] = 1.0
    return k


class Backend:
    """The tensor functions of one framework (see the module docstring). Axes follow numpy: ``axis=None``
    reduces everything, an int or a tuple of ints reduces those axes."""

    name = "?"

    def __repr__(self):
        return f"<lucid_fast backend {self.name!r}>"

    # -- declared per framework ----------------------------------------------------------------------------------
    def is_tensor(self, value):
        raise NotImplementedError

    def constant(self, value, like=None):
        """A float32 tensor of ``value`` (a number or an array), on the device of ``like`` when given."""
        raise NotImplementedError

    def as_float(self, value, like=None):
        """``value`` as a float32 tensor (tensors are cast, other values converted)."""
        raise NotImplementedError

    def rank(self, x):
        raise NotImplementedError

    def size(self, x, axis):
        """The size of ``axis``: an int when known, else the framework's dynamic size."""
        raise NotImplementedError

    def sum(self, x, axis=None, keepdims=False):
        raise NotImplementedError

    def mean(self, x, axis=None, keepdims=False):
        raise NotImplementedError

    def sqrt(self, x):
        raise NotImplementedError

    def abs(self, x):
        raise NotImplementedError

    def square(self, x):
        return x * x

    def maximum(self, x, y):
        """Elementwise maximum of a tensor and a tensor or a number."""
        raise NotImplementedError

    def reshape(self, x, shape):
        raise NotImplementedError

    def matmul(self, a, b, transpose_a=False):
        """Batched matrix product over the last two axes (``a`` transposed there first when asked)."""
        raise NotImplementedError

    def stop_gradient(self, x):
        raise NotImplementedError

    def pick_columns(self, x, cols):
        """``x[b, cols[b]]`` for each row ``b`` of a 2-D ``x`` (``cols``: a sequence of ints, one per row)."""
        raise NotImplementedError

    def depthwise_conv_same(self, x, kernel_np):
        """Each channel of NHWC ``x`` convolved with the 2-D ``kernel_np`` (odd size), zero padding, SAME size."""
        raise NotImplementedError

    def ones_like(self, x):
        raise NotImplementedError

    def logsumexp(self, x, axis):
        """``log(sum(exp(x), axis))``, computed stably (the framework's own)."""
        raise NotImplementedError

    def to_float(self, x):
        """A scalar tensor's value as a Python float."""
        raise NotImplementedError

    # -- shared ----------------------------------------------------------------------------------------------------
    def add_n(self, values):
        values = list(values)
        total = values[0]
        for v in values[1:]:
            total = total + v
        return total

    def l2_normalize(self, x, axis, epsilon=1e-12):
        """``x / sqrt(max(sum(x**2, axis), epsilon))``, as ``tf.nn.l2_normalize``."""
        norm_sq = self.sum(x * x, axis=axis, keepdims=True)
        return x / self.sqrt(self.maximum(norm_sq, epsilon))

    def total_variation(self, images):
        """``tf.image.total_variation`` of each NHWC image: the sum of absolute differences of vertically and
        horizontally neighbouring values, one value per image."""
        dy = self.abs(images[:, 1:, :, :] - images[:, :-1, :, :])
        dx = self.abs(images[:, :, 1:, :] - images[:, :, :-1, :])
        return self.sum(dy, axis=(1, 2, 3)) + self.sum(dx, axis=(1, 2, 3))

    def blur(self, x, width=3):
        """Lucid's per-channel weighted box blur with SAME padding, renormalized at the borders: a ``width x
        width`` convolution (weight 1 inside, 0.5 on the border ring) divided by the same convolution of ones,
        so border pixels average only the taps that fall inside the image."""
        kernel = _blur_kernel(width)
        ones = self.ones_like(x)
        return self.depthwise_conv_same(x, kernel) / self.depthwise_conv_same(ones, kernel)


class _TF(Backend):
    name = "tensorflow"

    def __init__(self):
        import tensorflow as tf  # first use of the TensorFlow backend
        self.tf = tf

    def is_tensor(self, value):
        return self.tf.is_tensor(value)

    def constant(self, value, like=None):
        return self.tf.constant(np.asarray(value, dtype=np.float32))

    def as_float(self, value, like=None):
        value_t = self.tf.convert_to_tensor(value)
        return value_t if value_t.dtype == self.tf.float32 else self.tf.cast(value_t, self.tf.float32)

    def rank(self, x):
        return x.shape.rank

    def size(self, x, axis):
        size = x.shape[axis]
        return size if size is not None else self.tf.shape(x)[axis]

    def sum(self, x, axis=None, keepdims=False):
        return self.tf.reduce_sum(x, axis=_tf_axis(axis), keepdims=keepdims)

    def mean(self, x, axis=None, keepdims=False):
        return self.tf.reduce_mean(x, axis=_tf_axis(axis), keepdims=keepdims)

    def sqrt(self, x):
        return self.tf.sqrt(x)

    def abs(self, x):
        return self.tf.abs(x)

    def square(self, x):
        return self.tf.square(x)

    def maximum(self, x, y):
        return self.tf.maximum(x, y)

    def reshape(self, x, shape):
        return self.tf.reshape(x, shape)

    def matmul(self, a, b, transpose_a=False):
        return self.tf.matmul(a, b, transpose_a=transpose_a)

    def stop_gradient(self, x):
        return self.tf.stop_gradient(x)

    def pick_columns(self, x, cols):
        cols_t = self.tf.constant(list(cols), self.tf.int32)
        return self.tf.gather(x, cols_t[:, None], axis=1, batch_dims=1)[:, 0]

    def depthwise_conv_same(self, x, kernel_np):
        c = int(x.shape[-1])
        kernel_t = self.tf.constant(np.tile(kernel_np[:, :, None, None], (1, 1, c, 1)))
        return self.tf.nn.depthwise_conv2d(x, kernel_t, strides=[1, 1, 1, 1], padding="SAME")

    def total_variation(self, images):
        return self.tf.image.total_variation(images)

    def l2_normalize(self, x, axis, epsilon=1e-12):
        return self.tf.nn.l2_normalize(x, axis=list(axis) if isinstance(axis, tuple) else axis, epsilon=epsilon)

    def add_n(self, values):
        return self.tf.add_n(list(values))

    def ones_like(self, x):
        return self.tf.ones_like(x)

    def logsumexp(self, x, axis):
        return self.tf.reduce_logsumexp(x, axis=_tf_axis(axis))

    def to_float(self, x):
        return float(x)


def _tf_axis(axis):
    return list(axis) if isinstance(axis, tuple) else axis


class _Torch(Backend):
    name = "torch"

    def __init__(self):
        import torch  # first use of the PyTorch backend
        self.torch = torch

    def is_tensor(self, value):
        return isinstance(value, self.torch.Tensor)

    def constant(self, value, like=None):
        device = like.device if like is not None and self.is_tensor(like) else None
        value_np = np.ascontiguousarray(value, dtype=np.float32)
        if not value_np.flags.writeable:  # torch would share it and warn that it may be written to
            value_np = value_np.copy()
        return self.torch.as_tensor(value_np, device=device)

    def as_float(self, value, like=None):
        if self.is_tensor(value):
            return value if value.dtype == self.torch.float32 else value.to(self.torch.float32)
        return self.constant(value, like)

    def rank(self, x):
        return x.dim()

    def size(self, x, axis):
        return int(x.shape[axis])

    def sum(self, x, axis=None, keepdims=False):
        return x.sum() if axis is None else x.sum(dim=axis, keepdim=keepdims)

    def mean(self, x, axis=None, keepdims=False):
        return x.mean() if axis is None else x.mean(dim=axis, keepdim=keepdims)

    def sqrt(self, x):
        return self.torch.sqrt(x)

    def abs(self, x):
        return self.torch.abs(x)

    def maximum(self, x, y):
        if not self.is_tensor(y):
            return self.torch.clamp(x, min=float(y))
        return self.torch.maximum(x, y)

    def reshape(self, x, shape):
        return self.torch.reshape(x, tuple(int(s) for s in shape))

    def matmul(self, a, b, transpose_a=False):
        return self.torch.matmul(a.transpose(-1, -2) if transpose_a else a, b)

    def stop_gradient(self, x):
        return x.detach()

    def pick_columns(self, x, cols):
        index = self.torch.as_tensor(list(cols), dtype=self.torch.long, device=x.device)
        return x.gather(1, index[:, None])[:, 0]

    def depthwise_conv_same(self, x, kernel_np):
        c = int(x.shape[-1])
        w = self.torch.as_tensor(np.tile(kernel_np[None, None], (c, 1, 1, 1)), device=x.device, dtype=x.dtype)
        pad = kernel_np.shape[0] // 2
        y = self.torch.nn.functional.conv2d(x.permute(0, 3, 1, 2), w, padding=pad, groups=c)
        return y.permute(0, 2, 3, 1)

    def ones_like(self, x):
        return self.torch.ones_like(x)

    def logsumexp(self, x, axis):
        return self.torch.logsumexp(x, dim=axis)

    def to_float(self, x):
        return float(x.detach().cpu())


_INSTANCES = {}
_CLASSES = {"tensorflow": _TF, "torch": _Torch}


def get(name):
    """The backend of framework ``name`` (``"tensorflow"`` or ``"torch"``), importing the framework on first
    use."""
    if name not in _CLASSES:
        raise ValueError(f"backend.get: unknown framework {name!r}; known: {list(BACKENDS)}")
    inst = _INSTANCES.get(name)
    if inst is None:
        inst = _INSTANCES[name] = _CLASSES[name]()
    return inst


def of_accessor(T):
    """The backend of the tensors the layer accessor ``T`` returns: its ``backend`` attribute, TensorFlow for
    an accessor that names none (a user's own ``T`` function, Lucid's convention)."""
    found = getattr(T, "backend", None)
    return found if found is not None else get("tensorflow")


def of_tensor(value):
    """The backend of a tensor (by its type, without importing anything): PyTorch for a ``torch.Tensor``,
    TensorFlow otherwise."""
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(value, torch.Tensor):
        return get("torch")
    return get("tensorflow")
