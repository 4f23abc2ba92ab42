"""Total variation: forward vs tf.image.total_variation, gradient vs tf.GradientTape and finite differences."""
import numpy as np
import pytest
import tensorflow as tf

from adjoint import assert_close, finite_difference_test
from lucid_fast import ops
from tf_reference import tv_reference

SHAPES = [(1, 5, 7, 1), (2, 8, 6, 3), (3, 7, 9, 4), (1, 1, 6, 3), (2, 6, 1, 4)]


@pytest.mark.parametrize("shape", SHAPES)
def test_tv_fwd_matches_tf(shape, rng):
    x_np = rng.normal(size=shape).astype(np.float32)
    value, _ = ops.total_variation(x_np)
    assert_close(value, tv_reference(tf.constant(x_np)).numpy(), "fwd", "tv value")


@pytest.mark.parametrize("shape", SHAPES)
def test_tv_grad_matches_tf(shape, rng):
    x_np = rng.normal(size=shape).astype(np.float32)
    x_t = tf.constant(x_np)
    with tf.GradientTape() as tape:
        tape.watch(x_t)
        loss_t = 0.7 * tv_reference(x_t)
    _, grad_np = ops.total_variation(x_np, weight=0.7)
    assert_close(grad_np, tape.gradient(loss_t, x_t).numpy(), "grad", "tv grad")


def test_tv_grad_accumulates_into_grad_out(rng):
    x_np = rng.normal(size=(2, 6, 5, 3)).astype(np.float32)
    base_np = rng.normal(size=x_np.shape).astype(np.float32)
    acc_np = ops.empty_aligned(x_np.shape)
    acc_np[...] = base_np
    _, alone_np = ops.total_variation(x_np, weight=-2.0)
    _, out_np = ops.total_variation(x_np, weight=-2.0, grad_out=acc_np)
    assert out_np is acc_np
    assert_close(out_np, base_np + alone_np, "fwd", "accumulated grad")


def test_tv_finite_difference(rng):
    # Distinct integers keep every difference at least 1 away from |.|'s kink at 0; TV is linear between kinks,
    # so a step as large as 0.1 (|v| < 4.5 here: changes < 0.9) has no truncation error and little roundoff.
    x_np = rng.permutation(np.arange(2 * 6 * 5 * 3)).reshape(2, 6, 5, 3).astype(np.float32)
    v_np = rng.normal(size=x_np.shape).astype(np.float32)
    assert 2 * 0.1 * np.abs(v_np).max() < 1.0
    _, grad_np = ops.total_variation(x_np)
    finite_difference_test(lambda z: ops.total_variation(z)[0], grad_np, x_np, v_np, eps=0.1, what="tv")


def test_tv_grad_is_aligned(rng):
    x_np = rng.normal(size=(1, 9, 7, 3)).astype(np.float32)
    _, grad_np = ops.total_variation(x_np)
    assert grad_np.ctypes.data % 64 == 0


@pytest.mark.parametrize("bad, match", [
    (np.zeros((2, 4, 4, 3), np.float64), "images must have dtype float32"),
    (np.zeros((4, 4, 3), np.float32), "images must have rank 4"),
    (np.zeros((2, 8, 8, 3), np.float32)[:, ::2], "images must be C-contiguous"),
    (np.zeros((0, 4, 4, 3), np.float32), "images must not be empty"),
    ([[1.0]], "images must be a numpy or cupy array"),
])
def test_tv_bad_input(bad, match):
    with pytest.raises(ValueError, match=match):
        ops.total_variation(bad)


def test_tv_bad_grad_out():
    x_np = np.zeros((1, 4, 4, 3), np.float32)
    with pytest.raises(ValueError, match="grad_out must have the shape of images"):
        ops.total_variation(x_np, grad_out=np.zeros((1, 4, 4, 1), np.float32))
    with pytest.raises(ValueError, match="grad_out is written in place"):
        ro = np.zeros((1, 4, 4, 3), np.float32)
        ro.flags.writeable = False
        ops.total_variation(x_np, grad_out=ro)
    with pytest.raises(ValueError, match="weight must be finite"):
        ops.total_variation(x_np, weight=float("nan"))


@pytest.mark.gpu
def test_tv_cpu_gpu_parity(rng):
    import cupy

    x_np = rng.normal(size=(3, 17, 13, 3)).astype(np.float32)
    v_cpu, g_cpu = ops.total_variation(x_np, weight=0.5)
    v_gpu, g_gpu = ops.total_variation(cupy.asarray(x_np), weight=0.5)
    assert_close(v_gpu, v_cpu, "gpu", "tv value")
    assert_close(cupy.asnumpy(g_gpu), g_cpu, "gpu", "tv grad")
