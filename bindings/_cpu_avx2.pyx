# distutils: language = c++
# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
"""The CPU kernels, x86-64-v3 build (AVX2, FMA), imported only on CPUs that have them: see bindings/_cpu.py.

Imported as ``lucid_fast._bindings._cpu_avx2`` (source: bindings/_cpu_avx2.pyx, body bindings/cpu_ops.pxi).
"""

include "cpu_ops.pxi"
