"""Relative paths resolved against a stack of folders (Lucid's ``misc.io.scoping``).

``with io_scope("out/run1"): save(img, "a.png")`` writes ``out/run1/a.png``. Scopes nest and are per thread;
absolute paths and URLs (anything with ``//``) are never scoped.
"""
import contextlib
import os
import threading

_local = threading.local()


def current_io_scopes():
    """The calling thread's scope stack (a list, outermost first)."""
    scopes = getattr(_local, "io_scopes", None)
    if scopes is None:
        scopes = _local.io_scopes = []
    return scopes


def set_io_scopes(scopes):
    """Replaces the calling thread's scope stack (e.g. to hand a caller's scopes to a worker thread)."""
    _local.io_scopes = list(scopes)


@contextlib.contextmanager
def io_scope(path, replace_current_scopes=False):
    """Resolves relative paths inside the ``with`` block against ``path`` (appended to the current scopes, or
    replacing them)."""
    before = list(current_io_scopes())
    if replace_current_scopes:
        set_io_scopes(path if isinstance(path, list) else [path])
    else:
        current_io_scopes().append(path)
    try:
        yield
    finally:
        set_io_scopes(before)


def _normalize_url(url):
    scheme, sep, rest = url.partition("://")
    if not sep:
        return os.path.normpath(url) if url else url
    return scheme + sep + (os.path.normpath(rest) if rest else "")


def scope_url(url, io_scopes=None):
    """``url`` joined to the scopes, unless it is absolute or a URL."""
    url = os.fspath(url)
    scopes = io_scopes or current_io_scopes()
    if "//" in url or url.startswith("/") or not scopes:
        return url
    return _normalize_url(os.path.join(*scopes, url))


__all__ = ["current_io_scopes", "io_scope", "scope_url", "set_io_scopes"]
