"""Counts host <-> device copies made through CuPy's and PyTorch's Python entry points (for bench/gpu_check.sh).

While a :class:`CopyCounter` is active, the methods and functions of :func:`default_targets` (``cupy.asnumpy``,
``cupy.ndarray.get`` / ``.item`` / ``__float__`` / ``__bool__`` / ``__setitem__`` from numpy, ``cupy.asarray`` of a
host array, ``torch.Tensor.cpu`` / ``.item`` / ``.to`` / ``.cuda`` across devices, ...) are wrapped: each call that
moves data between the host and a CUDA device is recorded with its direction (``"d2h"``, ``"h2d"``), the entry
point, the caller's file and line, and the bytes moved (the host side's size; 8 for a Python scalar). The
originals are put back on exit.

What it cannot see: copies made inside compiled code without a Python call (a CuPy or torch kernel reading pageable
host memory; ``float(x)`` of a 0-d array is seen through ``__float__``). The wrapped entry points are the ones
Python code uses to move data, so a copy added to a step by Python code is counted.
"""
import collections
import dataclasses
import os
import sys
import threading

D2H, H2D = "d2h", "h2d"


@dataclasses.dataclass(frozen=True)
class Target:
    """An entry point to wrap: ``owner.attr``; ``classify(args, kwargs, result)`` returns ``"d2h"``, ``"h2d"`` or
    None (no copy), where ``args[0]`` is ``self`` for a method."""

    owner: object
    attr: str
    classify: object
    label: str = ""

    @property
    def name(self):
        return self.label or f"{getattr(self.owner, '__name__', self.owner)}.{self.attr}"


def _is_cupy(x):
    return type(x).__module__.split(".")[0] == "cupy"


def _is_host_array(x):
    import numpy as np

    return isinstance(x, (np.ndarray, np.generic, list, tuple, int, float)) and not _is_cupy(x)


def _always(direction):
    return lambda args, kwargs, result: direction


def _cupy_upload(args, kwargs, result):
    src = args[0] if args else kwargs.get("obj", kwargs.get("a"))
    return H2D if src is not None and not _is_cupy(src) and _is_host_array(src) else None


def _cupy_setitem(args, kwargs, result):
    import numpy as np

    return H2D if len(args) >= 3 and isinstance(args[2], np.ndarray) and args[2].size > 1 else None


def _torch_is_cuda(t):
    return getattr(getattr(t, "device", None), "type", None) == "cuda"


def _torch_from_cuda(args, kwargs, result):
    return D2H if args and _torch_is_cuda(args[0]) else None


def _torch_to(args, kwargs, result):
    src, dst = _torch_is_cuda(args[0]), _torch_is_cuda(result)
    return None if src == dst else (D2H if src else H2D)


def _torch_cuda(args, kwargs, result):
    return H2D if args and not _torch_is_cuda(args[0]) else None


def default_targets():
    """The entry points of CuPy and PyTorch that copy between host and device (those installed here)."""
    targets = []
    try:
        import cupy
    except Exception:  # noqa: BLE001 - no CuPy: nothing of it to count
        cupy = None
    if cupy is not None:
        nd = cupy.ndarray
        targets += [Target(cupy, "asnumpy", _always(D2H), "cupy.asnumpy")]
        targets += [Target(nd, m, _always(D2H), f"cupy.ndarray.{m}")
                    for m in ("get", "item", "tolist", "__float__", "__int__", "__bool__", "__array__")]
        targets += [Target(cupy, "asarray", _cupy_upload, "cupy.asarray"),
                    Target(cupy, "array", _cupy_upload, "cupy.array"),
                    Target(nd, "set", _always(H2D), "cupy.ndarray.set"),
                    Target(nd, "__setitem__", _cupy_setitem, "cupy.ndarray.__setitem__ (host array)")]
    try:
        import torch
    except Exception:  # noqa: BLE001 - no PyTorch: nothing of it to count
        torch = None
    if torch is not None:
        t = torch.Tensor
        targets += [Target(t, m, _torch_from_cuda, f"torch.Tensor.{m}")
                    for m in ("cpu", "item", "tolist", "numpy", "__float__", "__int__", "__bool__")]
        targets += [Target(t, "to", _torch_to, "torch.Tensor.to"), Target(t, "cuda", _torch_cuda, "torch.Tensor.cuda")]
    return targets


class CopyCounter:
    """A context manager that counts host <-> device copies (see the module doc). Not re-entrant; one at a time.

    Attributes:
        events: ``[(direction, entry point, "file:line", bytes)]`` in call order.
    """

    _active = threading.Lock()

    def __init__(self, targets=None):
        self.targets = list(default_targets() if targets is None else targets)
        self.events = []
        self._saved = []
        self._depth = threading.local()

    def __enter__(self):
        if not CopyCounter._active.acquire(blocking=False):
            raise RuntimeError("CopyCounter: another counter is active (they would count each other's wrappers)")
        try:
            for t in self.targets:
                orig = t.owner.__dict__[t.attr] if t.attr in vars(t.owner) else getattr(t.owner, t.attr)
                self._saved.append((t, t.attr in vars(t.owner), orig))
                setattr(t.owner, t.attr, self._wrap(t, getattr(t.owner, t.attr)))
        except Exception:
            self._restore()
            CopyCounter._active.release()
            raise
        return self

    def __exit__(self, *exc):
        self._restore()
        CopyCounter._active.release()
        return False

    def _restore(self):
        for t, own, orig in reversed(self._saved):
            if own:
                setattr(t.owner, t.attr, orig)
            else:
                delattr(t.owner, t.attr)
        self._saved = []

    def _wrap(self, target, fn):
        counter = self

        def wrapper(*args, **kwargs):
            outer = getattr(counter._depth, "n", 0) == 0  # a copy entry point calling another counts once
            counter._depth.n = getattr(counter._depth, "n", 0) + 1
            try:
                result = fn(*args, **kwargs)
            finally:
                counter._depth.n -= 1
            if outer:
                direction = target.classify(args, kwargs, result)
                if direction is not None:
                    src = args[2] if target.attr == "__setitem__" else args[0] if args else None
                    moved = result if direction == D2H else src
                    counter.events.append((direction, target.name, _caller(), _nbytes(moved)))
            return result

        wrapper.__name__ = getattr(fn, "__name__", target.attr)
        return wrapper

    # ---- reading ------------------------------------------------------------------------------------------------
    def reset(self):
        self.events = []

    def count(self, direction=None):
        return sum(1 for e in self.events if direction is None or e[0] == direction)

    def summary(self):
        """``{(direction, entry point, caller, bytes): calls}``, most frequent first."""
        return dict(collections.Counter(self.events).most_common())


def _nbytes(x):
    """Bytes of an array or tensor (numpy, cupy, torch), 8 for a Python scalar, 0 when unknown."""
    n = getattr(x, "nbytes", None)
    if isinstance(n, int):
        return n
    if hasattr(x, "element_size") and hasattr(x, "numel"):
        return int(x.element_size() * x.numel())
    if isinstance(x, (bool, int, float)):
        return 8
    if isinstance(x, (list, tuple)):
        return sum(_nbytes(v) for v in x)
    return 0


def _caller():
    """'file:line' of the first frame outside this module and outside CuPy/torch."""
    here = os.path.abspath(__file__)
    f = sys._getframe(2)
    while f is not None:
        path = f.f_code.co_filename
        if os.path.abspath(path) != here and f"{os.sep}cupy" not in path and f"{os.sep}torch{os.sep}" not in path:
            return f"{os.path.relpath(path) if path.startswith(os.getcwd()) else path}:{f.f_lineno}"
        f = f.f_back
    return "?"
