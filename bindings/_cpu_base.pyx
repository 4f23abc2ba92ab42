# distutils: language = c++
# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
"""The CPU kernels, baseline x86-64 (SSE2) build: see bindings/_cpu.py.

Imported as ``lucid_fast._bindings._cpu_base`` (source: bindings/_cpu_base.pyx, body bindings/cpu_ops.pxi).
"""

include "cpu_ops.pxi"
