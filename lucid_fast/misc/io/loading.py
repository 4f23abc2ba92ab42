"""Loading files and URLs by extension (Lucid's ``misc.io.loading``).

``load(url_or_handle)`` picks a loader from the extension: images (.png, .jpg, .jpeg, .webp, .gif, .bmp) as
float32 arrays in [0, 1], .npy / .npz arrays, .json, .txt / .md text, .pb GraphDefs, and, only with
``allow_unsafe_formats=True``, pickles. A trailing ``.xz`` is decompressed first. URLs are fetched and cached
(:mod:`.reading`); a list of URLs is loaded concurrently.
"""
import contextlib
import io as _io
import json
import logging
import lzma
import numbers
import os
import pickle
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from lucid_fast.misc.download import OfflineError

from .reading import read_handle
from .scoping import current_io_scopes, set_io_scopes

log = logging.getLogger(__name__)


def _load_urls(urls, cache=None, **kwargs):
    """Loads several URLs concurrently, in order; a failure is logged and its exception takes its place."""
    scopes = list(current_io_scopes())

    def one(url):
        set_io_scopes(scopes)
        try:
            return load(url, cache=cache, **kwargs)
        except Exception as exc:  # noqa: BLE001 - Lucid's contract: the exception is returned in its place
            log.error("loading %s failed: %s", url, exc)
            return exc

    if not urls:
        return []
    with ThreadPoolExecutor(max_workers=min(8, len(urls))) as pool:
        return list(pool.map(one, urls))


def _load_npy(handle, **kwargs):
    """A .npy array, or a .npz file as a dict of arrays."""
    data = np.load(handle, **kwargs)
    if isinstance(data, np.lib.npyio.NpzFile):
        with data:
            return {k: data[k] for k in data.files}
    return data


def _check_size(size):
    """``size=(w, h)`` for images: two ints >= 1 (no bools, no floats: nothing is rounded), at most
    PIL's decompression-bomb limit of pixels and what fits in memory."""
    from PIL import Image

    from lucid_fast.misc.memory import check_fits

    if (not isinstance(size, (tuple, list)) or len(size) != 2
            or not all(isinstance(s, numbers.Integral) and not isinstance(s, (bool, np.bool_)) and s >= 1
                       for s in size)):
        raise ValueError(f"load: size must be (width, height), two ints >= 1, got {size!r}")
    w, h = int(size[0]), int(size[1])
    cap = Image.MAX_IMAGE_PIXELS
    if cap is not None and w * h > 2 * cap:
        raise ValueError(f"load: size={size!r} is {w * h} pixels, more than {2 * cap} (PIL's "
                         f"Image.MAX_IMAGE_PIXELS x 2, its decompression-bomb limit)")
    check_fits(w * h * 24, f"load: an image resized to {w}x{h}", "pass a smaller size")  # RGBA uint8 + float32
    return w, h


def _load_img(handle, target_dtype=np.float32, size=None, **kwargs):
    """An image as a ``(h, w, 3)`` or ``(h, w, 4)`` array in [0, 1] (grayscale repeated to RGB, as Lucid did;
    palette images with transparency and grayscale+alpha as RGBA). ``size=(w, h)`` resizes (Lanczos)."""
    from PIL import Image

    if size is not None:
        size = _check_size(size)
    with Image.open(handle, **kwargs) as img:
        if size is not None:
            img = img.resize(size, resample=Image.LANCZOS)
        mode = img.mode
        if mode in ("I;16", "I;16B", "I;16L"):
            arr = np.asarray(img, dtype=np.uint16)
        elif mode in ("RGB", "RGBA", "L"):
            arr = np.asarray(img)
        elif mode == "LA" or (mode == "P" and "transparency" in img.info) or mode == "PA":
            arr = np.asarray(img.convert("RGBA"))
        else:
            arr = np.asarray(img.convert("RGB"))
    arr = np.divide(arr, np.iinfo(arr.dtype).max, dtype=target_dtype)
    if arr.ndim == 2:
        return np.repeat(arr[..., None], 3, axis=2)
    return arr


def _load_json(handle, **kwargs):
    return json.load(handle, **kwargs)


def _load_text(handle, split=False, encoding="utf-8"):
    """The text of the file, or its lines with ``split=True``."""
    data = handle.read()
    text = data.decode(encoding) if isinstance(data, bytes) else data
    return text.splitlines() if split else text


def _load_graphdef_protobuf(handle, **kwargs):
    """A ``tf.compat.v1.GraphDef`` from a binary protobuf file."""
    import tensorflow as tf

    return tf.compat.v1.GraphDef.FromString(handle.read())


def _load_pickle(handle, **kwargs):
    return pickle.load(handle, **kwargs)  # noqa: S301 - only with allow_unsafe_formats=True


def _decompress_xz(handle, **kwargs):
    if not (hasattr(handle, "seekable") and handle.seekable()):
        handle = _io.BytesIO(handle.read())
    return lzma.LZMAFile(handle, mode="rb", format=lzma.FORMAT_XZ)


_IMAGE_LOADER = _load_img

loaders = {
    ".png": _load_img, ".jpg": _load_img, ".jpeg": _load_img, ".webp": _load_img, ".gif": _load_img,
    ".bmp": _load_img,
    ".npy": _load_npy, ".npz": _load_npy,
    ".json": _load_json,
    ".txt": _load_text, ".md": _load_text,
    ".pb": _load_graphdef_protobuf,
}

unsafe_loaders = {".pickle": _load_pickle, ".pkl": _load_pickle}

decompressors = {".xz": _decompress_xz}


def is_handle(url_or_handle):
    """Whether ``url_or_handle`` is an open file (has ``read`` and ``name``)."""
    return hasattr(url_or_handle, "read") and hasattr(url_or_handle, "name")


def _get_extension(url_or_handle):
    """(extension, decompressor extension or None), lower case, e.g. ``("npy", ".xz")`` for ``a.npy.xz``."""
    name = url_or_handle.name if is_handle(url_or_handle) else os.fspath(url_or_handle)
    if isinstance(name, bytes):
        name = os.fsdecode(name)
    if not isinstance(name, str):
        raise ValueError(f"load: cannot tell the format of a file named {name!r} (a handle needs a path as its "
                         f"name); pass the path instead")
    path = name.split("?", 1)[0] if "://" in name else name  # a URL's query string is not its extension
    stem, ext = os.path.splitext(path)
    decompressor = None
    if ext.lower() in decompressors:
        decompressor = ext.lower()
        stem, ext = os.path.splitext(stem)
    return ext.lower(), decompressor


def load_using_loader(url_or_handle, decompressor, loader, cache, **kwargs):
    """Runs ``loader`` on ``url_or_handle`` (through ``decompressor``). A cached download that fails to
    decode is deleted and fetched again once (a broken download must not stay in the cache)."""
    decompress = decompressors[decompressor] if decompressor else (lambda h: contextlib.nullcontext(h))
    if is_handle(url_or_handle):
        with decompress(url_or_handle) as h:
            return loader(h, **kwargs)
    try:
        with read_handle(url_or_handle, cache=cache) as handle, decompress(handle) as h:
            return loader(h, **kwargs)
    except FileNotFoundError:
        raise
    except (ValueError, OSError, EOFError, lzma.LZMAError) as exc:
        from .reading import _is_remote

        if not _is_remote(os.fspath(url_or_handle)) or cache is False:
            raise
        log.warning("loading %s failed (%s); deleting the cached copy and fetching it again", url_or_handle, exc)
        with read_handle(url_or_handle, cache="purge") as handle, decompress(handle) as h:
            return loader(h, **kwargs)


def load(url_or_handle, allow_unsafe_formats=False, cache=None, **kwargs):
    """Loads a file, a URL or an open handle, by extension (see the module docstring).

    Args:
        url_or_handle: a local path, a URL (http, https, gs), an open binary file with a ``name``, or a list of
            these (loaded concurrently; a failed item is its exception). A bytes path is decoded with
            ``os.fsdecode`` (as the ``os`` module reads it).
        allow_unsafe_formats: allow pickles (loading one can run arbitrary code).
        cache: for URLs, read through the download cache (default for remote URLs), or not (False), or
            ``"purge"`` to fetch again.
        **kwargs: passed to the loader (e.g. ``split=True`` for text, ``size=(w, h)`` for images: two ints).

    Raises:
        ValueError: an unsafe format without ``allow_unsafe_formats``, or an extension no loader knows that is
            not an image either. FileNotFoundError: a missing file or an HTTP error. OfflineError: a URL that is
            not cached and cannot be fetched.
    """
    if isinstance(url_or_handle, (list, tuple)):
        return _load_urls(url_or_handle, cache=cache, **kwargs)
    if isinstance(url_or_handle, bytes):
        url_or_handle = os.fsdecode(url_or_handle)  # a bytes path is read as the os module reads it
    if not is_handle(url_or_handle) and not isinstance(url_or_handle, (str, os.PathLike)):
        raise ValueError(f"load: url_or_handle must be a path or URL (str, bytes or os.PathLike), an open binary "
                         f"file with a name, or a list of these; got {type(url_or_handle).__name__}")
    ext, decompressor = _get_extension(url_or_handle)
    if ext in unsafe_loaders:
        if not allow_unsafe_formats:
            raise ValueError(f"load: {ext} files can run code when loaded; pass allow_unsafe_formats=True if you "
                             f"trust {url_or_handle!r}")
        loader = unsafe_loaders[ext]
    elif ext in loaders:
        loader = loaders[ext]
    else:
        log.warning("unknown extension %r, trying to load %s as an image", ext, url_or_handle)
        try:
            return load_using_loader(url_or_handle, decompressor, _load_img, cache, **kwargs)
        except (FileNotFoundError, ImportError, OfflineError):
            raise
        except Exception as exc:
            raise ValueError(f"load: no loader for extension {ext!r} of {url_or_handle!r}, and it is not an image "
                             f"either ({exc}); known extensions: {sorted(loaders)} (and, unsafe, "
                             f"{sorted(unsafe_loaders)})") from exc
    return load_using_loader(url_or_handle, decompressor, loader, cache, **kwargs)


__all__ = ["decompressors", "is_handle", "load", "load_using_loader", "loaders", "unsafe_loaders"]
