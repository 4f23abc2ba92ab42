"""Where the image side of a step runs: the host (numpy, OpenMP kernels) or a CUDA device (CuPy, NVRTC kernels).

A :class:`Device` is the small layer the engine, the parameterization nodes, the transforms and Adam go through,
so one step is written once for both places (docs/ARCHITECTURE.md, "Devices and streams"):

* ``xp``: the array module of the device (numpy, cupy);
* ``empty`` / ``zeros``: allocation (``checks.empty_aligned`` on the host: 64-byte aligned for DLPack);
* ``ops``: the native ops, each checked against the device's op table (:data:`OPS`): an op this device has no
  kernel for raises ``NotImplementedError`` naming it (never a silent copy to the host and back), and an array
  that is not on the device (a host array handed to a CUDA op: a host copy slipped in) raises ``ValueError``;
* ``to_host`` / ``all_finite``: the only ways the step reads device data on the host (explicit, countable);
* ``scope(stream)``: a context in which CuPy runs on this device and, when given, on the framework's CUDA
  stream (``cupy.cuda.ExternalStream``), so the image side and the model are ordered on one stream.

On the host every call is the numpy code the engine ran before devices existed: same calls, same bytes.
Nothing is imported (CuPy included) or cached at import time.

Imported as ``lucid_fast._bindings.device`` (source: bindings/device.py), public through lucid_fast.ops.
"""
import contextlib
import re

import numpy as np

from . import checks

KINDS = ("cpu", "cuda")

# The public ops (lucid_fast.ops names) and the bindings module that holds each. Every op has a CPU entry
# (Cython, bindings/<op>.pxi) and a CUDA launch (CuPy RawModule over csrc/cuda/<op>.cu; spectrum's FFTs are
# cuFFT through cupy.fft, which needs cupy-cuda13x[ctk]).
_OP_MODULES = {
    "adam_update": "op_adam",
    "to_valid_rgb": "op_color", "to_valid_rgb_adjoint": "op_color",
    "sample_bilinear": "op_sample", "sample_bilinear_adjoint": "op_sample",
    "fft_image": "op_spectrum", "fft_image_adjoint": "op_spectrum",
    "total_variation": "op_tv",
    "upsample_bilinear": "op_upsample", "upsample_bilinear_adjoint": "op_upsample",
    "affine_warp": "op_warp", "affine_warp_adjoint": "op_warp",
}
# What each kind of device can run. A new device kind, or an op whose kernel exists only for some kinds, is
# one entry here; the dispatch refuses the rest by name.
OPS = {"cpu": frozenset(_OP_MODULES), "cuda": frozenset(_OP_MODULES)}
# Array arguments that stay on the host whatever the device: small per-step data drawn on the host from the
# run's generator (warp matrices: 24 bytes per image; the ops upload them themselves).
HOST_OK_ARGS = frozenset({"matrices"})

_SPEC_RE = re.compile(r"^(cpu|cuda)(?::(\d+))?$")


class DeviceError(ValueError):
    """A device that does not exist or cannot be used here, or an array on the wrong device."""


def parse(spec):
    """``(kind, index)`` from ``"cpu"``, ``"cuda"`` (device 0) or ``"cuda:N"`` (or a :class:`Device`)."""
    if isinstance(spec, Device):
        return spec.kind, spec.index
    m = _SPEC_RE.match(spec.strip().lower()) if isinstance(spec, str) else None
    if m is None or (m.group(1) == "cpu" and m.group(2) not in (None, "0")):
        raise DeviceError(f"unknown device {spec!r}: lucid_fast's image side runs on 'cpu' (numpy) or 'cuda' / "
                          f"'cuda:N' (CuPy on CUDA device N)")
    kind = m.group(1)
    return kind, (None if kind == "cpu" else int(m.group(2) or 0))


class _Ops:
    """``device.ops.<name>``: the op, checked against the device's table and the device of its arrays."""

    def __init__(self, device):
        self._device = device

    def __getattr__(self, name):
        dev = self._device
        if name not in _OP_MODULES:
            raise AttributeError(f"lucid_fast has no native op {name!r}; the ops are {sorted(_OP_MODULES)}")
        if name not in OPS[dev.kind]:
            raise NotImplementedError(f"{name}: no {dev.kind.upper()} kernel exists for this op, so it cannot run "
                                      f"on {dev.name} (lucid_fast does not copy to the host and back in a step)")
        import importlib

        fn = getattr(importlib.import_module(f"{__package__}.{_OP_MODULES[name]}"), name)

        def run(*args, **kwargs):
            dev.check_on(name, *args, **kwargs)
            return fn(*args, **kwargs)

        run.__name__ = run.__qualname__ = name
        run.__doc__ = fn.__doc__
        setattr(self, name, run)  # resolved once per device
        return run


class Device:
    """A place where the image side runs; build it with :func:`device` (not directly)."""

    def __init__(self, kind, index=None):
        if kind not in KINDS:
            raise DeviceError(f"unknown device kind {kind!r}: one of {KINDS}")
        self.kind, self.index = kind, index
        self.name = kind if kind == "cpu" else f"cuda:{index}"
        self.is_host = kind == "cpu"
        self._xp = np if self.is_host else None
        self.ops = _Ops(self)

    # ---- arrays ---------------------------------------------------------------------------------------------
    @property
    def xp(self):
        """The array module: numpy on the host, cupy on a CUDA device (imported on first use)."""
        if self._xp is None:
            self._xp = _import_cupy(self.name)
        return self._xp

    def empty(self, shape, dtype=np.float32):
        """An uninitialized C-contiguous array on this device (64-byte aligned on the host)."""
        if self.is_host:
            return checks.empty_aligned(shape, dtype=dtype)
        with self._cupy_device():
            return checks.empty_aligned(shape, xp=self.xp, dtype=dtype)

    def zeros(self, shape, dtype=np.float32):
        out = self.empty(shape, dtype)
        out[...] = 0
        return out

    def put(self, host_array, dtype=np.float32):
        """A C-contiguous copy of a host array on this device (an upload on a CUDA device): for values made once
        (initial parameters, constants), never per step."""
        out = self.empty(np.shape(host_array), dtype)
        out[...] = host_array
        return out

    def to_host(self, a):
        """A numpy copy of an array of this device (a download on a CUDA device)."""
        if self.is_host:
            return np.array(a)
        self.check_on("to_host", a=a)
        return self.xp.asnumpy(a)

    def all_finite(self, *arrays):
        """Whether every value of the arrays is finite: one reduction per array and, on a CUDA device, ONE copy
        of a single bool to the host for all of them."""
        if self.is_host:
            return all(bool(np.isfinite(a).all()) for a in arrays)
        xp = self.xp
        flags = [xp.isfinite(a).all() for a in arrays]
        return bool(xp.stack(flags).all()) if len(flags) > 1 else bool(flags[0])

    def owns(self, a):
        """Whether ``a`` is an array of this device (numpy for the host; cupy on this CUDA device)."""
        if self.is_host:
            return isinstance(a, np.ndarray)
        return checks.is_cupy(a) and a.device.id == self.index

    def check_on(self, what, *args, **kwargs):
        """Raises DeviceError when an array argument (numpy or cupy; other values are ignored) is not on this
        device; ``HOST_OK_ARGS`` (warp matrices) may be host arrays."""
        named = [(f"argument {i}", a) for i, a in enumerate(args)] + list(kwargs.items())
        for name, a in named:
            if not (isinstance(a, np.ndarray) or checks.is_cupy(a)) or self.owns(a):
                continue
            if name in HOST_OK_ARGS and isinstance(a, np.ndarray):
                continue
            where = "the host (numpy)" if isinstance(a, np.ndarray) else f"cuda:{a.device.id}"
            raise DeviceError(f"{what} on {self.name}: {name} is an array on {where}; every array of a step must "
                              f"live on the step's device (a host copy, or a transfer, slipped in)")

    # ---- running --------------------------------------------------------------------------------------------
    def scope(self, stream=None):
        """A context in which CuPy allocates and launches on this device and, when ``stream`` (a raw
        ``cudaStream_t`` as an int, e.g. ``torch.cuda.current_stream().cuda_stream``) is given, on that stream.
        On the host: a context that does nothing."""
        if self.is_host:
            if stream is not None:
                raise DeviceError(f"a CUDA stream ({stream!r}) was given for the host device")
            return contextlib.nullcontext()
        return self._cuda_scope(stream)

    @contextlib.contextmanager
    def _cuda_scope(self, stream):
        cp = self.xp
        with cp.cuda.Device(self.index):
            if stream is None:
                yield
            else:
                with cp.cuda.ExternalStream(int(stream), self.index):
                    yield

    def _cupy_device(self):
        return self.xp.cuda.Device(self.index)

    def __repr__(self):
        return f"Device({self.name!r})"

    def __eq__(self, other):
        return isinstance(other, Device) and (self.kind, self.index) == (other.kind, other.index)

    def __hash__(self):
        return hash((self.kind, self.index))


def _import_cupy(name):
    try:
        import cupy
    except Exception as err:  # noqa: BLE001 - any import failure means no CUDA path
        raise DeviceError(f"device {name!r} needs CuPy (pip install 'cupy-cuda13x[ctk]'), which cannot be "
                          f"imported here: {type(err).__name__}: {err}") from err
    return cupy


def device(spec="cpu"):
    """The :class:`Device` for ``"cpu"``, ``"cuda"`` or ``"cuda:N"`` (a Device is returned as it is).

    A CUDA device is checked when made: CuPy must import and see device N, else DeviceError says which part is
    missing (no silent fall back to the host).
    """
    if isinstance(spec, Device):
        return spec
    kind, index = parse(spec)
    dev = HOST if kind == "cpu" else _cuda_device(index)
    if not dev.is_host:
        cp = dev.xp
        try:
            count = cp.cuda.runtime.getDeviceCount()
        except Exception as err:  # noqa: BLE001 - no driver, no device
            raise DeviceError(f"device {dev.name!r}: CuPy sees no CUDA GPU here ({type(err).__name__}: {err})") \
                from err
        if index >= count:
            raise DeviceError(f"device {dev.name!r}: CuPy sees {count} CUDA GPU(s) (cuda:0 .. cuda:{count - 1})")
    return dev


HOST = Device("cpu")  # the host device: holds no arrays, only its resolved ops
_cuda_devices = {}  # index -> Device, filled on first use (device_of is called by every node of a step)


def _cuda_device(index):
    dev = _cuda_devices.get(index)
    if dev is None:
        dev = _cuda_devices.setdefault(index, Device("cuda", index))
    return dev


def device_of(*arrays):
    """The Device the arrays live on (numpy: the host; cupy: its CUDA device). All arrays (None ignored) must be on
    the same one."""
    found = None
    for a in arrays:
        if a is None:
            continue
        if isinstance(a, np.ndarray):
            dev = HOST
        elif checks.is_cupy(a):
            dev = _cuda_device(a.device.id)
        else:
            raise DeviceError(f"expected a numpy or cupy array, got {type(a).__name__}")
        if found is not None and dev != found:
            raise DeviceError(f"arrays on different devices: {found.name} and {dev.name}")
        found = dev
    return HOST if found is None else found
