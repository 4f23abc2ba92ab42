"""Affine warp: forward vs tf.raw_ops.ImageProjectiveTransformV3 (and tf.pad for the pad modes), golden integer
shifts, dot-product identity, gradient vs tf.GradientTape on a TF gather reference, bad inputs, GPU parity.

TF's registered ImageProjectiveTransformV3 gradient warps the cotangent by the inverse matrix, which is not the
transpose of bilinear sampling, so gradients are checked against a TF reference built from tf.pad/tf.gather_nd
(whose gradients are exact); that reference's forward is itself checked against ImageProjectiveTransformV3.
"""
import math

import numpy as np
import pytest
import tensorflow as tf

from adjoint import assert_close, dot_product_test
from lucid_fast import ops
from tf_reference import edge_to_index, tf_pad_then_v3, tf_projective_v3, tf_warp_reference_t

PAD_MODES = ["constant", "reflect", "symmetric", "edge"]
# (N, H, W, C, Ho, Wo): batch 1 and 3, odd and even sizes, output smaller/larger than input, C in {1, 3, 4}.
CASES = [
    (1, 5, 7, 1, 5, 7),
    (3, 8, 6, 3, 7, 9),
    (2, 7, 9, 4, 6, 6),
    (3, 6, 5, 3, 8, 4),
]


def random_matrices(rng, n, in_hw, out_hw, max_angle=0.5, shift=2.0):
    """Random rotation + anisotropic scale + shear + shift about the centres, edge convention, float32 (n, 2, 3)."""
    mats = []
    for _ in range(n):
        a = rng.uniform(-max_angle, max_angle)
        lin = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
        lin = lin @ np.array([[rng.uniform(0.7, 1.4), rng.uniform(-0.2, 0.2)], [0.0, rng.uniform(0.7, 1.4)]])
        c_in = np.array([in_hw[1] / 2.0, in_hw[0] / 2.0])
        c_out = np.array([out_hw[1] / 2.0, out_hw[0] / 2.0])
        t = c_in - lin @ c_out + rng.uniform(-shift, shift, size=2)
        mats.append(np.concatenate([lin, t[:, None]], axis=1))
    return np.asarray(mats, dtype=np.float32)


def _case(rng, case):
    n, h, w, c, ho, wo = case
    x_np = rng.uniform(-1, 1, size=(n, h, w, c)).astype(np.float32)
    mats = random_matrices(rng, n, (h, w), (ho, wo))
    return x_np, mats, (ho, wo)


#------------------------------------------------------------------------
# Forward

@pytest.mark.parametrize("case", CASES)
def test_warp_fwd_matches_tf_constant(case, rng):
    x_np, mats, out_hw = _case(rng, case)
    got = ops.affine_warp(x_np, mats, out_hw, pad_mode="constant", fill_value=0.5)
    assert_close(got, tf_projective_v3(x_np, mats, out_hw, fill_value=0.5), "fwd", "warp constant vs V3")
    ref_t = tf_warp_reference_t(tf.constant(x_np), mats, out_hw, "constant", 0.5)
    assert_close(got, ref_t.numpy(), "fwd", "warp constant vs gather reference")


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("mode", ["reflect", "symmetric"])
def test_warp_fwd_matches_tf_pad_modes(case, mode, rng):
    x_np, mats, out_hw = _case(rng, case)
    mats[0, :, 2] += (5.0, -4.0)  # push taps far outside, past one mirror image on some axes
    got = ops.affine_warp(x_np, mats, out_hw, pad_mode=mode)
    assert_close(got, tf_pad_then_v3(x_np, mats, out_hw, mode), "fwd", f"warp {mode} vs tf.pad + V3")
    ref_t = tf_warp_reference_t(tf.constant(x_np), mats, out_hw, mode)
    assert_close(got, ref_t.numpy(), "fwd", f"warp {mode} vs gather reference")


@pytest.mark.parametrize("case", CASES)
def test_warp_fwd_matches_tf_edge(case, rng):
    # For bilinear sampling, V3's NEAREST fill mode (clamp the coordinate) equals clamping the taps.
    x_np, mats, out_hw = _case(rng, case)
    got = ops.affine_warp(x_np, mats, out_hw, pad_mode="edge")
    assert_close(got, tf_projective_v3(x_np, mats, out_hw, fill_mode="NEAREST"), "fwd", "warp edge vs V3 NEAREST")
    ref_t = tf_warp_reference_t(tf.constant(x_np), mats, out_hw, "edge")
    assert_close(got, ref_t.numpy(), "fwd", "warp edge vs gather reference")


def test_warp_per_channel_fill(rng):
    x_np, mats, out_hw = _case(rng, (2, 6, 7, 3, 8, 8))
    fill = (0.25, -1.0, 2.0)
    got = ops.affine_warp(x_np, mats, out_hw, fill_value=fill)
    for ch, f in enumerate(fill):
        ref = tf_projective_v3(np.ascontiguousarray(x_np[..., ch:ch + 1]), mats, out_hw, fill_value=f)
        assert_close(got[..., ch:ch + 1], ref, "fwd", f"per-channel fill, channel {ch}")
    # C > 4 works with a scalar (or all-equal) fill
    x5 = rng.normal(size=(1, 4, 5, 6)).astype(np.float32)
    m5 = random_matrices(rng, 1, (4, 5), (4, 5))
    a = ops.affine_warp(x5, m5, fill_value=0.3)
    b = ops.affine_warp(x5, m5, fill_value=[0.3] * 6)
    np.testing.assert_array_equal(a, b)
    assert_close(a, tf_projective_v3(x5, m5, (4, 5), fill_value=0.3), "fwd", "C=6 scalar fill")


def test_warp_broadcast_matrix_and_dtypes(rng):
    x_np = rng.normal(size=(3, 6, 5, 3)).astype(np.float32)
    m = random_matrices(rng, 1, (6, 5), (6, 5))
    one = ops.affine_warp(x_np, m[0])
    tiled = ops.affine_warp(x_np, np.repeat(m, 3, axis=0))
    np.testing.assert_array_equal(one, tiled)
    as64 = ops.affine_warp(x_np, m[0].astype(np.float64))
    assert_close(as64, one, "fwd", "float64 matrices")
    assert one.ctypes.data % 64 == 0 and one.dtype == np.float32 and one.shape == (3, 6, 5, 3)


def test_warp_identity_copies_exactly(rng):
    x_np = rng.normal(size=(2, 7, 4, 3)).astype(np.float32)
    eye = np.array([[1, 0, 0], [0, 1, 0]], np.float32)
    for mode in PAD_MODES:
        np.testing.assert_array_equal(ops.affine_warp(x_np, eye, pad_mode=mode, fill_value=9.0), x_np)


#------------------------------------------------------------------------
# Golden tensors: integer shifts on a 3x3 image 1..9 (Lucent style)

IMG3 = np.arange(1, 10, dtype=np.float32).reshape(1, 3, 3, 1)


def _shift(tx, ty):
    return np.array([[1, 0, tx], [0, 1, ty]], np.float32)


@pytest.mark.parametrize("mode, tx, expected_rows", [
    ("constant", 1, [[2, 3, 0], [5, 6, 0], [8, 9, 0]]),
    ("reflect", 1, [[2, 3, 2], [5, 6, 5], [8, 9, 8]]),
    ("symmetric", 1, [[2, 3, 3], [5, 6, 6], [8, 9, 9]]),
    ("edge", 1, [[2, 3, 3], [5, 6, 6], [8, 9, 9]]),
    ("constant", -2, [[0, 0, 1], [0, 0, 4], [0, 0, 7]]),
    ("reflect", -2, [[3, 2, 1], [6, 5, 4], [9, 8, 7]]),
    ("symmetric", -2, [[2, 1, 1], [5, 4, 4], [8, 7, 7]]),
    ("edge", -2, [[1, 1, 1], [4, 4, 4], [7, 7, 7]]),
    ("reflect", 5, [[2, 3, 2], [5, 6, 5], [8, 9, 8]]),    # far taps: periodic reflection (period 4)
    ("symmetric", 5, [[1, 1, 2], [4, 4, 5], [7, 7, 8]]),  # period 6
])
def test_warp_golden_integer_shift(mode, tx, expected_rows):
    got = ops.affine_warp(IMG3, _shift(tx, 0), pad_mode=mode, fill_value=0.0)
    np.testing.assert_array_equal(got[0, :, :, 0], np.array(expected_rows, np.float32))


def test_warp_golden_vertical_shift_and_half_pixel():
    got = ops.affine_warp(IMG3, _shift(0, -1), fill_value=0.5)
    np.testing.assert_array_equal(got[0, :, :, 0], [[0.5, 0.5, 0.5], [1, 2, 3], [4, 5, 6]])
    # half a pixel right: the mean of horizontal neighbours; the last column blends with the fill
    got = ops.affine_warp(IMG3, _shift(0.5, 0), fill_value=0.0)
    np.testing.assert_allclose(got[0, :, :, 0], [[1.5, 2.5, 1.5], [4.5, 5.5, 3.0], [7.5, 8.5, 4.5]])
    # 2x downscale of a 4x4 image: each output pixel is the mean of a 2x2 block
    img4 = np.arange(16, dtype=np.float32).reshape(1, 4, 4, 1)
    got = ops.affine_warp(img4, np.array([[2, 0, 0], [0, 2, 0]], np.float32), out_hw=(2, 2))
    np.testing.assert_allclose(got[0, :, :, 0], [[2.5, 4.5], [10.5, 12.5]])


def test_warp_size_one_axes():
    # a 1-pixel axis: reflect/symmetric/edge all read index 0; constant blends with the fill
    x_np = np.array([[[[1.0], [2.0], [3.0]]]], np.float32)  # (1, 1, 3, 1)
    for mode in ("reflect", "symmetric", "edge"):
        got = ops.affine_warp(x_np, _shift(0, 0.5), pad_mode=mode)
        np.testing.assert_array_equal(got, x_np)
    got = ops.affine_warp(x_np, _shift(0, 0.5), pad_mode="constant", fill_value=0.0)
    np.testing.assert_allclose(got, 0.5 * x_np)


#------------------------------------------------------------------------
# Adjoint

@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("mode", PAD_MODES)
def test_warp_adj_dot_product(case, mode, rng):
    x_np, mats, out_hw = _case(rng, case)
    mats[-1, :, 2] += (4.0, 3.0)
    y_np = rng.normal(size=(x_np.shape[0], *out_hw, x_np.shape[3])).astype(np.float32)
    dot_product_test(lambda x: ops.affine_warp(x, mats, out_hw, pad_mode=mode, fill_value=0.0),
                     lambda y: ops.affine_warp_adjoint(y, mats, x_np.shape[1:3], pad_mode=mode),
                     x_np, y_np, what=f"warp {mode}")


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("mode", PAD_MODES)
def test_warp_grad_matches_tf(case, mode, rng):
    x_np, mats, out_hw = _case(rng, case)
    x_t = tf.constant(x_np)
    g_np = rng.normal(size=(x_np.shape[0], *out_hw, x_np.shape[3])).astype(np.float32)
    with tf.GradientTape() as tape:
        tape.watch(x_t)
        loss_t = tf.reduce_sum(tf_warp_reference_t(x_t, mats, out_hw, mode, 0.5) * g_np)
    got = ops.affine_warp_adjoint(g_np, mats, x_np.shape[1:3], pad_mode=mode)
    assert_close(got, tape.gradient(loss_t, x_t).numpy(), "grad", f"warp {mode} grad")
    assert got.ctypes.data % 64 == 0 and got.shape == x_np.shape


def test_warp_grad_matches_tf_v3_tape_for_integer_shifts(rng):
    # For integer shifts TF's registered V3 gradient (an inverse warp) is the exact transpose, so the tape on
    # ImageProjectiveTransformV3 itself can serve as the reference.
    x_np = rng.normal(size=(3, 6, 7, 3)).astype(np.float32)
    mats = np.stack([_shift(2, -1), _shift(-3, 0), _shift(1, 4)])
    flat = edge_to_index(mats).reshape(-1, 9)[:, :8].astype(np.float32)
    g_np = rng.normal(size=x_np.shape).astype(np.float32)
    x_t = tf.constant(x_np)
    with tf.GradientTape() as tape:
        tape.watch(x_t)
        y_t = tf.raw_ops.ImageProjectiveTransformV3(
            images=x_t, transforms=flat, output_shape=[6, 7], fill_value=0.5, interpolation="BILINEAR",
            fill_mode="CONSTANT")
        loss_t = tf.reduce_sum(y_t * g_np)
    got = ops.affine_warp_adjoint(g_np, mats, (6, 7))
    assert_close(got, tape.gradient(loss_t, x_t).numpy(), "grad", "integer shifts vs V3 tape")


def test_warp_adjoint_of_integer_shift_is_reverse_shift(rng):
    g_np = rng.normal(size=(1, 5, 6, 2)).astype(np.float32)
    got = ops.affine_warp_adjoint(g_np, _shift(2, 1), (5, 6))
    expected = np.zeros_like(g_np)
    expected[:, 1:, 2:] = g_np[:, :-1, :-2]
    np.testing.assert_array_equal(got, expected)


#------------------------------------------------------------------------
# Bad input

# (WarpParams against its Python mirrors, field by field: tests/ops/test_param_layouts.py)

X4 = np.zeros((2, 4, 5, 3), np.float32)
M2 = np.tile(np.array([[[1, 0, 0], [0, 1, 0]]], np.float32), (2, 1, 1))


@pytest.mark.parametrize("kwargs, match", [
    (dict(images=X4.astype(np.float64)), "images must have dtype float32"),
    (dict(images=X4[0]), "images must have rank 4"),
    (dict(images=np.zeros((2, 8, 5, 3), np.float32)[:, ::2]), "images must be C-contiguous"),
    (dict(matrices=M2[:1].repeat(3, axis=0)), r"matrices must have shape \(2, 2, 3\)"),
    (dict(matrices=np.zeros((2, 3, 3), np.float32)), r"matrices must have shape \(2, 2, 3\)"),
    (dict(matrices=np.full((2, 3), np.nan, np.float32)), "matrices contains NaN or inf"),
    (dict(matrices=M2.astype(np.int32)), "matrices must have dtype float32"),
    (dict(matrices=[[1, 0, 0], [0, 1, 0]]), "matrices must be a numpy or cupy array"),
    (dict(out_hw=(0, 4)), r"out_hw\[0\] must be an integer >= 1"),
    (dict(out_hw=(4, 2.5)), r"out_hw\[1\] must be an integer >= 1"),
    (dict(out_hw=4), "out_hw must be a \\(height, width\\) pair"),
    (dict(pad_mode="wrap"), r"pad_mode must be one of \['constant', 'edge', 'reflect', 'symmetric'\]"),
    (dict(fill_value=float("inf")), "fill_value must be finite"),
    (dict(fill_value=(0.1, 0.2)), "fill_value must be a float or a sequence of C=3 floats"),
    (dict(fill_value="grey"), "fill_value must be a real number"),
])
def test_warp_bad_input(kwargs, match):
    args = dict(images=X4, matrices=M2)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        ops.affine_warp(args.pop("images"), args.pop("matrices"), **args)


def test_warp_bad_per_channel_fill_for_many_channels():
    x5 = np.zeros((1, 4, 4, 5), np.float32)
    with pytest.raises(ValueError, match="per-channel fill_value supports C <= 4"):
        ops.affine_warp(x5, M2[0], fill_value=[0.1, 0.2, 0.3, 0.4, 0.5])


@pytest.mark.parametrize("kwargs, match", [
    (dict(grad_out=X4.astype(np.float16)), "grad_out must have dtype float32"),
    (dict(in_hw=(4,)), "in_hw must be a \\(height, width\\) pair"),
    (dict(in_hw=(4, -1)), r"in_hw\[1\] must be an integer >= 1"),
    (dict(matrices=M2[:1]), r"matrices must have shape \(2, 2, 3\)"),
    (dict(pad_mode=None), "pad_mode must be one of"),
])
def test_warp_adjoint_bad_input(kwargs, match):
    args = dict(grad_out=X4, matrices=M2, in_hw=(4, 5))
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        ops.affine_warp_adjoint(args.pop("grad_out"), args.pop("matrices"), **args)


#------------------------------------------------------------------------
# GPU

@pytest.mark.gpu
@pytest.mark.parametrize("mode", PAD_MODES)
def test_warp_cpu_gpu_parity(mode, rng):
    import cupy

    x_np, mats, out_hw = _case(rng, (3, 17, 13, 3, 15, 19))
    mats[1, :, 2] += (6.0, -5.0)
    fill = (0.5, -0.25, 1.0)
    y_cpu = ops.affine_warp(x_np, mats, out_hw, pad_mode=mode, fill_value=fill)
    y_gpu = ops.affine_warp(cupy.asarray(x_np), cupy.asarray(mats), out_hw, pad_mode=mode, fill_value=fill)
    assert isinstance(y_gpu, cupy.ndarray)
    assert_close(cupy.asnumpy(y_gpu), y_cpu, "gpu", f"warp fwd {mode}")
    g_np = rng.normal(size=y_cpu.shape).astype(np.float32)
    a_cpu = ops.affine_warp_adjoint(g_np, mats, x_np.shape[1:3], pad_mode=mode)
    a_gpu = ops.affine_warp_adjoint(cupy.asarray(g_np), mats, x_np.shape[1:3], pad_mode=mode)
    assert_close(cupy.asnumpy(a_gpu), a_cpu, "gpu", f"warp adj {mode}")
