"""to_valid_rgb: forward vs Lucid's TensorFlow code, adjoint vs tf.GradientTape (with Lucid's clip gradient),
the dot-product test of the linear part, finite differences of the sigmoid path."""
import numpy as np
import pytest
import tensorflow as tf

from adjoint import assert_close, dot_product_test, finite_difference_test
from lucid_fast import ops
from tf_reference import LUCID_MAX_NORM, LUCID_MEAN, LUCID_SVD_SQRT, to_valid_rgb_reference

# (batch, h, w, channels): batch 1 and > 1, odd and even h and w, C in {1, 2, 3, 4} (and 5).
SHAPES = [(1, 5, 7, 3), (2, 6, 4, 4), (3, 7, 9, 1), (2, 4, 5, 2), (1, 8, 6, 5)]
MODES = [(True, True), (True, False), (False, True), (False, False)]  # (decorrelate, sigmoid)

def test_color_constants_are_lucids():
    np.testing.assert_array_equal(ops.COLOR_CORRELATION_SVD_SQRT, LUCID_SVD_SQRT)
    np.testing.assert_array_equal(ops.COLOR_MEAN, np.float32(LUCID_MEAN))
    from lucid_fast._bindings.op_color import COLOR_CORRELATION_NORMALIZED

    np.testing.assert_array_equal(COLOR_CORRELATION_NORMALIZED, LUCID_SVD_SQRT / LUCID_MAX_NORM)
    assert np.isclose(np.linalg.norm(COLOR_CORRELATION_NORMALIZED, axis=0).max(), 1.0)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("decorrelate, sigmoid", MODES)
def test_color_fwd_matches_tf(shape, decorrelate, sigmoid, rng):
    x_np = (1.5 * rng.normal(size=shape)).astype(np.float32)  # the clip variant clips a good share
    y_np = ops.to_valid_rgb(x_np, decorrelate=decorrelate, sigmoid=sigmoid)
    assert y_np.shape == shape and y_np.dtype == np.float32
    ref_np = to_valid_rgb_reference(tf.constant(x_np), decorrelate, sigmoid).numpy()
    assert_close(y_np, ref_np, "fwd", f"to_valid_rgb {shape} decorrelate={decorrelate} sigmoid={sigmoid}")
    assert y_np.min() >= 0.0 and y_np.max() <= 1.0


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("decorrelate, sigmoid", MODES)
def test_color_grad_matches_tf(shape, decorrelate, sigmoid, rng):
    x_np = (1.5 * rng.normal(size=shape)).astype(np.float32)
    grad_np = rng.normal(size=shape).astype(np.float32)
    x_t = tf.constant(x_np)
    with tf.GradientTape() as tape:
        tape.watch(x_t)
        y_t = to_valid_rgb_reference(x_t, decorrelate, sigmoid)
    ref_np = tape.gradient(y_t, x_t, output_gradients=tf.constant(grad_np)).numpy()
    grad_x_np = ops.to_valid_rgb_adjoint(x_np, grad_np, decorrelate=decorrelate, sigmoid=sigmoid)
    assert_close(grad_x_np, ref_np, "grad", f"to_valid_rgb grad {shape} decorrelate={decorrelate} sigmoid={sigmoid}")


def test_color_clip_gradient_rule():
    # One channel, no decorrelation: t = 1.5 is clipped (u = 2 > 1), t = 0.25 is inside, t = -1 below.
    x_np = np.asarray([1.5, 1.5, 0.25, 0.25, -1.0, -1.0], np.float32).reshape(1, 1, 6, 1)
    grad_np = np.asarray([0.7, -0.7, 0.7, -0.7, 0.7, -0.7], np.float32).reshape(1, 1, 6, 1)
    grad_x_np = ops.to_valid_rgb_adjoint(x_np, grad_np, decorrelate=False, sigmoid=False)
    # Ascending at the top pushes outward -> 0; descending from it is straight-through; inside passes;
    # below the range, ascent (inward) passes and descent (outward) is zeroed.
    np.testing.assert_array_equal(grad_x_np.ravel(), np.float32([0.0, -0.7, 0.7, -0.7, 0.7, 0.0]))


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("decorrelate", [True, False])
def test_color_adj_dot_product(shape, decorrelate, rng):
    # The clip variant is affine where nothing clips: y(base + d) - y(base) = A d, and its adjoint is
    # to_valid_rgb_adjoint at any such point. base puts every channel mid-range (t = 0.5 before the clip,
    # which for decorrelated channels is 0 plus COLOR_MEAN, within 0.1 of 0.5).
    c = shape[3]
    base_np = np.full(shape, 0.5, np.float32)
    if decorrelate and c >= 3:
        base_np[..., :3] = 0.0
    d_np = (0.05 * rng.normal(size=shape)).astype(np.float32)
    grad_np = rng.normal(size=shape).astype(np.float32)
    y_base_np = ops.to_valid_rgb(base_np, decorrelate=decorrelate, sigmoid=False)

    def forward(d):
        return ops.to_valid_rgb(base_np + d, decorrelate=decorrelate, sigmoid=False).astype(np.float64) - y_base_np

    def adjoint(g):
        return ops.to_valid_rgb_adjoint(base_np + d_np, g, decorrelate=decorrelate, sigmoid=False)

    dot_product_test(forward, adjoint, d_np, grad_np, what=f"to_valid_rgb linear part {shape}")


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("decorrelate", [True, False])
def test_color_finite_difference(shape, decorrelate, rng):
    x_np = rng.normal(size=shape).astype(np.float32)
    grad_np = rng.normal(size=shape).astype(np.float32)
    v_np = rng.normal(size=shape).astype(np.float32)
    grad_x_np = ops.to_valid_rgb_adjoint(x_np, grad_np, decorrelate=decorrelate, sigmoid=True)

    def objective(z):
        return np.sum(ops.to_valid_rgb(z, decorrelate=decorrelate, sigmoid=True).astype(np.float64) * grad_np)

    finite_difference_test(objective, grad_x_np, x_np, v_np, eps=1e-2, what=f"to_valid_rgb sigmoid {shape}")


def test_color_outputs_are_aligned(rng):
    x_np = rng.normal(size=(2, 9, 7, 3)).astype(np.float32)
    assert ops.to_valid_rgb(x_np).ctypes.data % 64 == 0
    assert ops.to_valid_rgb_adjoint(x_np, x_np).ctypes.data % 64 == 0


@pytest.mark.parametrize("bad, match", [
    (np.zeros((2, 4, 4, 3), np.float64), "x must have dtype float32"),
    (np.zeros((4, 4, 3), np.float32), "x must have rank 4"),
    (np.zeros((2, 8, 8, 3), np.float32)[:, ::2], "x must be C-contiguous"),
    (np.zeros((0, 4, 4, 3), np.float32), "x must not be empty"),
    ("image", "x must be a numpy or cupy array"),
])
def test_color_bad_input(bad, match):
    with pytest.raises(ValueError, match="to_valid_rgb: " + match):
        ops.to_valid_rgb(bad)


@pytest.mark.parametrize("grad, match", [
    (np.zeros((1, 4, 4, 1), np.float32), r"grad_out must have the shape of x \(1, 4, 4, 3\)"),
    (np.zeros((1, 4, 4, 3), np.float64), "grad_out must have dtype float32"),
    (np.zeros((1, 4, 8, 3), np.float32)[:, :, ::2], "grad_out must be C-contiguous"),
    (None, "grad_out must be a numpy or cupy array"),
])
def test_color_adjoint_bad_input(grad, match):
    with pytest.raises(ValueError, match="to_valid_rgb_adjoint: " + match):
        ops.to_valid_rgb_adjoint(np.zeros((1, 4, 4, 3), np.float32), grad)


@pytest.mark.gpu
@pytest.mark.parametrize("shape", [(2, 17, 13, 3), (1, 16, 24, 4), (3, 9, 8, 1)])
@pytest.mark.parametrize("decorrelate, sigmoid", MODES)
def test_color_cpu_gpu_parity(shape, decorrelate, sigmoid, rng):
    import cupy

    x_np = (1.5 * rng.normal(size=shape)).astype(np.float32)
    grad_np = rng.normal(size=shape).astype(np.float32)
    y_gpu = ops.to_valid_rgb(cupy.asarray(x_np), decorrelate=decorrelate, sigmoid=sigmoid)
    g_gpu = ops.to_valid_rgb_adjoint(cupy.asarray(x_np), cupy.asarray(grad_np), decorrelate=decorrelate,
                                     sigmoid=sigmoid)
    assert isinstance(y_gpu, cupy.ndarray) and isinstance(g_gpu, cupy.ndarray)
    assert_close(cupy.asnumpy(y_gpu), ops.to_valid_rgb(x_np, decorrelate, sigmoid), "gpu", "to_valid_rgb")
    assert_close(cupy.asnumpy(g_gpu), ops.to_valid_rgb_adjoint(x_np, grad_np, decorrelate, sigmoid), "gpu",
                 "to_valid_rgb_adjoint")
