"""CPU/GPU parity of every native op, with no TensorFlow import (the GPU machines have CuPy, not TF).

Each op runs on the same random inputs through the OpenMP path (numpy) and the CUDA path (cupy); results
agree to float32 tolerance (the GPU flushes denormals and contracts FMAs, so never bitwise), and every GPU result
must be a CuPy array. Skipped, with the reason, where CuPy sees no GPU; ``bash bench/gpu_check.sh`` runs these
on a GPU machine, where no usable GPU is an error instead (tests/gpu_harness.py).
"""
import math

import numpy as np
import pytest

from lucid_fast import ops
from lucid_fast._bindings import warp_matrices as wm

pytestmark = pytest.mark.gpu
RTOL, ATOL = 1e-4, 2e-5


def _close(gpu, cpu, what):
    """The GPU result must BE a CuPy array (a silent CPU fallback would compare the CPU with itself)."""
    import cupy

    assert isinstance(gpu, cupy.ndarray), f"{what}: the GPU path returned {type(gpu).__name__}, not a cupy array"
    assert isinstance(cpu, np.ndarray), f"{what}: the CPU path returned {type(cpu).__name__}"
    np.testing.assert_allclose(cupy.asnumpy(gpu), cpu, rtol=RTOL, atol=ATOL, err_msg=what)


@pytest.fixture
def cp():
    import cupy

    return cupy


SHAPES = [(1, 16, 16, 3), (3, 17, 23, 4), (2, 9, 31, 1)]


@pytest.mark.parametrize("shape", SHAPES)
def test_fft_image_parity(cp, shape, rng):
    b, h, w, c = shape
    if w < 2:
        pytest.skip("fft_image needs w >= 2")
    wf = ops.rfft2d_freqs(h, w).shape[1]
    spec = rng.normal(0, 0.1, (2, b, c, h, wf)).astype(np.float32)
    _close(ops.fft_image(cp.asarray(spec), h, w), ops.fft_image(spec, h, w), "fft_image")
    g = rng.normal(size=shape).astype(np.float32)
    _close(ops.fft_image_adjoint(cp.asarray(g), h, w), ops.fft_image_adjoint(g, h, w), "fft_image_adjoint")


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("decorrelate, sigmoid", [(True, True), (False, True), (True, False)])
def test_to_valid_rgb_parity(cp, shape, decorrelate, sigmoid, rng):
    x = rng.normal(size=shape).astype(np.float32)
    g = rng.normal(size=shape).astype(np.float32)
    kw = dict(decorrelate=decorrelate, sigmoid=sigmoid)
    _close(ops.to_valid_rgb(cp.asarray(x), **kw), ops.to_valid_rgb(x, **kw), "to_valid_rgb")
    _close(ops.to_valid_rgb_adjoint(cp.asarray(x), cp.asarray(g), **kw), ops.to_valid_rgb_adjoint(x, g, **kw),
           "to_valid_rgb_adjoint")


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("pad_mode", ["constant", "reflect", "symmetric", "edge"])
def test_affine_warp_parity(cp, shape, pad_mode, rng):
    b, h, w, c = shape
    mats, out_hw = wm.standard_transform_matrices(rng, b, h, w, independent=True)
    x = rng.normal(size=shape).astype(np.float32)
    y_cpu = ops.affine_warp(x, mats, out_hw=out_hw, pad_mode=pad_mode, fill_value=0.5)
    _close(ops.affine_warp(cp.asarray(x), cp.asarray(mats), out_hw=out_hw, pad_mode=pad_mode, fill_value=0.5),
           y_cpu, "affine_warp")
    g = rng.normal(size=y_cpu.shape).astype(np.float32)
    _close(ops.affine_warp_adjoint(cp.asarray(g), cp.asarray(mats), in_hw=(h, w), pad_mode=pad_mode),
           ops.affine_warp_adjoint(g, mats, in_hw=(h, w), pad_mode=pad_mode), "affine_warp_adjoint")


@pytest.mark.parametrize("shape", SHAPES)
def test_total_variation_parity(cp, shape, rng):
    x = rng.normal(size=shape).astype(np.float32)
    v_cpu, g_cpu = ops.total_variation(x, weight=0.3)
    v_gpu, g_gpu = ops.total_variation(cp.asarray(x), weight=0.3)
    assert isinstance(v_gpu, float) and math.isclose(v_gpu, v_cpu, rel_tol=1e-5), (v_gpu, v_cpu)
    _close(g_gpu, g_cpu, "total_variation grad")


@pytest.mark.parametrize("low, out_hw, batch", [((1, 4, 5, 3), (16, 19), 3), ((2, 7, 7, 1), (21, 14), None)])
def test_upsample_parity(cp, low, out_hw, batch, rng):
    x = rng.normal(size=low).astype(np.float32)
    y = ops.upsample_bilinear(x, out_hw, batch=batch)
    _close(ops.upsample_bilinear(cp.asarray(x), out_hw, batch=batch), y, "upsample_bilinear")
    g = rng.normal(size=y.shape).astype(np.float32)
    _close(ops.upsample_bilinear_adjoint(cp.asarray(g), low[1:3], low_batch=low[0]),
           ops.upsample_bilinear_adjoint(g, low[1:3], low_batch=low[0]), "upsample_bilinear_adjoint")


@pytest.mark.parametrize("tex_shape, uv_shape", [((64, 48, 3), (40, 30, 2)), ((2, 16, 16, 4), (1, 33, 2))])
def test_sample_bilinear_parity(cp, tex_shape, uv_shape, rng):
    tex = rng.normal(size=tex_shape).astype(np.float32)
    uv = rng.uniform(-1.5, 2.5, size=uv_shape).astype(np.float32)
    batch = tex_shape[0] if len(tex_shape) == 4 else None
    y = ops.sample_bilinear(tex, uv)
    _close(ops.sample_bilinear(cp.asarray(tex), cp.asarray(uv)), y, "sample_bilinear")
    g = rng.normal(size=y.shape).astype(np.float32)
    _close(ops.sample_bilinear_adjoint(cp.asarray(g), cp.asarray(uv), tex_shape[-3:-1], batch=batch),
           ops.sample_bilinear_adjoint(g, uv, tex_shape[-3:-1], batch=batch), "sample_bilinear_adjoint")


def test_adam_parity(cp, rng):
    shape = (2, 3, 40, 21)
    p, g = rng.normal(size=shape).astype(np.float32), rng.normal(size=shape).astype(np.float32)
    m, v = np.zeros(shape, np.float32), np.zeros(shape, np.float32)
    p_cp, g_cp, m_cp, v_cp = (cp.asarray(a) for a in (p, g, m, v))
    for t in range(1, 4):
        ops.adam_update(p, g, m, v, t, maximize=True)
        ops.adam_update(p_cp, g_cp, m_cp, v_cp, t, maximize=True)
    _close(p_cp, p, "adam param")
    _close(v_cp, v, "adam v")


def test_full_image_side_step_parity(cp, rng):
    """fft -> colour -> warp -> adjoints -> TV -> Adam, chained, on both devices."""
    from lucid_fast.bench import kernels

    b, s = 2, 40
    total_m, out_hw = kernels.chain_params(rng, s, s)
    cot = rng.normal(size=(b,) + tuple(out_hw) + (3,)).astype(np.float32)
    cpu = kernels.native_image_side(b, s, s, 3, total_m, out_hw, 1e-3)
    gpu = kernels.native_image_side(b, s, s, 3, total_m, out_hw, 1e-3, xp=cp)
    cot_al = ops.empty_aligned(cot.shape)
    cot_al[...] = cot
    for _ in range(3):
        cpu(cot_al)
        gpu(cp.asarray(cot))
    _close(gpu.spec, cpu.spec, "spectrum after 3 image-side steps")
