"""Input validation for every native op, in one place.

Each check raises ``ValueError`` naming the op, the argument, what was expected and what was given. The
CPU and GPU paths run after these checks and trust their arguments, so nothing malformed reaches C++.
"""
import sys
import threading

import numpy as np

ALIGNMENT = 64  # bytes; TensorFlow aborts on DLPack buffers less aligned than this (ARCHITECTURE.md)


def is_cupy(x):
    """True for a cupy.ndarray, decided without importing CuPy."""
    return type(x).__module__.split(".")[0] == "cupy"


def backend_of(op, **arrays):
    """Returns "cupy" or "numpy" for the given arrays, which must all live on the same side."""
    kinds = {name: ("cupy" if is_cupy(a) else "numpy") for name, a in arrays.items() if a is not None}
    for name, a in arrays.items():
        if a is not None and not is_cupy(a) and not isinstance(a, np.ndarray):
            raise ValueError(f"{op}: {name} must be a numpy or cupy array, got {type(a).__name__}")
    if len(set(kinds.values())) > 1:
        raise ValueError(f"{op}: arrays must all be numpy (CPU) or all cupy (GPU), got {kinds}")
    return next(iter(kinds.values()), "numpy")


def check_array(op, name, x, ndim=None, dtype=np.float32, shape=None, finite=False, writable=False):
    """Checks dtype, rank, C-contiguity, non-emptiness and (optionally) shape, finiteness, writability.

    ``shape`` may hold None for free dimensions. Returns x unchanged.
    """
    if not (isinstance(x, np.ndarray) or is_cupy(x)):
        raise ValueError(f"{op}: {name} must be a numpy or cupy array, got {type(x).__name__}")
    if x.dtype != dtype:
        raise ValueError(f"{op}: {name} must have dtype {np.dtype(dtype).name}, got {x.dtype}")
    if ndim is not None and x.ndim != ndim:
        raise ValueError(f"{op}: {name} must have rank {ndim}, got shape {tuple(x.shape)}")
    if shape is not None:
        ok = len(shape) == x.ndim and all(s is None or s == d for s, d in zip(shape, x.shape))
        if not ok:
            want = "(" + ", ".join("*" if s is None else str(s) for s in shape) + ")"
            raise ValueError(f"{op}: {name} must have shape {want}, got {tuple(x.shape)}")
    if x.size == 0:
        raise ValueError(f"{op}: {name} must not be empty, got shape {tuple(x.shape)}")
    if not x.flags.c_contiguous:
        raise ValueError(f"{op}: {name} must be C-contiguous (use np.ascontiguousarray), got strides {x.strides}")
    if writable and not x.flags.writeable:
        raise ValueError(f"{op}: {name} is written in place and must be writable")
    if finite:
        xp = _xp(x)
        if not bool(xp.isfinite(x).all()):
            raise ValueError(f"{op}: {name} contains NaN or inf")
    return x


def check_nhwc(op, name, x, channels=None, finite=False):
    """Checks an NHWC float32 image batch; ``channels`` is an int or a tuple of allowed counts."""
    check_array(op, name, x, ndim=4, finite=finite)
    if channels is not None:
        allowed = (channels,) if isinstance(channels, int) else tuple(channels)
        if x.shape[3] not in allowed:
            raise ValueError(f"{op}: {name} must be NHWC with C in {allowed}, got shape {tuple(x.shape)}")
    return x


def check_same_shape(op, name_a, a, name_b, b):
    if tuple(a.shape) != tuple(b.shape):
        raise ValueError(f"{op}: {name_b} must have the shape of {name_a} {tuple(a.shape)}, got {tuple(b.shape)}")


def check_positive_int(op, name, v, minimum=1):
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < minimum:
        raise ValueError(f"{op}: {name} must be an integer >= {minimum}, got {v!r}")
    return int(v)


def check_finite_scalar(op, name, v, minimum=None, maximum=None, open_min=False):
    try:
        f = float(v)
    except (TypeError, ValueError):
        raise ValueError(f"{op}: {name} must be a real number, got {v!r}") from None
    if not np.isfinite(f):
        raise ValueError(f"{op}: {name} must be finite, got {v!r}")
    if minimum is not None and (f < minimum or (open_min and f == minimum)):
        rel = ">" if open_min else ">="
        raise ValueError(f"{op}: {name} must be {rel} {minimum}, got {v!r}")
    if maximum is not None and f > maximum:
        raise ValueError(f"{op}: {name} must be <= {maximum}, got {v!r}")
    return f


def _xp(x):
    if is_cupy(x):
        import cupy

        return cupy
    return np


# Recycled buffers for large CPU arrays. A render step allocates about ten image-sized arrays; freeing and
# re-allocating them through malloc made glibc return the memory to the kernel and fault it back in, page by
# page, on every step (4100 page faults per step at 4x224x224x3, 30 ms instead of 18 ms; measured with
# getrusage). A buffer is handed out again only when no array uses it any more, which its reference count
# tells exactly: an unused buffer has only the pool's list entry plus what the scan itself holds, which
# _unused_refcount measures once with the same loop (the count differs between CPython versions).
_POOL_MIN_BYTES = 1 << 18  # smaller arrays come from numpy's own allocator
_POOL_MAX_PER_SIZE = 8
_POOL_MAX_BYTES = 1 << 28  # at most 256 MiB kept for reuse in all
_pool = {}
_pool_bytes = [0]
_pool_lock = threading.Lock()


def _unused_refcount():
    bufs = [np.empty(1, dtype=np.uint8)]
    for raw in bufs:  # the same loop as in _take_buffer
        return sys.getrefcount(raw)


_UNUSED_REFCOUNT = _unused_refcount()


def _take_buffer(nbytes):
    """A uint8 buffer of nbytes + ALIGNMENT bytes that no live array uses."""
    size = nbytes + ALIGNMENT
    if nbytes < _POOL_MIN_BYTES:
        return np.empty(size, dtype=np.uint8)
    with _pool_lock:
        bufs = _pool.setdefault(size, [])
        for raw in bufs:
            if sys.getrefcount(raw) == _UNUSED_REFCOUNT:  # no array or view uses it
                return raw
        raw = np.empty(size, dtype=np.uint8)
        if len(bufs) < _POOL_MAX_PER_SIZE and _pool_bytes[0] + size <= _POOL_MAX_BYTES:
            bufs.append(raw)
            _pool_bytes[0] += size
        return raw


def release_buffers():
    """Drops the recycled buffers (memory held only by the pool goes back to the allocator)."""
    with _pool_lock:
        _pool.clear()
        _pool_bytes[0] = 0


def empty_aligned(shape, xp=np, dtype=np.float32):
    """An uninitialised C-contiguous array whose data pointer is 64-byte aligned.

    Every array that may cross into TensorFlow through DLPack must be allocated here: TF accepts an
    unaligned buffer and then aborts the process on its first op. CuPy's allocator already aligns
    to 256 bytes, so the GPU path is a plain ``cupy.empty``. Large CPU arrays reuse buffers that no array
    references any more (see _take_buffer).
    """
    if xp is not np:
        return xp.empty(shape, dtype=dtype)
    dtype = np.dtype(dtype)
    nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    raw = _take_buffer(nbytes)
    offset = (-raw.ctypes.data) % ALIGNMENT
    return raw[offset:offset + nbytes].view(dtype).reshape(shape)


def zeros_aligned(shape, xp=np, dtype=np.float32):
    out = empty_aligned(shape, xp, dtype)
    out[...] = 0
    return out


def is_aligned(x):
    return x.__array_interface__["data"][0] % ALIGNMENT == 0 if isinstance(x, np.ndarray) else True


def check_uv(op, name, uv, min_ndim=1):
    """Checks per-pixel texture coordinates: float32 (..., 2), C-contiguous, finite, rank >= min_ndim."""
    check_array(op, name, uv, finite=True)
    if uv.ndim < min_ndim or uv.shape[-1] != 2:
        lead = "(" + ", ".join(["*"] * (min_ndim - 1) + ["...", "2"]) + ")"
        raise ValueError(f"{op}: {name} must hold (u, v) pairs on its last axis, shape {lead}, "
                         f"got {tuple(uv.shape)}")
    if int(np.prod(uv.shape[:-1], dtype=np.int64)) >= 2 ** 31:
        raise ValueError(f"{op}: {name} holds {int(np.prod(uv.shape[:-1]))} (u, v) pairs; at most 2^31 - 1")
    return uv
