"""``lucid-fast render --class LABEL``: a classifier's class as the objective, by name or index, with one-line
errors for a name that is not a class (the closest names given), for a model without labels, and for --class
mixed with --objective."""
import json
import subprocess
import sys

import numpy as np
import pytest

from test_cli import ENV

pytest.importorskip("torch")

RUN = r"""
import contextlib, io, json, sys
from lucid_fast import cli
results = {}
for name, argv in json.loads(sys.argv[1]).items():
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        try:
            rc = cli.main(argv)
        except SystemExit as stop:
            rc = stop.code
    results[name] = [rc, err.getvalue()]
print(json.dumps(results))
"""


def test_class_errors_one_line_each(tmp_path, keras_file):
    out = str(tmp_path / "a.png")
    eff = ["render", "--model", "efficientnet_lite0", "--out", out, "--steps", "1", "--size", "32"]
    cases = {
        "typo": (eff + ["--class", "espreso"], ["'espreso': not a class name", "Closest: espresso"]),
        "index range": (eff + ["--class", "1000"], ["has 1000 classes (0 to 999)"]),
        "both": (eff + ["--class", "espresso", "--objective", "_fc:3"], ["either --objective", "not both"]),
        "neither": (["render", "--out", out], ["either --objective", "or neither"]),
        "not a classifier": (["render", "--model", keras_file, "--class", "cat", "--out", out],
                             ["names no logits layer", "use --objective"]),
    }
    r = subprocess.run([sys.executable, "-c", RUN, json.dumps({k: v[0] for k, v in cases.items()})],
                       capture_output=True, text=True, timeout=600, env=ENV)
    assert r.returncode == 0, r.stderr[-3000:]
    results = json.loads(r.stdout.strip().splitlines()[-1])
    for name, (_, needles) in cases.items():
        rc, err = results[name]
        assert rc == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1, (name, rc, err)
        for needle in needles:
            assert needle in err, (name, needle, err)
    assert not (tmp_path / "a.png").exists()


def test_class_render_raises_the_class_logit(tmp_path):
    """Two classes in one batch by name and by index (any case): each image's own logit rises over the render,
    above the other class's logit on that image."""
    out = tmp_path / "classes.png"
    r = subprocess.run([sys.executable, "-m", "lucid_fast", "render", "--model", "efficientnet_lite0",
                        "--class", "Espresso", "--class", "1", "--size", "64", "--steps", "24", "--save-npy",
                        "--quiet", "--out", str(out)], capture_output=True, text=True, timeout=900, env=ENV)
    assert r.returncode == 0, r.stderr[-3000:]
    images = np.load(tmp_path / "classes.npy")
    assert images.shape == (2, 64, 64, 3)

    import torch

    from lucid_fast import modelzoo

    model = modelzoo.load("efficientnet_lite0")
    assert model.labels[1] == "goldfish" and model.labels.index("espresso") == 967
    x_np = np.concatenate([images, np.full((1, 64, 64, 3), 0.5, np.float32)])
    with torch.no_grad():
        logits = model.activation_fn([model.logits_layer])(torch.from_numpy(x_np))[model.logits_layer].numpy()
    grey = logits[2]
    assert logits[0, 967] > grey[967] + 5 and logits[0, 967] > logits[0, 1]
    assert logits[1, 1] > grey[1] + 5 and logits[1, 1] > logits[1, 967]
