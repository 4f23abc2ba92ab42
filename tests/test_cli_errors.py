"""The CLI's answers to bad input: one line per error, exit status 2, no traceback, nothing loaded or written;
a render too large for the memory is refused before it starts; Ctrl-C exits 130 and says the image is partial."""
import json
import os
import re
import signal
import subprocess
import sys
import time

import numpy as np

from test_cli import ENV

# Each case runs through cli.main in ONE process that never imports TensorFlow (checked at the end): the
# arguments are validated before the model (and TF) load.
EARLY = r"""
import contextlib, io, json, sys
from lucid_fast import cli
results = {}
for name, argv in json.loads(sys.argv[1]).items():
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        try:
            rc = cli.main(argv)
        except SystemExit as stop:  # argparse's own errors
            rc = stop.code
    results[name] = [rc, err.getvalue()]
print(json.dumps({"results": results, "tensorflow_imported": "tensorflow" in sys.modules}))
"""


def test_bad_arguments_fail_early_one_line_each(tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("x")
    base = ["render", "--objective", "block4_conv3:1"]
    cases = {
        "gif": (base + ["--out", str(tmp_path / "x.gif")], ["unsupported extension '.gif'"]),
        "empty out": (base + ["--out", ""], ["--out must name an image file"]),
        "proc": (base + ["--out", "/proc/x.png"], ["cannot write in '/proc'"]),
        "under a file": (base + ["--out", str(afile / "x.png")], ["is a file, not a folder"]),
        "a folder": (base + ["--out", str(tmp_path)], ["is a folder; name a file in it"]),
        "absurd size": (base + ["--size", "100000", "--out", str(tmp_path / "a.png")],
                        ["--size 100000", "needs about", "is available", "reduce --size"]),
        "tiny size": (base + ["--size", "4", "--out", str(tmp_path / "a.png")], ["--size must be an integer >= 8"]),
        "batch 0": (base + ["--batch", "0", "--out", str(tmp_path / "a.png")], ["--batch must be an integer >= 1"]),
        "steps 0": (base + ["--steps", "0", "--out", str(tmp_path / "a.png")], ["--steps must be an integer >= 1"]),
        "seed -1": (base + ["--seed", "-1", "--out", str(tmp_path / "a.png")], ["--seed must be an integer >= 0"]),
        "objective": (["render", "--objective", "block4_conv3", "--out", str(tmp_path / "a.png")],
                      ["--objective must be LAYER:CHANNEL"]),
        "model": (base + ["--model", "vgg_16_hedd", "--out", str(tmp_path / "a.png")],
                  ["--model 'vgg_16_hedd' is neither", "vgg16_hed"]),
        "layer typo": (["render", "--objective", "block4_conv9:1", "--out", str(tmp_path / "a.png")],
                       ["no layer 'block4_conv9'", "block4_conv3", "lucid-fast layers --model vgg16_hed"]),
        "channel range": (["render", "--objective", "block1_conv2:64", "--out", str(tmp_path / "a.png")],
                          ["has 64 channels (0 to 63)", "lucid-fast layers --model vgg16_hed"]),
        "not an int": (base + ["--size", "big"], ["argument --size: invalid int value: 'big'"]),
        "objectives and batch": (["render", "--objective", "a:1", "--objective", "b:2", "--batch", "2",
                                  "--out", str(tmp_path / "a.png")], ["drop --batch"]),
        "several at once": (["render", "--objective", "x", "--steps", "0", "--out", "y.gif"],
                            ["--steps", "--objective", "'.gif'"]),
    }
    env = dict(ENV, LUCID_FAST_MEMORY_LIMIT="16G")  # the same answer for --size 100000 on any machine
    out = subprocess.run([sys.executable, "-c", EARLY, json.dumps({k: v[0] for k, v in cases.items()})],
                         capture_output=True, text=True, timeout=300, env=env)
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout.strip().splitlines()[-1])
    for name, (_, needles) in cases.items():
        rc, err = report["results"][name]
        lines = err.strip().splitlines()
        assert rc == 2, (name, rc, err)
        assert "Traceback" not in err, (name, err)
        assert len(lines) == (3 if name == "several at once" else 1), (name, lines)
        for needle in needles:
            assert needle in err, (name, needle, err)
    assert not report["tensorflow_imported"], "an argument error was found only after TensorFlow loaded"
    assert sorted(os.listdir(tmp_path)) == ["afile"]  # nothing written, no folder created


def test_render_too_large_for_memory_is_refused_before_tensorflow_runs(tmp_path):
    """Issue 16's first case: 4096 px aborted inside TF (std::bad_alloc). The estimate (about 76 GiB for this
    step) is compared with the memory available, here capped to 16 GiB so the answer is the same everywhere."""
    out = tmp_path / "x.png"
    env = dict(ENV, LUCID_FAST_MEMORY_LIMIT="16G")
    r = subprocess.run([sys.executable, "-m", "lucid_fast", "render", "--objective", "block4_conv3:100", "--size",
                        "4096", "--steps", "1", "--out", str(out)], capture_output=True, text=True, timeout=600,
                       env=env)
    assert r.returncode == 2, (r.returncode, r.stderr[-2000:])
    lines = [ln for ln in r.stderr.splitlines() if ln.startswith("lucid-fast")]
    assert len(lines) == 1 and "Traceback" not in r.stderr
    msg = lines[0]
    for needle in ("4519x4519", "'vgg16_hed'", "'block4_conv3'", "needs about", "16.0 GiB is available",
                   "reduce the image size to at most"):
        assert needle in msg, (needle, msg)
    side = int(msg.split("to at most ")[1].split(" px")[0])
    assert 1024 <= side < 4096
    assert not out.exists()


def test_ctrl_c_saves_a_partial_image_and_exits_130(tmp_path, keras_file):
    out = tmp_path / "partial.png"
    child = subprocess.Popen([sys.executable, "-m", "lucid_fast", "render", "--model", keras_file, "--objective",
                              "conv2:3", "--size", "32", "--steps", "100000", "--out", str(out)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
    try:
        seen = ""
        deadline = time.monotonic() + 300
        while "objective" not in seen and time.monotonic() < deadline:  # the progress bar: steps are running
            ch = child.stderr.read(1)
            if not ch:
                break
            seen += ch
        assert "objective" in seen, seen
        child.send_signal(signal.SIGINT)
        _, err = child.communicate(timeout=120)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == 130, err[-2000:]
    assert "interrupted: wrote" in err and "PARTIAL" in err and "Traceback" not in err
    assert "UserWarning" not in err and "warnings.warn" not in err, err  # clean lines, no warning source line
    done = re.search(r"interrupted after (\d+) of 100000 steps", err)
    assert done and re.search(rf"\b{done.group(1)}/100000\b", err), err  # the count the bar showed
    from PIL import Image

    img = np.asarray(Image.open(out))
    assert img.shape == (32, 32, 3) and img.std() > 0
    assert [n for n in os.listdir(tmp_path) if n.endswith(".tmp")] == []
