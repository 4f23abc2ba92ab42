"""Loading, saving and showing (Lucid's ``misc.io``): ``load``, ``save``, ``show`` by file extension and array
shape, local paths and URLs (fetched with a download cache), written atomically.

Submodules, as in Lucid: :mod:`.loading`, :mod:`.saving`, :mod:`.showing`, :mod:`.reading`, :mod:`.writing`,
:mod:`.serialize_array`, :mod:`.collapse_channels`, :mod:`.scoping`, :mod:`.sanitizing`.
"""
from . import collapse_channels, loading, reading, sanitizing, saving, scoping, serialize_array, showing, writing  # noqa: F401
from .loading import load
from .saving import CaptureSaveContext, batch_save, save
from .scoping import io_scope, scope_url
from .showing import image_grid, show

__all__ = ["CaptureSaveContext", "batch_save", "image_grid", "io_scope", "load", "save", "scope_url", "show"]
