"""Dot-product (adjoint) tests of every linear GPU kernel, <A x, y> = <x, A^T y>, with numpy random inputs and
float64 sums (no TensorFlow: the GPU machines do not have it). The CPU kernels pass the same tests in tests/ops;
on the GPU the scatter-adds are atomics in a different order, so this is what shows the GPU adjoints are exact
transposes there too. Tolerance TOL["dot"] (float32 with float64 sums: the CPU kernels reach 3e-8)."""
import numpy as np
import pytest

from lucid_fast import ops
from tolerances import TOL

pytestmark = pytest.mark.gpu


def _dot_rel(forward, adjoint, x_np, y_np):
    import cupy

    ax = forward(cupy.asarray(x_np))
    aty = adjoint(cupy.asarray(y_np))
    assert isinstance(ax, cupy.ndarray) and isinstance(aty, cupy.ndarray), "a GPU result is not a cupy array"
    ax, aty = cupy.asnumpy(ax).astype(np.float64), cupy.asnumpy(aty).astype(np.float64)
    lhs = float(np.sum(ax * y_np))
    rhs = float(np.sum(x_np.astype(np.float64) * aty))
    return abs(lhs - rhs) / max(np.linalg.norm(ax) * np.linalg.norm(y_np), 1e-30)


@pytest.mark.parametrize("h, w", [(16, 16), (9, 11)])
def test_fft_image_adjoint_gpu(h, w, rng):
    wf = ops.rfft2d_freqs(h, w).shape[1]
    x = rng.normal(size=(2, 2, 3, h, wf)).astype(np.float32)
    y = rng.normal(size=(2, h, w, 3)).astype(np.float32)
    rel = _dot_rel(lambda s: ops.fft_image(s, h, w, decay_power=1.2),
                   lambda g: ops.fft_image_adjoint(g, h, w, decay_power=1.2), x, y)
    assert rel < TOL["dot"], rel


@pytest.mark.parametrize("pad_mode", ["constant", "reflect", "symmetric", "edge"])
def test_affine_warp_adjoint_gpu(pad_mode, rng):
    from lucid_fast._bindings import warp_matrices as wm

    mats, out_hw = wm.standard_transform_matrices(rng, 3, 20, 18, independent=True)
    x = rng.normal(size=(3, 20, 18, 3)).astype(np.float32)
    y = rng.normal(size=(3, *out_hw, 3)).astype(np.float32)
    rel = _dot_rel(lambda a: ops.affine_warp(a, mats, out_hw=out_hw, pad_mode=pad_mode, fill_value=0.0),
                   lambda g: ops.affine_warp_adjoint(g, mats, in_hw=(20, 18), pad_mode=pad_mode), x, y)
    assert rel < TOL["dot"], rel


def test_upsample_adjoint_gpu(rng):
    x = rng.normal(size=(1, 5, 4, 3)).astype(np.float32)
    y = rng.normal(size=(3, 17, 13, 3)).astype(np.float32)
    rel = _dot_rel(lambda a: ops.upsample_bilinear(a, (17, 13), batch=3),
                   lambda g: ops.upsample_bilinear_adjoint(g, (5, 4), low_batch=1), x, y)
    assert rel < TOL["dot"], rel


def test_sample_bilinear_adjoint_gpu(rng):
    import cupy

    uv = cupy.asarray(rng.uniform(-1.5, 2.5, size=(2, 15, 13, 2)).astype(np.float32))
    x = rng.normal(size=(2, 12, 10, 3)).astype(np.float32)
    y = rng.normal(size=(2, 15, 13, 3)).astype(np.float32)
    rel = _dot_rel(lambda t: ops.sample_bilinear(t, uv),
                   lambda g: ops.sample_bilinear_adjoint(g, uv, (12, 10), batch=2), x, y)
    assert rel < TOL["dot"], rel


@pytest.mark.parametrize("decorrelate", [True, False])
def test_to_valid_rgb_linear_part_adjoint_gpu(decorrelate, rng):
    """The clip variant is affine where nothing clips: y(base + d) - y(base) = A d (as tests/ops/test_color.py)."""
    import cupy

    shape = (2, 6, 7, 4)
    base = np.full(shape, 0.5, np.float32)
    if decorrelate:
        base[..., :3] = 0.0
    base_cp = cupy.asarray(base)
    y_base = ops.to_valid_rgb(base_cp, decorrelate=decorrelate, sigmoid=False)
    d = (0.05 * rng.normal(size=shape)).astype(np.float32)
    y = rng.normal(size=shape).astype(np.float32)
    rel = _dot_rel(lambda a: ops.to_valid_rgb(base_cp + a, decorrelate=decorrelate, sigmoid=False) - y_base,
                   lambda g: ops.to_valid_rgb_adjoint(base_cp + cupy.asarray(d), g, decorrelate=decorrelate,
                                                      sigmoid=False), d, y)
    assert rel < TOL["dot"], rel
