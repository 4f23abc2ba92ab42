"""The lucid-fast command, run as a user runs it: a subprocess."""
import os
import subprocess
import sys

import numpy as np
import pytest

ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")


def run_cli(*args, timeout=600):
    return subprocess.run([sys.executable, "-m", "lucid_fast", *args], capture_output=True, text=True,
                          timeout=timeout, env=ENV)


def test_cli_render_writes_png_and_is_reproducible(tmp_path, keras_file):
    from PIL import Image

    outs = []
    for name in ("a.png", "b.png"):
        out = tmp_path / name
        r = run_cli("render", "--model", keras_file, "--objective", "conv2:3", "--size", "32", "--steps", "8",
                    "--seed", "5", "--out", str(out), "--save-npy")
        assert r.returncode == 0, r.stderr
        assert "wrote" in r.stdout
        outs.append(np.load(str(out.with_suffix(".npy"))))
        img = np.asarray(Image.open(out))
        assert img.shape == (32, 32, 3) and img.std() > 0
    assert np.array_equal(outs[0], outs[1])


def test_cli_render_batch_of_objectives_makes_a_grid(tmp_path, keras_file):
    from PIL import Image

    out = tmp_path / "grid.png"
    r = run_cli("render", "--model", keras_file, "--objective", "conv2:1", "--objective", "conv2:2",
                "--objective", "conv1:0", "--size", "24", "--steps", "4", "--out", str(out), "--quiet")
    assert r.returncode == 0, r.stderr
    img = np.asarray(Image.open(out))
    assert img.shape[0] > 24 and img.shape[1] > 24  # 3 tiles in a 2x2 grid


def test_cli_unknown_layer_is_a_clear_error(tmp_path, keras_file):
    r = run_cli("render", "--model", keras_file, "--objective", "conv3:1", "--size", "24", "--steps", "2",
                "--out", str(tmp_path / "x.png"))
    assert r.returncode == 2
    assert "conv" in r.stderr and "Traceback" not in r.stderr
    # the command line's advice, not the Python API's
    assert f"lucid-fast layers --model {keras_file}" in r.stderr and "model.layers()" not in r.stderr, r.stderr


def test_cli_layers(keras_file):
    r = run_cli("layers", "--model", keras_file)
    assert r.returncode == 0, r.stderr
    assert "conv2" in r.stdout and "8" in r.stdout


@pytest.mark.slow
def test_cli_readme_main_job(tmp_path):
    out = tmp_path / "out.png"
    r = run_cli("render", "--model", "vgg16_hed", "--objective", "block4_conv3:100", "--size", "128", "--steps",
                "256", "--out", str(out), timeout=1800)
    assert r.returncode == 0, r.stderr
    assert out.stat().st_size > 10_000
