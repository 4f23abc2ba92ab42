"""The seam with TensorFlow: arrays cross by DLPack, without copies.

numpy -> TF: ``tf.experimental.dlpack.from_dlpack`` on the array's capsule. TF accepts a buffer less than
64-byte aligned and then ABORTS the process on its first op (``Check failed: IsAligned()``), so this module
refuses such arrays with a ValueError instead; allocate with ``checks.empty_aligned``.
TF -> numpy: ``np.from_dlpack`` (zero-copy, read-only).
CuPy <-> TF (GPU TensorFlow only): the same capsules; TF and CuPy run on different CUDA streams, so the
producer's stream is synchronized before the consumer touches the buffer.
DLPack conversion does not work inside a tf.function trace (tensorflow#51642): call these in eager code
around the traced step.

Imported as ``lucid_fast._bindings.dlpack`` (source: bindings/dlpack.py).
"""
import numpy as np

from . import checks


def to_tf(x):
    """Hands a numpy (CPU) or cupy (GPU) float32 array to TensorFlow without a copy."""
    import tensorflow as tf

    if checks.is_cupy(x):
        import cupy

        cupy.cuda.get_current_stream().synchronize()  # CuPy's writes are done before TF's stream reads
        return tf.experimental.dlpack.from_dlpack(x.toDlpack())
    if not isinstance(x, np.ndarray):
        raise ValueError(f"to_tf: expected a numpy or cupy array, got {type(x).__name__}")
    if not x.flags.c_contiguous:
        raise ValueError("to_tf: the array must be C-contiguous to cross into TensorFlow")
    if not checks.is_aligned(x):
        raise ValueError(f"to_tf: the array's data pointer is not {checks.ALIGNMENT}-byte aligned; TensorFlow "
                         f"would abort on it. Allocate it with lucid_fast.ops.empty_aligned")
    return tf.experimental.dlpack.from_dlpack(x.__dlpack__())


def from_tf(t, gpu=False):
    """A TF tensor as a numpy array (zero-copy, read-only), or as a cupy array when ``gpu``."""
    if gpu:
        import cupy
        import tensorflow as tf

        arr = cupy.from_dlpack(tf.experimental.dlpack.to_dlpack(t))
        return arr
    return np.from_dlpack(t)


def to_torch(x):
    """Hands a numpy (CPU) or cupy (GPU) array to PyTorch without a copy (``torch.from_dlpack``).

    PyTorch needs no particular alignment. A read-only numpy array that this numpy cannot export by DLPack
    (numpy < 2.1) is copied instead."""
    import torch

    if not (checks.is_cupy(x) or isinstance(x, np.ndarray)):
        raise ValueError(f"to_torch: expected a numpy or cupy array, got {type(x).__name__}")
    try:
        return torch.from_dlpack(x)  # a cupy array is exported on its stream, which torch synchronizes
    except BufferError:
        return torch.from_numpy(np.array(x))


def from_torch(t, gpu=False):
    """A torch tensor as a numpy array: ``.numpy()`` of the contiguous CPU tensor (zero-copy when it is one
    already, it shares the tensor's memory); a tensor on a GPU is copied to the host. With ``gpu``, a cupy
    array of a GPU tensor (zero-copy)."""
    t = t.detach()
    if gpu and t.device.type == "cuda":
        import cupy

        return cupy.from_dlpack(t.contiguous())
    return t.cpu().contiguous().numpy()
