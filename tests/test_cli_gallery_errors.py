"""Issue 23, the command line's part: bad gallery arguments are one line and exit 2 before TensorFlow loads
(workers beyond the CPUs, channels that are not ASCII digits, an empty scheduler, --out onto a file or an
unwritable place), corrupt model files are named as such, and render uses the model's own input channels."""
import json
import os
import subprocess
import sys

from test_cli import ENV
from test_cli_errors import EARLY


def test_bad_gallery_arguments_fail_before_tensorflow_one_line_each(tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("x")
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    g = ["gallery", "--layers", "block1_conv2"]
    out = ["--out", str(tmp_path / "g")]
    cases = {
        # was: ~100 worker processes on 2 cores, nothing committed in 300 s
        "workers 99": (g + ["--workers", "99"] + out, ["--workers 99 is more than the", "use at most"]),
        "workers 0": (g + ["--workers", "0"] + out, ["--workers must be a positive integer"]),
        # was: "invalid literal for int() with base 10: '²'", after the model loaded
        "superscript": (g + ["--channels", "²"] + out, ["--channels: bad item '²'"]),
        "bad channels": (g + ["--channels", "0:8:2"] + out, ["--channels: bad item '0:8:2'"]),
        # was: a message naming no argument, after the model loaded
        "empty scheduler": (g + ["--scheduler", ""] + out, ["--scheduler must be a Dask scheduler address"]),
        # was: exit 1 with a bare errno
        "out a file": (g + ["--out", str(afile)], [f"--out {str(afile)!r} is a file; a gallery is a directory"]),
        "out under a file": (g + ["--out", str(afile / "g")], ["is a file, not a folder"]),
        "out unwritable": (g + ["--out", "/proc/g"], ["--out '/proc/g': cannot create folders in '/proc'"]),
        "size": (g + ["--size", "4"] + out, ["--size must be an integer in [8, 4096], got 4"]),
        "batch": (g + ["--batch", "0"] + out, ["--batch must be an integer in [1, 256], got 0"]),
        "steps": (g + ["--steps", "0"] + out, ["--steps must be an integer >= 1, got 0"]),
        "model": (g + ["--model", "vgg_16_hedd"] + out, ["--model 'vgg_16_hedd' is neither"]),
        "layers": (["gallery", "--layers", " , "] + out, ["--layers must name layers"]),
    }
    if os.geteuid() != 0:  # root writes anywhere
        cases["out read-only"] = (g + ["--out", str(ro / "g")], ["cannot create folders in"])
    res = subprocess.run([sys.executable, "-c", EARLY, json.dumps({k: v[0] for k, v in cases.items()})],
                         capture_output=True, text=True, timeout=300, env=ENV)
    ro.chmod(0o755)
    assert res.returncode == 0, res.stderr
    report = json.loads(res.stdout.strip().splitlines()[-1])
    for name, (_, needles) in cases.items():
        rc, err = report["results"][name]
        assert rc == 2, (name, rc, err)
        assert "Traceback" not in err and len(err.strip().splitlines()) == 1, (name, err)
        for needle in needles:
            assert needle in err, (name, needle, err)
    assert not report["tensorflow_imported"], "a gallery argument error was found only after TensorFlow loaded"
    assert sorted(os.listdir(tmp_path)) == ["afile", "ro"]  # nothing written


def _gray_model(path):
    import keras
    import numpy as np

    inp = keras.Input((None, None, 1), name="input")
    x = keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="conv")(inp)
    out = keras.layers.Dense(2, name="logits")(keras.layers.GlobalAveragePooling2D()(x))
    model = keras.Model(inp, out, name="gray")
    rng = np.random.default_rng(0)
    for w in model.weights:
        w.assign(rng.normal(0, 0.4, w.shape).astype(np.float32))
    model.save(path)


SCRIPT = r"""
import sys
sys.path.insert(0, sys.argv[1])
from test_cli_gallery_errors import _gray_model
_gray_model(sys.argv[2])
open(sys.argv[3], "wb").write(b"not a zip")
from lucid_fast import cli
rc_render = cli.main(["render", "--model", sys.argv[2], "--objective", "conv:1", "--size", "16", "--steps", "3",
                      "--out", sys.argv[4], "--quiet"])
rc_bad = cli.main(["layers", "--model", sys.argv[3]])
print("RC", rc_render, rc_bad)
"""


def test_render_uses_the_model_s_input_channels_and_a_corrupt_keras_file_is_named(tmp_path):
    from PIL import Image

    gray, bad, png = tmp_path / "gray.keras", tmp_path / "bad.keras", tmp_path / "g.png"
    res = subprocess.run([sys.executable, "-c", SCRIPT, os.path.dirname(__file__), str(gray), str(bad), str(png)],
                         capture_output=True, text=True, timeout=400, env=ENV)
    assert "RC 0 2" in res.stdout, res.stdout + res.stderr  # was: render failed (3-channel images, 1-channel model)
    assert Image.open(png).size == (16, 16)
    assert f"{str(bad)!r} exists but is not a Keras model file" in res.stderr  # was: "File not found"
    assert "Traceback" not in res.stderr
