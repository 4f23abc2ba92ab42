"""Reading bytes from local paths and URLs, with a download cache (Lucid's ``misc.io.reading``).

Remote resources (``http://``, ``https://``, and ``gs://bucket/path``, read as the public
``https://storage.googleapis.com/bucket/path``) are fetched with ``urllib`` through the download cache the model zoo
uses too (:mod:`lucid_fast.misc.download`): by default into the cache (``$LUCID_FAST_CACHE/io``, default
``~/.cache/lucid_fast/io``) on first use and from there afterwards, offline included. A resource that is not
cached and cannot be fetched raises :class:`~lucid_fast.modelzoo.OfflineError`, which names the URL and the
cache file to put in its place; an HTTP error status raises ``FileNotFoundError``.
"""
import contextlib
import hashlib
import io as _io
import os
import re
import urllib.parse

from lucid_fast.misc import download

from .scoping import scope_url

RESERVED_PATH_CHARS = re.compile("[^a-zA-Z0-9]")  # replaced by "_" in cache file names
LUCID_CACHE_DIR_NAME = "io"  # the cache's subfolder for misc.io downloads (Lucid: $TMPDIR/lucid_cache)
MAX_FILENAME_LENGTH = 200  # longer cache names are cut and end with the SHA-256 of the full name


def _is_remote(url):
    return urllib.parse.urlparse(url).scheme in ("http", "https", "gs")


def _http_url(url):
    """``gs://bucket/path`` as its public HTTPS address; other URLs unchanged."""
    if url.startswith("gs://"):
        return "https://storage.googleapis.com/" + url[len("gs://"):]
    return url


def _cache_name(remote_url):
    name = RESERVED_PATH_CHARS.sub("_", remote_url)
    if len(name) > MAX_FILENAME_LENGTH:
        digest = hashlib.sha256(name.encode("utf-8")).hexdigest()
        name = name[:MAX_FILENAME_LENGTH - len(digest) - 1] + "-" + digest
    return name


def local_cache_path(remote_url):
    """Where ``remote_url`` is (or would be) cached."""
    return download.cached_path(os.path.join(LUCID_CACHE_DIR_NAME, _cache_name(remote_url)))


def _purge_cached(url):
    path = local_cache_path(url)
    for p in (path, path + ".sha256"):
        with contextlib.suppress(FileNotFoundError):
            os.remove(p)


def _cached_file(url):
    """The local cache file of ``url``, downloading it first if needed (see the module docstring)."""
    return download.ensure_file(_http_url(url), os.path.join(LUCID_CACHE_DIR_NAME, _cache_name(url)),
                                 checksum=None, description=url)


@contextlib.contextmanager
def read_handle(url, cache=None, mode="rb"):
    """An open file handle on ``url`` (a local path or a URL), closed when the ``with`` block ends.

    Args:
        url: a local path (relative ones are resolved against :func:`~.scoping.io_scope`) or a URL.
        cache: for remote URLs, whether to read through the cache; None means True for remote URLs.
            ``"purge"`` deletes the cached copy first (and then reads through the cache).
        mode: ``"rb"`` (bytes) or ``"r"`` (text, UTF-8).
    """
    if mode not in ("rb", "r"):
        raise ValueError(f"read_handle: mode must be 'rb' or 'r', got {mode!r}")
    url = scope_url(url)
    remote = _is_remote(url)
    if cache == "purge":
        if remote:
            _purge_cached(url)
        cache = True
    if remote and cache is None:
        cache = True
    if remote and cache:
        handle = open(_cached_file(url), mode)  # noqa: SIM115 - closed below
    elif remote:
        response = download.open_url(_http_url(url), description=url)
        data = response.read()
        response.close()
        handle = _io.BytesIO(data) if mode == "rb" else _io.StringIO(data.decode("utf-8"))
        handle.name = url
    else:
        if url.startswith("file://"):
            url = urllib.parse.urlparse(url).path
        handle = open(url, mode)  # noqa: SIM115 - closed below
    try:
        yield handle
    finally:
        handle.close()


def read(url, encoding=None, cache=None, mode="rb"):
    """The contents of ``url`` (a local path or a URL): bytes, or text when ``encoding`` is given (then decoded
    with it) or ``mode="r"``."""
    with read_handle(url, cache=cache, mode=mode) as handle:
        data = handle.read()
    if encoding and isinstance(data, bytes):
        data = data.decode(encoding)
    return data


__all__ = ["LUCID_CACHE_DIR_NAME", "MAX_FILENAME_LENGTH", "RESERVED_PATH_CHARS", "local_cache_path", "read",
           "read_handle"]
