"""The plain install never imports torch: importing lucid_fast, listing the modelzoo (PyTorch entries included),
the static layer tables and a TensorFlow render leave ``torch`` out of ``sys.modules``."""
import os
import subprocess
import sys

CODE = r"""
import sys
import lucid_fast
import lucid_fast.modelzoo as modelzoo
from lucid_fast.optvis import objectives, param, render, transform
rows = modelzoo.list_models()
assert {m.framework for m in rows} == {"tensorflow", "torch"}, rows
modelzoo.layer_info("vgg16_hed"); modelzoo.layer_info("vgg16_hed_torch"); modelzoo.layer_info("inceptionv1")
modelzoo.is_model_name("efficientnet_lite0")
import numpy as np, tensorflow as tf
x = tf.keras.Input((None, None, 3))
y = tf.keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="conv")(x)
model = tf.keras.Model(x, y)
images = render.render_vis(model, "conv:1", param_f=lambda: param.image(16), thresholds=(2,), verbose=False,
                           progress=False, seed=0)
assert np.asarray(images[-1]).shape[-1] == 3
bad = sorted(k for k in sys.modules if k == "torch" or k.startswith("torch."))
print("TORCH" if bad else "CLEAN", bad[:5])
"""


def test_plain_paths_do_not_import_torch():
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "TF_CPP_MIN_LOG_LEVEL": "2"}
    r = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, timeout=600, env=env)
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stdout.strip().splitlines()[-1].startswith("CLEAN"), r.stdout


def test_cli_lists_models_with_framework(capsys):
    from lucid_fast import cli

    assert cli.main(["models"]) == 0
    out = capsys.readouterr().out
    rows = {line.split()[0]: line.split()[1] for line in out.splitlines()[1:] if line[:1].strip()}
    assert rows["vgg16_hed"] == "tensorflow" and rows["efficientnet_lite0"] == "torch"
    assert rows["vgg16_hed_torch"] == "torch" and rows["inceptionv1_lucent"] == "torch"
