"""Gallery jobs: atomic per-channel commits, resume after kill -9 (bit-identical), settings bound to the directory."""
import fcntl
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from lucid_fast import gallery
from lucid_fast.gallery.store import GalleryStore

SMALL = dict(size=16, steps=8, batch=3, seed=11)


def _files(root, layer):
    """{name: bytes} of a layer's PNGs, and {channel: (trace, unit)} of its records."""
    d = os.path.join(root, "layers", layer)
    pngs = {n: open(os.path.join(d, n), "rb").read() for n in sorted(os.listdir(d))
            if n.endswith(".png") and n != "sprites.png"}
    recs = {}
    for n in sorted(os.listdir(d)):
        if n[0].isdigit() and n.endswith(".json"):
            r = json.load(open(os.path.join(d, n)))
            recs[r["channel"]] = (r["objective_trace"], r["unit"]["channels"], r.get("negative_objective_trace"))
    return pngs, recs


def _log_channels(root):
    return sorted((e["layer"], e["channel"]) for e in gallery.read_log(root))


def test_records_hold_what_the_issue_asks(tiny_model, tmp_path):
    res = gallery.run(tiny_model, ["conv2"], tmp_path / "g", channels="2:5", negative=True, site=False,
                      progress=False, **SMALL)
    assert sorted(res.committed) == [("conv2", 2), ("conv2", 3), ("conv2", 4)]
    rec = json.load(open(tmp_path / "g" / "layers" / "conv2" / "0003.json"))
    assert rec["model"] == "tiny" and rec["layer"] == "conv2" and rec["channel"] == 3
    assert rec["settings"] == gallery.Settings(negative=True, **SMALL).as_dict() and rec["seed"] == 11
    assert len(rec["objective_trace"]) == 8 and len(rec["negative_objective_trace"]) == 8
    assert rec["unit"]["channels"] == [3, 4, 5][:2] or rec["unit"]["channels"] == [3, 4]
    assert rec["wall_time_s"] > 0 and rec["tool_version"] and rec["created"]
    assert os.path.exists(tmp_path / "g" / "layers" / "conv2" / rec["image"])
    assert os.path.exists(tmp_path / "g" / "layers" / "conv2" / rec["negative_image"])
    sheet = gallery.SpriteSheet.load(tmp_path / "g" / "layers" / "conv2" / "sprites.png")
    assert sheet.channels == [2, 3, 4] and sheet.tile == 16


def test_units_follow_fixed_blocks():
    assert gallery.plan_units([0, 1, 2, 3, 4, 5, 6], 3) == [[0, 1, 2], [3, 4, 5], [6]]
    assert gallery.plan_units([7, 2, 4, 5, 11], 3) == [[2], [4, 5], [7], [11]]


def test_a_changed_setting_is_a_clear_error_never_a_mix(tiny_model, tmp_path):
    out = tmp_path / "g"
    gallery.run(tiny_model, "conv1", out, channels=[0], site=False, progress=False, **SMALL)
    with pytest.raises(gallery.GalleryMismatchError, match=r"steps: 8 there, 9 here"):
        gallery.run(tiny_model, "conv1", out, channels=[0], site=False, progress=False, **{**SMALL, "steps": 9})
    with pytest.raises(gallery.GalleryMismatchError, match=r"negative: False there, True here"):
        gallery.run(tiny_model, "conv1", out, channels=[0], negative=True, site=False, progress=False, **SMALL)
    with pytest.raises(gallery.GalleryMismatchError, match=r"model: 'tiny' \(weights"):
        gallery.run("vgg16_hed", "block1_conv1", out, channels=[0], site=False, progress=False, **SMALL)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    with pytest.raises(gallery.GalleryMismatchError, match="not empty"):
        gallery.run(tiny_model, "conv1", tmp_path / "other", channels=[0], site=False, progress=False, **SMALL)
    assert _log_channels(out) == [("conv1", 0)]  # nothing was written by the refused runs


def test_half_written_results_are_not_taken_for_done(tiny_model, tmp_path):
    out = tmp_path / "g"
    gallery.run(tiny_model, "conv2", out, channels="0:6", site=False, progress=False, **SMALL)
    pngs, recs = _files(out, "conv2")
    d = out / "layers" / "conv2"
    os.unlink(d / "0001.json")                                   # killed between the image and the record
    (d / "0002.json").write_text(open(d / "0002.json").read()[:50])  # a torn record (not our writer's doing)
    os.unlink(d / "0005.png")                                     # a record whose image is gone
    (d / "0003.json.123.abcd.tmp").write_text("{")                # a temporary file of a killed writer
    rec = json.load(open(d / "0000.json"))
    rec["settings"]["steps"] = 99
    (d / "0000.json").write_text(json.dumps(rec))                 # a record of other settings
    store = GalleryStore.open(out)
    assert store.done_channels("conv2", range(6)) == [3, 4]
    res = gallery.run(tiny_model, "conv2", out, channels="0:6", site=False, progress=False, **SMALL)
    assert sorted(c for _, c in res.committed) == [0, 1, 2, 5]
    assert not any(n.endswith(".tmp") for n in os.listdir(d))
    assert _files(out, "conv2") == (pngs, recs)  # the same bits as the first, uninterrupted run


def test_a_second_run_on_the_same_directory_is_refused(tiny_model, tmp_path):
    out = tmp_path / "g"
    gallery.run(tiny_model, "conv1", out, channels=[0], site=False, progress=False, **SMALL)
    with open(out / ".lock", "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(gallery.GalleryError, match="another run"):
            gallery.run(tiny_model, "conv1", out, channels=[0, 1], site=False, progress=False, **SMALL)


def test_resume_after_kill_9_renders_only_what_is_missing_and_matches(tiny_model_path, tmp_path):
    """The CLI killed with SIGKILL once channels are committed; the same command finishes the job, and every file
    equals an uninterrupted run's, bit for bit."""
    args = [sys.executable, "-m", "lucid_fast", "gallery", "--model", tiny_model_path, "--layers", "conv1,conv2",
            "--channels", "0:6", "--size", "16", "--steps", "10", "--batch", "3", "--seed", "5", "--no-site", "--quiet"]
    killed, ref = str(tmp_path / "killed"), str(tmp_path / "ref")
    proc = subprocess.Popen(args + ["--out", killed], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.time() + 240
    while time.time() < deadline and proc.poll() is None and len(gallery.read_log(killed)) < 3:
        time.sleep(0.05)
    assert proc.poll() is None, f"the job ended before it could be killed: {proc.stdout.read().decode()[-2000:]}"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    first = _log_channels(killed)
    assert 3 <= len(first) < 12
    done = subprocess.run(args + ["--out", killed], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    log = _log_channels(killed)
    assert log == sorted(set(log)) and len(log) == 12  # every channel committed exactly once over both runs
    # the reference: the same job uninterrupted, in this process (same machine, same thread settings)
    gallery.run(tiny_model_path, "conv1,conv2", ref, channels="0:6", size=16, steps=10, batch=3, seed=5, site=False,
                progress=False)
    for layer in ("conv1", "conv2"):
        got, want = _files(killed, layer), _files(ref, layer)
        assert sorted(got[1]) == list(range(6))
        assert got == want
    again = gallery.run(tiny_model_path, "conv1,conv2", killed, channels="0:6", size=16, steps=10, batch=3, seed=5,
                        site=False, progress=False)
    assert again.committed == [] and again.skipped == 12 and _log_channels(killed) == log  # finished: nothing to do
