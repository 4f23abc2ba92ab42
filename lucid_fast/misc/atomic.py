"""Atomic file writes: a file at ``path`` is either the old one or the complete new one, never a mix.

    with atomic_write("out.png") as f:      # f: a binary file object (mode="w" gives a text one)
        image.save(f, format="PNG")

The data goes to a temporary file in the same folder (``.out.png.<random>.tmp``), which is flushed, fsynced
and then renamed over ``path`` with ``os.replace`` (atomic on POSIX and Windows within one file system). If
anything interrupts the body or the flush, KeyboardInterrupt included, the temporary file is removed and the
exception goes on; the file that was at ``path`` is untouched. A new file gets the permissions ``open()``
would give it (0o666 less the umask); a replaced file keeps its permission bits.
"""
import contextlib
import os
import stat
import tempfile

__all__ = ["atomic_write", "TEMP_SUFFIX"]

TEMP_SUFFIX = ".tmp"


def _umask():
    """The process umask, read without changing it where Linux allows (os.umask is a set-and-get)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _mode_for(path):
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        return 0o666 & ~_umask()


def _fsync_dir(folder):
    """Makes the rename durable (POSIX); a no-op where folders cannot be opened (Windows)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_write(path, mode="wb", encoding=None, fsync=True):
    """Writes ``path`` atomically: yields a file object on a temporary file next to it, renamed on success.

    Args:
        path: the destination (str or os.PathLike). Its folder must exist.
        mode: "wb" (default) or "w" (text, with ``encoding``).
        encoding: the text encoding for mode "w" (default UTF-8).
        fsync: flush the data (and the folder entry) to disk before returning; turn off only for scratch files.

    Raises:
        ValueError: an unsupported mode, or a path that names a folder.
        OSError: the folder is missing or not writable (nothing is created then).
        Whatever the body raises: the temporary file is removed first and ``path`` is left as it was.
    """
    if mode not in ("wb", "w"):
        raise ValueError(f"atomic_write: mode must be 'wb' or 'w', got {mode!r}")
    path = os.fspath(path)
    if not path or os.path.isdir(path):
        raise ValueError(f"atomic_write: {path!r} is not a file name")
    folder = os.path.dirname(os.path.abspath(path))
    final_mode = _mode_for(path)
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=TEMP_SUFFIX, dir=folder)
    done = False
    try:
        os.close(fd)
        with open(tmp, mode, encoding=(encoding or "utf-8") if mode == "w" else None) as f:
            yield f
            f.flush()
            if fsync:
                os.fsync(f.fileno())
        os.chmod(tmp, final_mode)
        os.replace(tmp, path)
        done = True
    finally:
        if not done:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
    if fsync:
        _fsync_dir(folder)
