"""Loads the CUDA kernels for CuPy: inlines every header, hashes the result, compiles with NVRTC.

CuPy's kernel cache keys on the source string only, not on files it ``#include``s, so the loader inlines
every ``#include "..."`` of csrc/ itself; the source hash is written into the code, and an edited header
therefore always gives a new module (docs/ARCHITECTURE.md). Nothing is compiled or imported until first use.

Imported as ``lucid_fast._bindings.cupy_module`` (source: bindings/cupy_module.py).
"""
import hashlib
import os
import re

_INCLUDE_RE = re.compile(r'^\s*#\s*include\s+"([^"]+)"\s*$', re.M)
NVRTC_OPTIONS = ("-std=c++17",)
KERNELS_ENTRY = os.path.join("cuda", "kernels.cu")


def csrc_root():
    """The csrc/ tree: lucid_fast/_csrc in an installed wheel, the repository's csrc/ in an editable one."""
    here = os.path.dirname(os.path.abspath(__file__))
    for cand in (os.path.join(here, os.pardir, "_csrc"), os.path.join(here, os.pardir, "csrc")):
        if os.path.isfile(os.path.join(cand, KERNELS_ENTRY)):
            return os.path.normpath(cand)
    raise FileNotFoundError(
        f"lucid_fast: the CUDA sources were not found next to {here} (looked for _csrc/ and csrc/ holding "
        f"{KERNELS_ENTRY}); reinstall the package with `pip install .`")


def inlined_source(entry=KERNELS_ENTRY, root=None):
    """Returns the entry file with every quoted #include replaced by the file's text, each file once.

    Includes resolve against the including file's folder, then csrc/include/.
    """
    root = root or csrc_root()
    seen = set()

    def expand(path):
        path = os.path.normpath(path)
        if path in seen:
            return ""
        seen.add(path)
        with open(path) as f:
            text = f.read()
        text = re.sub(r"^\s*#\s*pragma\s+once\s*$", "", text, flags=re.M)
        base = os.path.dirname(path)

        def repl(m):
            name = m.group(1)
            for d in (base, os.path.join(root, "include")):
                cand = os.path.join(d, name)
                if os.path.isfile(cand):
                    return f"// ---- {name}\n" + expand(cand)
            raise FileNotFoundError(f"lucid_fast: #include \"{name}\" in {path} not found under {base} or csrc/include")

        return _INCLUDE_RE.sub(repl, text)

    body = expand(os.path.join(root, entry))
    digest = hashlib.sha256(body.encode()).hexdigest()
    return f"// lucid_fast sources sha256={digest}\n" + body


def compile_with_nvrtc(arch="sm_90", source=None):
    """Compiles the inlined kernels with NVRTC directly (no GPU or driver needed) and returns the cubin.

    Raises RuntimeError with NVRTC's log on any error or warning-free failure. Needs the
    ``nvidia-cuda-nvrtc`` wheel (or a CUDA toolkit) and CuPy's NVRTC binding.
    """
    from cupy_backends.cuda.libs import nvrtc

    source = source if source is not None else inlined_source()
    prog = nvrtc.createProgram(source, "lucid_fast_kernels.cu", [], [])
    try:
        try:
            nvrtc.compileProgram(prog, [f"--gpu-architecture={arch}", *NVRTC_OPTIONS])
        except Exception as err:  # NVRTCError carries only the status; the log says why
            raise RuntimeError(f"NVRTC failed to compile the lucid_fast kernels for {arch}:\n"
                               f"{nvrtc.getProgramLog(prog)}") from err
        log = nvrtc.getProgramLog(prog).strip().strip("\x00")
        return nvrtc.getCUBIN(prog), log
    finally:
        nvrtc.destroyProgram(prog)


_modules = {}


def get_module():
    """The compiled RawModule for the current device (compiled once per process and device)."""
    import cupy

    dev = cupy.cuda.Device().id
    src = inlined_source()
    key = (dev, hashlib.sha256(src.encode()).hexdigest())
    mod = _modules.get(key)
    if mod is None:
        mod = cupy.RawModule(code=src, options=NVRTC_OPTIONS)
        _modules[key] = mod
    return mod


def get_kernel(name):
    return get_module().get_function(name)


def launch(name, n, args, threads=256):
    """Launches kernel ``name`` on a 1-D grid sized for ``n`` elements (grid-stride loops take the rest)."""
    import cupy

    blocks = int(min(max((n + threads - 1) // threads, 1), 65535 * 8))
    get_kernel(name)((blocks,), (threads,), args, stream=cupy.cuda.get_current_stream())


def params_struct(dtype, **fields):
    """A one-element numpy structured record, passed by value to a kernel (CuPy matches host layout)."""
    import numpy as np

    rec = np.zeros((), dtype=dtype)
    for k, v in fields.items():
        rec[k] = v
    return rec[()]
