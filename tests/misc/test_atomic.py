"""Atomic saving: an interrupted save leaves the previous file whole and no temporary file behind."""
import os
import signal
import stat
import subprocess
import sys

import numpy as np
import pytest

from lucid_fast.misc import io
from lucid_fast.misc.atomic import TEMP_SUFFIX, atomic_write


def _temps(folder):
    return [n for n in os.listdir(folder) if n.endswith(TEMP_SUFFIX)]


def test_atomic_write_replaces_and_keeps_permissions(tmp_path):
    path = tmp_path / "a.bin"
    path.write_bytes(b"old")
    os.chmod(path, 0o640)
    with atomic_write(path) as f:
        f.write(b"new contents")
        assert path.read_bytes() == b"old"  # nothing visible before the rename
    assert path.read_bytes() == b"new contents"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640
    assert _temps(tmp_path) == []


def test_atomic_write_new_file_gets_umask_permissions(tmp_path):
    mask = os.umask(0o027)
    try:
        with atomic_write(tmp_path / "n.txt", "w") as f:
            f.write("x")
    finally:
        os.umask(mask)
    assert stat.S_IMODE(os.stat(tmp_path / "n.txt").st_mode) == 0o640  # as open() would: 0o666 & ~0o027


@pytest.mark.parametrize("exc", [RuntimeError("boom"), KeyboardInterrupt()])
def test_atomic_write_interrupted_body_leaves_old_file(tmp_path, exc):
    path = tmp_path / "a.png"
    path.write_bytes(b"good")
    with pytest.raises(type(exc)):
        with atomic_write(path) as f:
            f.write(b"half")
            raise exc
    assert path.read_bytes() == b"good"
    assert _temps(tmp_path) == []


def test_atomic_write_refuses_folder_and_missing_folder(tmp_path):
    with pytest.raises(ValueError, match="not a file name"):
        with atomic_write(tmp_path):
            pass
    with pytest.raises(FileNotFoundError):
        with atomic_write(tmp_path / "missing" / "x.png"):
            pass
    assert os.listdir(tmp_path) == []


def test_io_save_unknown_extension_creates_nothing(tmp_path):
    with pytest.raises(ValueError, match=r"unknown extension '\.gif'"):
        io.save(np.zeros((4, 4, 3)), str(tmp_path / "sub" / "x.gif"))
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("ext", [".png", ".jpg", ".npy", ".json", ".txt"])
def test_io_save_round_trips_through_atomic_write(tmp_path, ext):
    path = str(tmp_path / f"x{ext}")
    img = np.linspace(0, 1, 4 * 5 * 3, dtype=np.float32).reshape(4, 5, 3)
    thing = {"a": [1, 2]} if ext == ".json" else ("hello" if ext == ".txt" else img)
    io.save(thing, path)
    back = io.load(path)
    if ext in (".png", ".jpg"):
        assert back.shape == img.shape and np.abs(back - img).max() < (0.01 if ext == ".png" else 0.1)
    elif ext == ".npy":
        assert np.array_equal(back, img)
    else:
        assert back == thing
    assert _temps(tmp_path) == []


CHILD = r"""
import signal, sys, time
import numpy as np
from PIL import ImageFile
from lucid_fast.misc import io

real_save = ImageFile._save


class PausingStream:  # the PNG encoder's output: after the first block of pixel data is written, wait for SIGINT
    def __init__(self, fp):
        self.fp, self.paused = fp, False

    def write(self, data):
        self.fp.write(data)
        if not self.paused:
            self.paused = True
            print("writing", flush=True)
            time.sleep(120)  # interrupted by the parent's SIGINT (KeyboardInterrupt)

    def __getattr__(self, name):
        return getattr(self.fp, name)


ImageFile._save = lambda im, fp, *args, **kwargs: real_save(im, PausingStream(fp), *args, **kwargs)
# Ctrl-C raises KeyboardInterrupt even where the parent ignores SIGINT (a background job: its children inherit that)
signal.signal(signal.SIGINT, signal.default_int_handler)
big = np.random.default_rng(0).integers(0, 256, (512, 512, 3), dtype=np.uint8)
print("saving", flush=True)
io.save(big, sys.argv[1])
print("saved", flush=True)
"""


def test_sigint_during_io_save_keeps_previous_file(tmp_path):
    """A real SIGINT, delivered while io.save is writing the PNG (the child pauses in the encoder's first write),
    leaves the previous file and no temp file."""
    path = tmp_path / "render.png"
    io.save(np.full((8, 8, 3), 0.25, np.float32), str(path))
    good = path.read_bytes()
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(path)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "saving"
        # the child pauses inside the save, after part of the new PNG is written (no race with the encoder's speed)
        assert child.stdout.readline().strip() == "writing"
        assert _temps(tmp_path) or path.read_bytes() != good, "the save wrote nothing before pausing"
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
    assert "saved" not in out, "the save finished before the signal: the test did not interrupt it"
    assert child.returncode != 0 and "KeyboardInterrupt" in err
    assert path.read_bytes() == good
    assert _temps(tmp_path) == []


def _record_durability(monkeypatch):
    """Records os.fsync (what the descriptor is: inode, folder or not, size) and os.replace, in call order."""
    events = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        st = os.fstat(fd)
        events.append(("fsync", st.st_ino, stat.S_ISDIR(st.st_mode), st.st_size))
        return real_fsync(fd)

    def replace(src, dst, *args, **kwargs):
        events.append(("replace", os.stat(src).st_ino, os.fspath(dst)))
        return real_replace(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    return events


@pytest.mark.parametrize("mode", ["wb", "w"])
def test_atomic_write_fsyncs_data_before_rename_and_folder_after(tmp_path, monkeypatch, mode):
    """Durability: the complete data is fsynced before os.replace, the folder entry after (issue 23)."""
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")
    payload = b"new contents " * 100
    events = _record_durability(monkeypatch)
    with atomic_write(target, mode=mode) as f:
        f.write(payload if mode == "wb" else payload.decode())
    assert target.read_bytes() == payload
    data_ino, folder_ino = os.stat(target).st_ino, os.stat(tmp_path).st_ino
    kinds = [e[0] for e in events]
    assert kinds.count("replace") == 1, events
    i_replace = kinds.index("replace")
    assert events[i_replace][1:] == (data_ino, os.fspath(target)), events
    before = [e for e in events[:i_replace] if e[0] == "fsync"]
    after = [e for e in events[i_replace + 1:] if e[0] == "fsync"]
    # the temporary file (the inode that becomes `target`), with all its bytes, is fsynced before the rename
    assert ("fsync", data_ino, False, len(payload)) in before, events
    # the folder holding the new entry is fsynced after the rename
    assert ("fsync", folder_ino, True) in [e[:3] for e in after], events
    assert not any(e[1] == folder_ino for e in before), events


def test_atomic_write_fsync_false_skips_fsync(tmp_path, monkeypatch):
    events = _record_durability(monkeypatch)
    with atomic_write(tmp_path / "scratch.txt", mode="w", fsync=False) as f:
        f.write("x")
    assert [e[0] for e in events] == ["replace"], events
