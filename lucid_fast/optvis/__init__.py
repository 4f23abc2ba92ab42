"""lucid_fast.optvis: Lucid's optimisation-based visualization API (objectives, param, transform, render, style).

Importing this package is cheap: it imports no TensorFlow. Submodules load on first use, either explicitly
(``from lucid_fast.optvis import objectives``) or as attributes (``lucid_fast.optvis.objectives``).
"""
import importlib

_SUBMODULES = ("objectives", "objectives_util", "param", "presets", "render", "style", "transform")


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_SUBMODULES))
