# distutils: language = c++
# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
"""The CPU kernels, x86-64-v3 build (AVX2, FMA), imported only on CPUs that have them: see bindings/_cpu.py."""

include "cpu_ops.pxi"
