"""The CPU kernels: one Cython extension built twice from bindings/cpu_ops.pxi and csrc/cpu.

``_cpu_avx2`` is compiled for x86-64-v3 (AVX2, FMA), which makes the vectorized element loops 1.5 to 3.4
times faster on this project's machines (total variation 1.7 -> 0.5 ms, colour 0.95 -> 0.41 ms at
4x224x224x3); ``_cpu_base`` is the baseline x86-64 build, for CPUs without AVX2 or when
``LUCID_FAST_CPU=baseline`` is set. Both are exactly the same code; results may differ in the last bits
(different instruction selection), well inside every test tolerance. ``BUILD`` names the one in use.

Imported as ``lucid_fast._bindings._cpu`` (source: bindings/_cpu.py).
"""
import os


# What -march=x86-64-v3 may use, as /proc/cpuinfo names it (LZCNT appears as "abm" on some CPUs).
_X86_64_V3_FLAGS = {"avx", "avx2", "fma", "bmi1", "bmi2", "f16c", "movbe", "xsave"}


def _cpu_has_avx2():
    """True when the CPU reports every x86-64-v3 feature (Linux /proc/cpuinfo; False elsewhere)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return _X86_64_V3_FLAGS <= flags and bool({"abm", "lzcnt"} & flags)
    except OSError:
        pass
    return False


def _choose():
    want = os.environ.get("LUCID_FAST_CPU", "auto").strip().lower()
    if want not in ("auto", "avx2", "baseline"):
        raise ValueError(f"LUCID_FAST_CPU must be auto, avx2 or baseline, got {want!r}")
    if want == "avx2" or (want == "auto" and _cpu_has_avx2()):
        try:
            from . import _cpu_avx2 as module
            return module, "avx2"
        except ImportError:  # an install built without the AVX2 variant (non-x86 compilers)
            if want == "avx2":
                raise
    from . import _cpu_base as module
    return module, "baseline"


# libgomp's default wait policy spins each worker thread for a while after every parallel region. In a render
# step the kernels alternate with TensorFlow, whose own thread pools then compete with those spinning threads
# for the same cores: on this project's 2-core machines the image side of a 128 px step measured 136-225 ms
# instead of 2-3 ms (and the whole step 0.49x the original Lucid's speed). Passive waiting (sleep at once) keeps
# the kernels' own cost; libgomp reads the variable once, when it is loaded, so it is set (unless the user
# chose a policy) before the extension loads.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
_module, BUILD = _choose()
globals().update({k: v for k, v in vars(_module).items() if not k.startswith("__")})
