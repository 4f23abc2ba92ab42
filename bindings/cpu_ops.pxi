# The body of the CPU extension, compiled twice (bindings/_cpu_base.pyx, bindings/_cpu_avx2.pyx); bindings/_cpu.py
# imports the build that fits this CPU.
"""CPU entry points of the native kernels (Cython over csrc/cpu/*.cpp, OpenMP, GIL released).

These functions trust their arguments: shapes, dtypes, contiguity and alignment are checked once, in
bindings/checks.py, by the public wrappers. Each op lives in its own `.pxi`, included here so that the
whole CPU side is one extension module.
"""

include "tv.pxi"
include "spectrum.pxi"
include "color.pxi"
include "warp.pxi"
include "upsample.pxi"
include "sample.pxi"
include "adam.pxi"
