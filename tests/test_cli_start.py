"""The first minute of the lucid-fast command: quiet TensorFlow start-up, one-line errors, --preset fast."""
import os
import subprocess
import sys
import urllib.error

import numpy as np
import pytest

from lucid_fast import cli
from lucid_fast.modelzoo import _download

ENV = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}  # as a new user's shell
TF_NOISE = ("absl::InitializeLog", "cuInit", "I0000", "E0000", "W0000")


def run_cli(*args, timeout=600):
    return subprocess.run([sys.executable, "-m", "lucid_fast", *args], capture_output=True, text=True,
                          timeout=timeout, env=ENV)


def test_quiet_start_then_verbose(tmp_path, keras_file):
    """Without --verbose, stderr has none of TensorFlow's C++ start-up lines; with it, they are there (so the
    quiet run really hid something). The --preset fast render is reproducible (--verbose changes no result)."""
    outs = []
    for k, extra in enumerate(([], ["--verbose"])):
        out = tmp_path / f"p{k}.png"
        r = run_cli("render", "--model", keras_file, "--objective", "conv2:3", "--size", "16", "--preset", "fast",
                    "--seed", "2", "--out", str(out), "--save-npy", "--quiet", *extra)
        assert r.returncode == 0, r.stderr
        noise = [line for line in r.stderr.splitlines() if any(n in line for n in TF_NOISE)]
        if extra:
            assert noise, r.stderr
        else:
            assert not noise, r.stderr
        outs.append(np.load(out.with_suffix(".npy")))
    np.testing.assert_array_equal(outs[0], outs[1])


@pytest.mark.parametrize("extra, message", [
    (["--steps", "10"], "drop --steps"),
    (["--no-transforms"], "drop --no-transforms"),
])
def test_preset_refuses_steps_and_transforms(capsys, extra, message):
    assert cli.main(["render", "--objective", "block4_conv3:1", "--preset", "fast", *extra]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_model_not_cached_offline_is_one_line(tmp_path, monkeypatch, capfd):
    def refuse(url, timeout=60):
        raise urllib.error.URLError("no network in this test")

    monkeypatch.setenv("LUCID_FAST_CACHE", str(tmp_path))
    monkeypatch.setattr(_download, "_urlopen", refuse)
    assert cli.main(["layers", "--model", "inceptionv1"]) == 2
    err = capfd.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "not in the cache" in lines[0] and "Traceback" not in err, err


def test_import_sets_passive_openmp_waiting_before_torch_loads():
    """``import lucid_fast`` sets OMP_WAIT_POLICY=PASSIVE unless the user chose a policy, so that PyTorch's OpenMP
    runtime, which reads it when torch is imported, sleeps between parallel regions (spinning threads made torch
    steps 100x slower beside one busy process on 2 cores); the user's value wins."""
    code = ("import os, sys; import lucid_fast; import torch; "
            "print(os.environ.get('OMP_WAIT_POLICY'), 'torch' in sys.modules)")
    env = {k: v for k, v in ENV.items() if k != "OMP_WAIT_POLICY"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=env)
    assert out.returncode == 0 and out.stdout.split() == ["PASSIVE", "True"], out.stderr
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                         env=dict(env, OMP_WAIT_POLICY="ACTIVE"))
    assert out.returncode == 0 and out.stdout.split() == ["ACTIVE", "True"], out.stderr
