"""Native bindings of lucid_fast: Cython CPU entry points, CuPy GPU launchers, checks and the DLPack seam.

Installed as ``lucid_fast._bindings``. Nothing here runs at import time beyond defining functions.
"""
