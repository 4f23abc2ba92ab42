"""lucid_fast: Lucid's feature visualization for TensorFlow 2, with the image side in native kernels.

Submodules are imported on use (``lucid_fast.ops``, ``lucid_fast.optvis``, ``lucid_fast.modelzoo``,
``lucid_fast.misc``) so that ``import lucid_fast`` stays cheap and starts nothing.
"""
__version__ = "0.1.0"
