"""Saving by extension (Lucid's ``misc.io.saving``).

``save(thing, path)`` picks a saver from the extension: images (.png, .jpg, .jpeg, .webp) from arrays or PIL
images, .npy, .npz (a dict or list of arrays), .json (numpy values converted), .txt (a string or a list of
lines), .pb (a protobuf such as a GraphDef) and, only with ``allow_unsafe_formats=True``, pickles; a trailing
``.xz`` compresses. It returns Lucid's description of what was saved (``{"type": ..., "url": path, ...}``).
Every file is written through :func:`.writing.write_handle`, so it appears complete or not at all.

Images: float arrays are mapped to [0, 255] from ``domain``; as in Lucid, ``domain=None`` (the default of
``save``) stretches the array's own minimum..maximum to black..white, and ``domain=(0, 1)`` keeps values as
they are. A batch ``(N, h, w, c)`` with N > 1 is saved as one grid image (a lucid_fast addition).
"""
import contextlib
import json
import logging
import lzma
import os
import pickle
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor
from typing import List, Optional, Tuple

import numpy as np

from lucid_fast.misc.image import image_grid

from .scoping import current_io_scopes, set_io_scopes
from .serialize_array import _normalize_array
from .writing import write_handle

log = logging.getLogger(__name__)

_locals = threading.local()


class CaptureSaveContext:
    """Collects the results of the saves made inside its ``with`` block (in this thread, and in
    :func:`batch_save`'s workers): ``with ctx: ...; ctx.captured_saves``."""

    def __init__(self):
        self.captured_saves = []

    def __enter__(self):
        stack = getattr(_locals, "save_contexts", None)
        if stack is None:
            stack = _locals.save_contexts = []
        stack.append(self)
        return self

    def __exit__(self, exc_type, exc_value, traceback):
        _locals.save_contexts.pop()

    def capture(self, save_result):
        if save_result is not None:
            self.captured_saves.append(save_result)

    @classmethod
    def current_save_context(cls) -> Optional["CaptureSaveContext"]:
        stack = getattr(_locals, "save_contexts", None)
        return stack[-1] if stack else None


class ClarityJSONEncoder(json.JSONEncoder):
    """JSON for numpy scalars and arrays, tuples and sets (as lists), and objects with ``to_json()``."""

    def default(self, obj):
        if isinstance(obj, (tuple, set)):
            return list(obj)
        if isinstance(obj, np.integer):
            return int(obj)
        if isinstance(obj, np.floating):
            return float(obj)
        if isinstance(obj, np.bool_):
            return bool(obj)
        if isinstance(obj, np.ndarray):
            return obj.tolist()
        if hasattr(obj, "to_json"):
            return obj.to_json()
        return super().default(obj)


def _text(handle, text):
    """Writes text to a binary or text handle."""
    if "b" in getattr(handle, "mode", "b"):
        handle.write(text.encode("utf-8"))
    else:
        handle.write(text)


def save_json(object, handle, indent=2):  # noqa: A002 - Lucid's parameter name
    """Saves ``object`` as JSON (numpy values converted, see :class:`ClarityJSONEncoder`)."""
    _text(handle, json.dumps(object, indent=indent, cls=ClarityJSONEncoder))
    return {"type": "json", "url": handle.name}


def save_npy(object, handle):  # noqa: A002
    """Saves an array as .npy."""
    object = np.asarray(object)
    np.save(handle, object)
    return {"type": "npy", "shape": object.shape, "dtype": str(object.dtype), "url": handle.name}


def save_npz(object, handle):  # noqa: A002
    """Saves a dict of arrays (names kept) or a list of arrays (``arr_0``, ...) as .npz."""
    if isinstance(object, dict):
        np.savez(handle, **object)
    elif isinstance(object, (list, tuple)):
        np.savez(handle, *object)
    else:
        warnings.warn("save_npz: saving a single array as .npz (arr_0); did you mean .npy?", stacklevel=3)
        np.savez(handle, object)
    return {"type": "npz", "url": handle.name}


def save_img(object, handle, domain=None, **kwargs):  # noqa: A002
    """Saves an array (``(h, w)``, ``(h, w, 1|3|4)``, or a batch as a grid) or a PIL image. ``domain``: see the
    module docstring. ``kwargs`` go to PIL's ``save`` (e.g. ``quality=90``)."""
    from PIL import Image

    if isinstance(object, Image.Image):
        image = object
    else:
        array = np.asarray(object)
        if array.ndim == 4 and array.size:
            array = image_grid(array)
        if not (array.ndim == 2 or (array.ndim == 3 and array.shape[-1] in (1, 2, 3, 4))) or array.size == 0:
            raise ValueError(f"save: an image ({os.path.splitext(handle.name)[1]}) must be an array (h, w), "
                             f"(h, w, 1|2|3|4) or a batch (N, h, w, 1|2|3|4), all sides >= 1; got shape "
                             f"{np.shape(object)}")
        # _normalize_array squeezes size-1 axes; a 1 x w image keeps its shape (a single channel is dropped)
        keep = array.shape[:2] + ((array.shape[2],) if array.ndim == 3 and array.shape[2] > 1 else ())
        image = Image.fromarray(_normalize_array(array, domain=domain).reshape(keep))
    ext = os.path.splitext(handle.name)[1].lower()
    if ext in (".jpg", ".jpeg") and image.mode in ("RGBA", "LA", "P"):
        image = image.convert("RGB")  # JPEG has no alpha
    fmt = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".webp": "WEBP"}.get(ext)
    image.save(handle, format=fmt, **kwargs)
    return {"type": "image", "shape": image.size + (len(image.getbands()),), "url": handle.name}


def save_txt(object, handle, **kwargs):  # noqa: A002
    """Saves a string, or a list of lines (each ending with a newline; non-strings by ``repr``, with a
    warning)."""
    if isinstance(object, str):
        _text(handle, object)
    elif isinstance(object, (list, tuple)):
        for line in object:
            if isinstance(line, bytes):
                line = line.decode("utf-8")
            if not isinstance(line, str):
                warnings.warn(f"save_txt: a {type(line).__name__} is written as its repr", stacklevel=3)
                line = repr(line)
            _text(handle, line if line.endswith("\n") else line + "\n")
    else:
        raise ValueError(f"save_txt: expected a string or a list of lines, got {type(object).__name__}")
    return {"type": "txt", "url": handle.name}


def save_str(object, handle, **kwargs):  # noqa: A002
    """Saves a string as is (used for extensions no saver knows)."""
    if not isinstance(object, str):
        raise ValueError(f"save_str: expected a string, got {type(object).__name__}")
    _text(handle, object)
    return {"type": "txt", "url": handle.name}


def save_pb(object, handle, **kwargs):  # noqa: A002
    """Saves a protobuf message (e.g. a ``tf.compat.v1.GraphDef``) in its binary form."""
    if not hasattr(object, "SerializeToString"):
        raise ValueError(f"save_pb: expected a protobuf message, got {type(object).__name__}")
    handle.write(object.SerializeToString())
    return {"type": "pb", "url": handle.name}


def save_pickle(object, handle, **kwargs):  # noqa: A002
    """Pickles ``object`` (only with ``allow_unsafe_formats=True``)."""
    pickle.dump(object, handle)
    return {"type": "pickle", "url": handle.name}


def compress_xz(handle, **kwargs):
    """An xz-compressing wrapper around ``handle`` (for ``.xz`` paths)."""
    out = lzma.LZMAFile(handle, format=lzma.FORMAT_XZ, mode="wb")
    out.name = handle.name
    return out


savers = {
    ".png": save_img, ".jpg": save_img, ".jpeg": save_img, ".webp": save_img,
    ".npy": save_npy, ".npz": save_npz,
    ".json": save_json,
    ".txt": save_txt,
    ".pb": save_pb,
}

unsafe_savers = {".pickle": save_pickle, ".pkl": save_pickle}

compressors = {".xz": compress_xz}


def save(thing, url_or_handle, allow_unsafe_formats=False, save_context: Optional[CaptureSaveContext] = None,
         **kwargs):
    """Saves ``thing`` to a path (or an open binary file with a ``name``), by extension.

    Args:
        thing: what to save (see the module docstring for what each extension takes).
        url_or_handle: a local path (str, os.PathLike, or bytes: decoded with ``os.fsdecode``; relative paths
            resolve against ``io_scope``) or an open file.
        allow_unsafe_formats: allow pickles.
        save_context: a :class:`CaptureSaveContext` to record the result in (default: the active one).
        **kwargs: passed to the saver (``domain=``, ``quality=`` for images; ``indent=`` for JSON).

    Returns:
        A dict describing the saved file: ``type``, ``url`` (the path), and ``shape`` etc. where known.

    Raises:
        ValueError: no extension, an unknown extension for a non-string, an unsafe format without
            ``allow_unsafe_formats``, a path that is not a path, or a thing the saver cannot write (e.g. an image
            that is not (h, w), (h, w, 1|2|3|4) or a batch of those).
    """
    is_handle = hasattr(url_or_handle, "write") and hasattr(url_or_handle, "name")
    if isinstance(url_or_handle, bytes):
        url_or_handle = os.fsdecode(url_or_handle)  # a bytes path is read as the os module reads it
    if not is_handle and not isinstance(url_or_handle, (str, os.PathLike)):
        raise ValueError(f"save: url_or_handle must be a path (str, bytes or os.PathLike) or an open binary file "
                         f"with a name, got {type(url_or_handle).__name__}")
    path = url_or_handle.name if is_handle else os.fspath(url_or_handle)
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    stem, ext = os.path.splitext(path)
    ext = ext.lower()
    compressor = None
    if ext in compressors:
        compressor = compressors[ext]
        ext = os.path.splitext(stem)[1].lower()
    if not ext:
        raise ValueError(f"save: {path!r} has no extension; use one of {sorted(savers)}")
    if ext in savers:
        saver = savers[ext]
    elif ext in unsafe_savers:
        if not allow_unsafe_formats:
            raise ValueError(f"save: {ext} files can run code when loaded; pass allow_unsafe_formats=True to "
                             f"write one")
        saver = unsafe_savers[ext]
    elif isinstance(thing, str):
        saver = save_str
    else:
        raise ValueError(f"save: unknown extension {ext!r} for a {type(thing).__name__} (only strings can be "
                         f"saved under unknown extensions); use one of {sorted(savers)}")
    handle_cm = contextlib.nullcontext(url_or_handle) if is_handle else write_handle(path)
    with handle_cm as handle:
        target = compressor(handle) if compressor else contextlib.nullcontext(handle)
        with target as h:
            result = saver(thing, h, **kwargs)
    context = save_context if save_context is not None else CaptureSaveContext.current_save_context()
    if context is not None:
        context.capture(result)
    return result


def batch_save(save_ops: List[Tuple], num_workers: int = 16):
    """Runs many saves in threads: ``save_ops`` is a list of ``(thing, path)`` or ``(thing, path, kwargs)``;
    returns their results in order (the caller's io scopes and save context apply)."""
    scopes = list(current_io_scopes())
    context = CaptureSaveContext.current_save_context()

    def one(op):
        set_io_scopes(scopes)
        if not isinstance(op, (tuple, list)) or len(op) not in (2, 3):
            raise ValueError(f"batch_save: each save is (thing, path) or (thing, path, kwargs), got {op!r}")
        kwargs = dict(op[2]) if len(op) == 3 else {}
        return save(op[0], op[1], save_context=context, **kwargs)

    save_ops = list(save_ops)
    if not save_ops:
        return []
    with ThreadPoolExecutor(max_workers=max(1, min(num_workers, len(save_ops)))) as pool:
        return list(pool.map(one, save_ops))


__all__ = ["CaptureSaveContext", "ClarityJSONEncoder", "batch_save", "compress_xz", "compressors", "save",
           "save_img", "save_json", "save_npy", "save_npz", "save_pb", "save_pickle", "save_str", "save_txt",
           "savers", "unsafe_savers"]
