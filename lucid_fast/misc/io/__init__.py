"""Loading, saving and showing (Lucid's ``misc.io``): ``load``, ``save``, ``show`` by file extension and array
shape, local paths and URLs (fetched with a download cache), written atomically.

Submodules, as in Lucid: :mod:`.loading`, :mod:`.saving`, :mod:`.showing`, :mod:`.reading`, :mod:`.writing`,
:mod:`.serialize_array`, :mod:`.collapse_channels`, :mod:`.scoping`, :mod:`.sanitizing`.
"""
from . import collapse_channels, loading, reading, sanitizing, saving, scoping, serialize_array, showing, writing  # noqa: F401
from .loading import load
from .saving import CaptureSaveContext, batch_save, save
from .scoping import io_scope, scope_url
from .serialize_array import _to_uint8  # noqa: F401  (used by the gallery and misc.mesh_viewer)
from .showing import _in_notebook, image_grid, show  # noqa: F401  (_in_notebook: used by misc.mesh_viewer)

__all__ = ["CaptureSaveContext", "batch_save", "image_grid", "io_scope", "load", "save", "scope_url", "show"]
