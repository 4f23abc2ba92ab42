"""Bilinear upsampling: forward vs tf.image.resize (bilinear, half-pixel, no antialias), batch and channel
broadcasts, dot-product identity, gradient vs tf.GradientTape, bad inputs, GPU parity."""
import numpy as np
import pytest
import tensorflow as tf

from adjoint import assert_close, dot_product_test
from lucid_fast import ops
from tf_reference import upsample_reference_t

# (low shape (Nl, h, w, Cl), out (H, W), batch N or None, channels C or None)
CASES = [
    ((1, 4, 5, 1), (9, 13), None, None),      # odd output, C = 1
    ((3, 6, 4, 3), (24, 16), None, None),     # batch 3, exact 4x
    ((2, 3, 3, 4), (8, 7), None, None),       # C = 4, even/odd
    ((1, 5, 6, 3), (12, 11), 3, None),        # batch broadcast 1 -> 3
    ((1, 4, 4, 1), (10, 9), 2, 3),            # batch and channel broadcast
    ((2, 7, 5, 3), (4, 3), None, None),       # downsampling (same formula, no antialias)
    ((1, 1, 1, 3), (3, 4), None, None),       # a single pixel
]


def _out_shape(low_shape, out_hw, batch, channels):
    return (batch or low_shape[0], *out_hw, channels or low_shape[3])


@pytest.mark.parametrize("low_shape, out_hw, batch, channels", CASES)
def test_upsample_fwd_matches_tf(low_shape, out_hw, batch, channels, rng):
    x_np = rng.normal(size=low_shape).astype(np.float32)
    got = ops.upsample_bilinear(x_np, out_hw, batch=batch, channels=channels)
    ref = upsample_reference_t(tf.constant(x_np), out_hw, batch, channels).numpy()
    assert_close(got, ref, "fwd", f"upsample {low_shape}->{out_hw}")
    assert got.ctypes.data % 64 == 0 and got.dtype == np.float32


def test_upsample_golden():
    # 2 pixels -> 4: half-pixel centres sample at -0.25, 0.25, 0.75, 1.25 (clamped at the ends)
    x_np = np.array([0.0, 4.0], np.float32).reshape(1, 1, 2, 1)
    got = ops.upsample_bilinear(x_np, (1, 4))
    np.testing.assert_allclose(got.ravel(), [0.0, 1.0, 3.0, 4.0])
    # same size is the identity
    x_np = np.arange(12, dtype=np.float32).reshape(1, 3, 4, 1)
    np.testing.assert_array_equal(ops.upsample_bilinear(x_np, (3, 4)), x_np)


@pytest.mark.parametrize("low_shape, out_hw, batch, channels", CASES)
def test_upsample_adj_dot_product(low_shape, out_hw, batch, channels, rng):
    x_np = rng.normal(size=low_shape).astype(np.float32)
    y_np = rng.normal(size=_out_shape(low_shape, out_hw, batch, channels)).astype(np.float32)
    dot_product_test(lambda x: ops.upsample_bilinear(x, out_hw, batch=batch, channels=channels),
                     lambda y: ops.upsample_bilinear_adjoint(y, low_shape[1:3], low_batch=low_shape[0],
                                                             low_channels=low_shape[3]),
                     x_np, y_np, what=f"upsample {low_shape}->{out_hw}")


@pytest.mark.parametrize("low_shape, out_hw, batch, channels", CASES)
def test_upsample_grad_matches_tf(low_shape, out_hw, batch, channels, rng):
    x_np = rng.normal(size=low_shape).astype(np.float32)
    g_np = rng.normal(size=_out_shape(low_shape, out_hw, batch, channels)).astype(np.float32)
    x_t = tf.constant(x_np)
    with tf.GradientTape() as tape:
        tape.watch(x_t)
        loss_t = tf.reduce_sum(upsample_reference_t(x_t, out_hw, batch, channels) * g_np)
    got = ops.upsample_bilinear_adjoint(g_np, low_shape[1:3], low_batch=low_shape[0], low_channels=low_shape[3])
    assert_close(got, tape.gradient(loss_t, x_t).numpy(), "grad", f"upsample grad {low_shape}->{out_hw}")
    assert got.ctypes.data % 64 == 0 and got.shape == low_shape


def test_upsample_adjoint_defaults_keep_batch_and_channels(rng):
    g_np = rng.normal(size=(2, 8, 6, 3)).astype(np.float32)
    assert ops.upsample_bilinear_adjoint(g_np, (4, 3)).shape == (2, 4, 3, 3)


X = np.zeros((2, 4, 4, 3), np.float32)


@pytest.mark.parametrize("args, kwargs, match", [
    ((X.astype(np.float64), (8, 8)), {}, "x_low must have dtype float32"),
    ((X[0], (8, 8)), {}, "x_low must have rank 4"),
    ((X, (8,)), {}, r"out_hw must be a \(height, width\) pair"),
    ((X, (0, 8)), {}, r"out_hw\[0\] must be an integer >= 1"),
    ((X, (8, 8)), dict(batch=3), "batch=3 needs a low-res batch of 1 or 3, got 2"),
    ((X, (8, 8)), dict(batch=0), "batch must be an integer >= 1"),
    ((X, (8, 8)), dict(channels=4), "channels=4 needs a low-res channel count of 1 or 4, got 3"),
    (([[1.0]], (8, 8)), {}, "x_low must be a numpy or cupy array"),
])
def test_upsample_bad_input(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        ops.upsample_bilinear(*args, **kwargs)


@pytest.mark.parametrize("args, kwargs, match", [
    ((X, (2, 2)), dict(low_batch=3), "low_batch must be 1 or 2"),
    ((X, (2, 2)), dict(low_channels=2), "low_channels must be 1 or 3"),
    ((X, (2, 2.0)), {}, r"low_hw\[1\] must be an integer >= 1"),
    ((X[:, ::2], (2, 2)), {}, "grad_out must be C-contiguous"),
])
def test_upsample_adjoint_bad_input(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        ops.upsample_bilinear_adjoint(*args, **kwargs)


@pytest.mark.gpu
@pytest.mark.parametrize("low_shape, out_hw, batch, channels", CASES)
def test_upsample_cpu_gpu_parity(low_shape, out_hw, batch, channels, rng):
    import cupy

    x_np = rng.normal(size=low_shape).astype(np.float32)
    y_cpu = ops.upsample_bilinear(x_np, out_hw, batch=batch, channels=channels)
    y_gpu = ops.upsample_bilinear(cupy.asarray(x_np), out_hw, batch=batch, channels=channels)
    assert isinstance(y_gpu, cupy.ndarray)
    assert_close(cupy.asnumpy(y_gpu), y_cpu, "gpu", "upsample fwd")
    g_np = rng.normal(size=y_cpu.shape).astype(np.float32)
    kw = dict(low_batch=low_shape[0], low_channels=low_shape[3])
    a_cpu = ops.upsample_bilinear_adjoint(g_np, low_shape[1:3], **kw)
    a_gpu = ops.upsample_bilinear_adjoint(cupy.asarray(g_np), low_shape[1:3], **kw)
    assert_close(cupy.asnumpy(a_gpu), a_cpu, "gpu", "upsample adj")
