"""The two CPU builds (bindings/_cpu.py: baseline x86-64 and x86-64-v3) compute the same results.

The rest of tests/ops checks the build this machine imports against TensorFlow; this test runs every op on
the same inputs under each build, in subprocesses (the build is chosen at import), and compares them.
"""
import os
import subprocess
import sys

import numpy as np
import pytest

from lucid_fast._bindings import _cpu

SCRIPT = r"""
import sys
import numpy as np
from lucid_fast import ops
from lucid_fast._bindings import _cpu

rng = np.random.default_rng(7)
out = {}
b, h, w = 2, 21, 18
wf = ops.rfft2d_freqs(h, w).shape[1]
spec = ops.empty_aligned((2, b, 4, h, wf)); spec[...] = rng.normal(0, 1, spec.shape)
img = ops.fft_image(spec, h, w)
out["fft"] = img
out["fft_adj"] = ops.fft_image_adjoint(np.ascontiguousarray(rng.normal(size=img.shape), np.float32), h, w)
for sig in (True, False):
    y = ops.to_valid_rgb(img, decorrelate=True, sigmoid=sig)
    out[f"rgb{sig}"] = y
    out[f"rgb_adj{sig}"] = ops.to_valid_rgb_adjoint(img, np.ascontiguousarray(rng.normal(size=y.shape), np.float32),
                                                   decorrelate=True, sigmoid=sig)
rgb = np.ascontiguousarray(out["rgbTrue"][..., :3])
mats, size = ops.standard_transform_matrices(rng, b, h, w, independent=True)
for mode in ("constant", "reflect"):
    warped = ops.affine_warp(rgb, mats, out_hw=size, pad_mode=mode, fill_value=0.5)
    out["warp" + mode] = warped
    out["warp_adj" + mode] = ops.affine_warp_adjoint(
        np.ascontiguousarray(rng.normal(size=warped.shape), np.float32), mats, in_hw=(h, w), pad_mode=mode)
tv, g = ops.total_variation(rgb)
out["tv"] = np.float64(tv); out["tv_grad"] = g
low = np.ascontiguousarray(rng.normal(size=(b, 5, 6, 3)), np.float32)
up = ops.upsample_bilinear(low, (h, w))
out["up"] = up
out["up_adj"] = ops.upsample_bilinear_adjoint(np.ascontiguousarray(rng.normal(size=up.shape), np.float32), (5, 6))
p = ops.empty_aligned((1000,)); p[...] = rng.normal(size=1000)
m, v = ops.zeros_aligned((1000,)), ops.zeros_aligned((1000,))
for t in range(1, 4):
    ops.adam_update(p, np.ascontiguousarray(rng.normal(size=1000), np.float32), m, v, t)
out["adam"] = p
np.savez(sys.argv[1], build=_cpu.BUILD, **out)
"""


def _run(build, path):
    env = dict(os.environ, LUCID_FAST_CPU=build)
    subprocess.run([sys.executable, "-c", SCRIPT, str(path)], check=True, env=env, timeout=300)
    return np.load(path)


@pytest.mark.skipif(not _cpu._cpu_has_avx2(), reason="this CPU cannot run the x86-64-v3 build")
def test_baseline_and_avx2_builds_agree(tmp_path):
    base = _run("baseline", tmp_path / "base.npz")
    avx2 = _run("avx2", tmp_path / "avx2.npz")
    assert str(base["build"]) == "baseline" and str(avx2["build"]) == "avx2"
    keys = [k for k in base.files if k != "build"]
    assert len(keys) == 15
    for k in keys:
        # float32 rounding differs between the builds (instruction selection, e.g. a warp coordinate one ulp
        # apart moves its bilinear weights by ~1e-6): allow that, relative to each output's magnitude
        scale = float(np.max(np.abs(base[k])))
        np.testing.assert_allclose(avx2[k], base[k], rtol=2e-5, atol=2e-5 * scale, err_msg=k)


def test_bad_build_name_is_refused():
    env = dict(os.environ, LUCID_FAST_CPU="sse9")
    r = subprocess.run([sys.executable, "-c", "from lucid_fast._bindings import _cpu"], env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode != 0
    assert "LUCID_FAST_CPU must be auto, avx2 or baseline, got 'sse9'" in r.stderr
