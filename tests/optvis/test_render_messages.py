"""What render_vis and ``import lucid_fast`` print: the threshold lines through the progress bar, one clean line on
Ctrl-C counting the steps the bar counts, and no TensorFlow start-up lines from Python (issue 24)."""
import os
import re
import subprocess
import sys
import warnings

import pytest
import tensorflow as tf
from tqdm import std

from lucid_fast.optvis import param, render

SIZE = 16
TF_NOISE = ("absl::InitializeLog", "cuInit", "I0000", "E0000", "W0000", "oneDNN")


@pytest.fixture(scope="module")
def tiny_model():
    tf.keras.utils.set_random_seed(0)
    x = tf.keras.Input((None, None, 3))
    y = tf.keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="conv1")(x)
    return tf.keras.Model(x, y)


def test_ctrl_c_is_one_clean_line_counting_completed_steps(tiny_model, monkeypatch, capsys):
    real_step = render.VisSession.step
    calls = {"n": 0}

    def step(self):
        calls["n"] += 1
        if calls["n"] == 4:  # three steps completed (the bar shows 3/11), the fourth interrupted
            raise KeyboardInterrupt
        return real_step(self)

    monkeypatch.setattr(render.VisSession, "step", step)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        imgs = render.render_vis(tiny_model, "conv1:1", param_f=lambda: param.image(SIZE), thresholds=(10,),
                                 verbose=False, progress=False, seed=0)
    assert len(imgs) == 1
    assert not [w for w in caught if "interrupted" in str(w.message)]  # not a warning (no source line)
    err = capsys.readouterr().err
    assert err.strip().splitlines() == [
        "render_vis: interrupted after 3 of 11 steps; returning the images so far and the current one"], err


def test_threshold_lines_go_through_the_bar(tiny_model, monkeypatch, capsys):
    """With a bar on the same terminal, each threshold line starts a line of its own (tqdm.write clears the bar
    first); a plain print ran into the bar: ``...objective 40.5]2 40.4983``."""
    monkeypatch.setattr(render, "_progress_bar",
                        lambda total, enabled: std.tqdm(total=total, file=sys.stdout, desc="render_vis",
                                                        mininterval=0) if enabled else None)
    render.render_vis(tiny_model, "conv1:1", param_f=lambda: param.image(SIZE), thresholds=(1, 3), seed=0)
    out = capsys.readouterr().out
    segments = re.split(r"[\r\n]", out)
    for t in (1, 3):
        assert any(re.fullmatch(rf"{t} -?[0-9.e+-]+", s) for s in segments), out


def _python(code, **env_extra):
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}  # as a new user's shell
    env.update(env_extra)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=600)


QUIET_CODE = """
import lucid_fast.modelzoo
from lucid_fast.optvis import render
import tensorflow as tf
tf.config.list_physical_devices()  # the device probe: cuInit runs here
print(float(tf.reduce_sum(tf.ones(3))))
"""


def test_python_start_is_quiet_and_the_users_level_wins():
    r = _python(QUIET_CODE)
    assert r.returncode == 0 and r.stdout.strip() == "3.0", r.stderr
    assert not [line for line in r.stderr.splitlines() if any(n in line for n in TF_NOISE)], r.stderr
    # the user's own TF_CPP_MIN_LOG_LEVEL wins: lucid_fast then hides nothing
    r = _python(QUIET_CODE, TF_CPP_MIN_LOG_LEVEL="0")
    assert r.returncode == 0, r.stderr
    assert [line for line in r.stderr.splitlines() if any(n in line for n in TF_NOISE)], r.stderr


def test_show_tensorflow_log_undoes_the_quiet_start():
    r = _python("import lucid_fast, os; lucid_fast.show_tensorflow_log()\n"
                "print(os.environ['TF_CPP_MIN_LOG_LEVEL'])\nimport tensorflow")
    assert r.returncode == 0 and r.stdout.strip() == "2", r.stderr
    assert "absl::InitializeLog" in r.stderr or "I0000" in r.stderr, r.stderr
