"""Native bindings of lucid_fast: Cython CPU entry points, CuPy GPU launchers, checks and the DLPack seam.

This folder, bindings/, is installed as the package ``lucid_fast._bindings`` (``package_dir`` in setup.py):
``lucid_fast._bindings.<name>`` is bindings/<name>.py. The CPU kernels, ``lucid_fast._bindings._cpu``
(bindings/_cpu.py), come from one of two builds of the same Cython extension, bindings/_cpu_base.pyx and
bindings/_cpu_avx2.pyx, whose body is bindings/cpu_ops.pxi and one bindings/<op>.pxi per op. Each op's files,
from its C++ header to its tests: bindings/README.md.

Nothing here runs at import time beyond defining functions.
"""


def cpu_build():
    """Which build of the CPU kernels this process runs: ``"avx2"`` (x86-64-v3) or ``"base"`` (loads them)."""
    from . import _cpu

    return _cpu.BUILD
