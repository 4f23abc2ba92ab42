# distutils: language = c++
# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
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
include "adam.pxi"
