"""Writing files (Lucid's ``misc.io.writing``); every save of ``misc.io`` goes through :func:`write_handle`.

A file is written to a temporary file in the same folder and renamed over the target only when the writing
finished: an interrupted save never leaves a truncated file, and never destroys the file that was there.
"""
import contextlib
import os
import urllib.parse

from .scoping import scope_url


class _NamedHandle:
    """A file object whose ``name`` is the target path (the bytes go to a temporary file until the rename), so
    savers that read ``handle.name`` (its extension, the returned URL) see the real destination."""

    def __init__(self, fh, name):
        self._fh, self.name = fh, name

    def __getattr__(self, attr):
        return getattr(self._fh, attr)

    def __iter__(self):
        return iter(self._fh)


@contextlib.contextmanager
def write_handle(path, mode=None):
    """An open file for ``path`` (``mode`` ``"wb"`` by default, or ``"w"``); the folders are created, and the
    file appears at ``path`` complete, when the ``with`` block ends without an exception
    (:func:`lucid_fast.misc.atomic.atomic_write`).

    Raises:
        ValueError: ``path`` is a remote URL (writing to URLs is not supported) or ``mode`` is not a write mode.
    """
    from lucid_fast.misc.atomic import atomic_write

    path = scope_url(os.fspath(path))
    if urllib.parse.urlparse(path).scheme in ("http", "https", "gs"):
        raise ValueError(f"writing to a remote URL is not supported: {path!r}; save to a local path")
    mode = mode or "wb"
    if mode not in ("wb", "w"):
        raise ValueError(f"write_handle: mode must be 'wb' or 'w', got {mode!r}")
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with atomic_write(path, mode, encoding=None if "b" in mode else "utf-8") as fh:
        yield _NamedHandle(fh, path)


def write(data, url, mode="wb"):
    """Writes ``data`` (bytes, or str with ``mode="w"``) to ``url`` (a local path)."""
    with write_handle(url, mode) as handle:
        handle.write(data)


__all__ = ["write", "write_handle"]
