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

# Old private names of lucid_fast.misc.image.to_uint8 and lucid_fast.misc.notebook.in_notebook, kept only while
# lucid_fast/gallery/engine.py, lucid_fast/bench/gallery.py (_to_uint8) and lucid_fast/optvis/render.py
# (io._in_notebook) still use them; remove them when those import the public names.
from lucid_fast.misc.image import to_uint8 as _to_uint8  # noqa: E402,F401
from lucid_fast.misc.notebook import in_notebook as _in_notebook  # noqa: E402,F401

__all__ = ["CaptureSaveContext", "batch_save", "image_grid", "io_scope", "load", "save", "scope_url", "show"]
