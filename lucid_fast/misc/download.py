"""Download-once files (model weights for ``lucid_fast.modelzoo``, and the URLs ``lucid_fast.misc.io.load``
reads): a cache directory, checksums, and a clear error when offline.

It lives in ``misc`` (below ``modelzoo``) so that ``misc.io`` can use it without reaching up into ``modelzoo``.
``lucid_fast.modelzoo._download`` is this same module under its old name.

Files live in ``$LUCID_FAST_CACHE`` if set, else ``~/.cache/lucid_fast``. A file is verified against the
checksum its model declares (``"md5:<hex>"`` or ``"sha256:<hex>"``). Where no checksum could be known in advance
(the file was published without one and could not be fetched when this code was written), the SHA-256 of the
first copy is recorded next to it (``<file>.sha256``) and later loads are checked against that record: this
detects a file that changed or got corrupted after it was first fetched, not a bad first download.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.error
import urllib.request

_CHUNK = 1 << 20


def cache_dir():
    """The cache directory: ``$LUCID_FAST_CACHE`` or ``~/.cache/lucid_fast`` (not created here)."""
    env = os.environ.get("LUCID_FAST_CACHE")
    if env:
        return os.path.abspath(os.path.expanduser(env))
    return os.path.join(os.path.expanduser("~"), ".cache", "lucid_fast")


def cached_path(filename):
    """Where ``filename`` lives in the cache."""
    return os.path.join(cache_dir(), filename)


def _urlopen(url, timeout=60):
    """The network fetch (a seam for tests): an open HTTP response for ``url``."""
    return urllib.request.urlopen(url, timeout=timeout)  # noqa: S310 - http(s) URLs only (see open_url)


def _offline_message(what, url, exc, path=None):
    where = (f"place the file at {path} (the cache directory is $LUCID_FAST_CACHE, default ~/.cache/lucid_fast)"
             if path else "save it locally and pass the local path")
    return (f"{what} could not be downloaded from {url} ({exc}). On a machine with internet access, download "
            f"that URL and {where}, then load it again.")


def open_url(url, description=None):
    """An open HTTP(S) response for ``url``, streaming, nothing cached.

    Raises:
        FileNotFoundError: the server answered with an HTTP error (404, ...).
        OfflineError: the server could not be reached (the message says what to do instead).
    """
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"open_url: only http(s) URLs can be fetched, got {url!r}")
    try:
        return _urlopen(url)
    except urllib.error.HTTPError as exc:
        raise FileNotFoundError(f"{url}: the server answered HTTP {exc.code} ({exc.reason})") from exc
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        raise OfflineError(_offline_message(description or url, url, exc)) from exc


def file_digest(path, algorithm="sha256"):
    """Hex digest of a file."""
    h = hashlib.new(algorithm)
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def _parse_checksum(checksum):
    if checksum is None:
        return None
    algorithm, _, digest = checksum.partition(":")
    if algorithm not in ("md5", "sha256") or not digest:
        raise ValueError(f"checksum must be 'md5:<hex>' or 'sha256:<hex>', got {checksum!r}")
    return algorithm, digest.lower()


class ChecksumError(ValueError):
    """A cached or downloaded model file does not have the expected checksum."""


class OfflineError(RuntimeError):
    """A model file is not in the cache and could not be downloaded."""


def _verify(path, checksum, url):
    """Checks ``path`` against ``checksum``, or against/into the recorded SHA-256 when checksum is None."""
    parsed = _parse_checksum(checksum)
    if parsed is not None:
        algorithm, expected = parsed
        got = file_digest(path, algorithm)
        if got != expected:
            raise ChecksumError(
                f"checksum mismatch for {path}: expected {algorithm} {expected}, got {got}. The file is corrupt "
                f"or not the one published at {url}; delete it to download it again.")
        return
    record = path + ".sha256"
    got = file_digest(path, "sha256")
    if os.path.exists(record):
        with open(record) as fh:
            expected = fh.read().split()[0].strip().lower()
        if got != expected:
            raise ChecksumError(
                f"checksum mismatch for {path}: its SHA-256 {got} differs from the one recorded when it was "
                f"first fetched ({expected}, in {record}). Delete both files to download {url} again.")
        return
    # No published checksum: record the first copy's (trust on first use).
    from lucid_fast.misc.atomic import atomic_write  # noqa: PLC0415

    with atomic_write(record, "w") as fh:
        fh.write(f"{got}  {os.path.basename(path)}\n")


def ensure_file(url, filename, checksum=None, description=None):
    """Returns the local path of a model file, downloading it into the cache if needed.

    Args:
        url: Where the file is published.
        filename: Its name in the cache directory.
        checksum: ``"md5:<hex>"`` / ``"sha256:<hex>"``, or None when not known in advance (then the SHA-256 of
            the first copy is recorded and enforced afterwards).
        description: What the file is, for messages.

    Raises:
        OfflineError: not cached and the download failed (the message names the URL and where to put the file).
        ChecksumError: the cached or downloaded file does not match.
    """
    path = cached_path(filename)
    what = description or filename
    if os.path.exists(path):
        _verify(path, checksum, url)
        return path
    directory = os.path.dirname(path)
    try:
        os.makedirs(directory, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=os.path.basename(filename) + ".", suffix=".part", dir=directory)
    except OSError as exc:
        raise OfflineError(f"cannot create the cache directory {directory} for {what}: {exc}. Set "
                           "LUCID_FAST_CACHE to a writable directory.") from exc
    try:
        try:
            with os.fdopen(fd, "wb") as out, _urlopen(url) as response:
                for chunk in iter(lambda: response.read(_CHUNK), b""):
                    out.write(chunk)
        except urllib.error.HTTPError as exc:
            raise FileNotFoundError(f"{url}: the server answered HTTP {exc.code} ({exc.reason}); nothing was "
                                    f"cached") from exc
        except (urllib.error.URLError, OSError, TimeoutError) as exc:
            raise OfflineError(f"{what} is not in the cache, and it " + _offline_message("", url, exc, path).lstrip()) from exc
        try:
            _verify(tmp, checksum, url)
        except ChecksumError as exc:
            raise ChecksumError(f"the download of {url} has the wrong checksum ({exc}); nothing was cached") from exc
        os.replace(tmp, path)
        if checksum is None and os.path.exists(tmp + ".sha256"):
            os.replace(tmp + ".sha256", path + ".sha256")
    finally:
        for leftover in (tmp, tmp + ".sha256"):
            if os.path.exists(leftover):
                os.remove(leftover)
    return path
