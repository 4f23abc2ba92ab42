"""Input validation for every native op, in one place.

Each check raises ``ValueError`` naming the op, the argument, what was expected and what was given. The
CPU and GPU paths run after these checks and trust their arguments, so nothing malformed reaches C++.

Imported as ``lucid_fast._bindings.checks`` (source: bindings/checks.py).
"""
import math
import numbers
import sys
import threading

import numpy as np

ALIGNMENT = 64  # bytes; TensorFlow aborts on DLPack buffers less aligned than this (docs/ARCHITECTURE.md)
INT32_MAX = 2**31 - 1  # every size the kernels take travels in an int32 field of a params struct (csrc/include)
# The largest frequency scale fft_image accepts (max(h, w)**decay_power * sqrt(h*w), at the lowest frequency).
# float32 ends at 3.4e38; this leaves 1e8 for the spectrum's values and the irfft's sums before inf - inf = NaN.
MAX_SPECTRUM_SCALE = 1e30
# Allocations above this size are compared with the memory available before they are made: numpy's allocator
# (Linux overcommit) hands out more than exists, and the process is then killed when the pages are touched.
CHECKED_ALLOCATION_BYTES = 1 << 26


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
    if any(d > INT32_MAX for d in x.shape):
        raise ValueError(f"{op}: every dimension of {name} must be <= {INT32_MAX} (the kernels' int32 sizes), "
                         f"got shape {tuple(x.shape)}")
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


def check_positive_int(op, name, v, minimum=1, maximum=INT32_MAX):
    """An int in [minimum, maximum] (default: the kernels' int32 range), returned as a Python int."""
    if isinstance(v, bool) or not isinstance(v, (numbers.Integral, np.integer)) or v < minimum:
        raise ValueError(f"{op}: {name} must be an integer >= {minimum}, got {v!r}")
    if v > maximum:
        why = " (the kernels' sizes are int32)" if maximum == INT32_MAX else ""
        raise ValueError(f"{op}: {name} must be an integer <= {maximum}{why}, got {v!r}")
    return int(v)


def check_hw(op, name, hw):
    """A (height, width) pair of positive ints, returned as a tuple of Python ints."""
    if not isinstance(hw, (tuple, list)) or len(hw) != 2:
        raise ValueError(f"{op}: {name} must be a (height, width) pair of positive integers, got {hw!r}")
    return tuple(check_positive_int(op, f"{name}[{k}]", v) for k, v in enumerate(hw))


def _extent(x):
    """(first byte, end byte) of a C-contiguous numpy or cupy array's data."""
    ptr = x.data.ptr if is_cupy(x) else x.__array_interface__["data"][0]
    return ptr, ptr + x.nbytes


def check_no_overlap(op, **arrays):
    """Refuses arrays (C-contiguous, checked before) that share memory: an op writing one of them in place
    would read values it has already overwritten. Names the first pair found."""
    items = [(name, a) for name, a in arrays.items() if a is not None]
    for i, (name_a, a) in enumerate(items):
        lo_a, hi_a = _extent(a)
        for name_b, b in items[i + 1:]:
            lo_b, hi_b = _extent(b)
            if lo_a < hi_b and lo_b < hi_a and is_cupy(a) == is_cupy(b):
                same = " (the same array)" if a is b else ""
                raise ValueError(f"{op}: {name_a} and {name_b} share memory{same}; pass separate arrays "
                                 f"(e.g. m = zeros_aligned(shape), v = zeros_aligned(shape))")


def check_generator(op, name, rng):
    """A numpy.random.Generator (randomness is passed in explicitly; seeds go through np.random.default_rng)."""
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"{op}: {name} must be a numpy.random.Generator (e.g. np.random.default_rng(seed)), "
                         f"got {type(rng).__name__} {rng!r}")
    return rng


def check_decay_power(op, decay_power, h, w):
    """A finite decay_power whose largest frequency scale (at the lowest frequency, 1/max(h, w)) stays far
    from float32 overflow, where the image would turn to NaN. Returns it as a float."""
    d = check_finite_scalar(op, "decay_power", decay_power)
    n = max(h, w)
    log10_scale = d * math.log10(n) + 0.5 * math.log10(h * w)  # for d < 0 the largest scale is at most this
    if log10_scale > math.log10(MAX_SPECTRUM_SCALE):
        d_max = (math.log10(MAX_SPECTRUM_SCALE) - 0.5 * math.log10(h * w)) / math.log10(n)
        raise ValueError(f"{op}: decay_power={decay_power!r} makes the lowest frequency's scale "
                         f"max(h, w)**decay_power * sqrt(h*w) = 1e{log10_scale:.0f} for a {h}x{w} image, beyond "
                         f"float32 (the image would be NaN); use decay_power <= {math.floor(d_max * 10) / 10:g} "
                         f"(Lucid's default is 1)")
    return d


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
    shape = check_shape("empty_aligned", shape)
    dtype = np.dtype(dtype)
    nbytes = math.prod(shape) * dtype.itemsize
    if xp is not np:
        return xp.empty(shape, dtype=dtype)
    if nbytes > CHECKED_ALLOCATION_BYTES:
        from lucid_fast.misc import memory

        memory.check_fits(nbytes, f"empty_aligned: an array of shape {shape} ({dtype.name})",
                          "use a smaller shape")
    raw = _take_buffer(nbytes)
    offset = (-raw.ctypes.data) % ALIGNMENT
    return raw[offset:offset + nbytes].view(dtype).reshape(shape)


def check_shape(op, shape, name="shape"):
    """An array shape: an int >= 0 or a sequence of them, returned as a tuple of Python ints."""
    dims = (shape,) if isinstance(shape, (numbers.Integral, np.integer)) else shape
    try:
        dims = tuple(dims)
    except TypeError:
        raise ValueError(f"{op}: {name} must be an int or a sequence of ints >= 0, got {shape!r}") from None
    if any(isinstance(d, bool) or not isinstance(d, (numbers.Integral, np.integer)) or d < 0 for d in dims):
        raise ValueError(f"{op}: {name} must be an int or a sequence of ints >= 0, got {shape!r}")
    return tuple(int(d) for d in dims)


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
