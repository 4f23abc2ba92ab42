# distutils: language = c++
# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
"""The CPU kernels, baseline x86-64 (SSE2) build: see bindings/_cpu.py."""

include "cpu_ops.pxi"
