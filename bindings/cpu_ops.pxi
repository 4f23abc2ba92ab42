# bindings/cpu_ops.pxi — the body of the CPU extension, compiled twice (bindings/_cpu_base.pyx and
# bindings/_cpu_avx2.pyx, imported as lucid_fast._bindings._cpu_base / _cpu_avx2); bindings/_cpu.py
# (lucid_fast._bindings._cpu) imports the build that fits this CPU. Op map: bindings/README.md.
"""CPU entry points of the native kernels (Cython over csrc/cpu/*.cpp, OpenMP, GIL released).

These functions trust their arguments: shapes, dtypes, contiguity and alignment are checked once, in
bindings/checks.py, by the public wrappers. Each op lives in its own `.pxi`, included here so that the
whole CPU side is one extension module.
"""

include "param_layout.pxi"
include "tv.pxi"
include "spectrum.pxi"
include "color.pxi"
include "warp.pxi"
include "upsample.pxi"
include "sample.pxi"
include "adam.pxi"
