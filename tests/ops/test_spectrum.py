"""fft_image: forward vs Lucid's TensorFlow code path, the adjoint by the dot-product test and vs tf.GradientTape."""
import numpy as np
import pytest
import tensorflow as tf

from adjoint import assert_close, dot_product_test
from lucid_fast import ops
from tf_reference import fft_image_reference, lucid_rfft2d_freqs

# (batch, channels, h, w): batch 1 and > 1, odd and even h and w, C in {1, 3, 4}.
SHAPES = [(1, 3, 8, 8), (2, 1, 7, 9), (3, 4, 6, 5), (1, 4, 9, 6), (2, 3, 5, 7), (1, 1, 1, 4), (2, 3, 4, 2)]
SPECTRUM_SD = 0.1  # keeps image values O(1), where the float32 tolerances of tests/tolerances.py apply


def random_spectrum(rng, b, c, h, w):
    wf = lucid_rfft2d_freqs(h, w).shape[1]
    return (SPECTRUM_SD * rng.normal(size=(2, b, c, h, wf))).astype(np.float32)


@pytest.mark.parametrize("h, w", [(1, 1), (4, 6), (5, 7), (8, 3), (224, 224), (7, 225)])
def test_rfft2d_freqs_matches_lucid(h, w):
    freqs = ops.rfft2d_freqs(h, w)
    ref = lucid_rfft2d_freqs(h, w)
    assert freqs.shape == ref.shape
    np.testing.assert_array_equal(freqs, ref)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("decay_power", [1.0, 1.5])
def test_fft_image_fwd_matches_tf(shape, decay_power, rng):
    b, c, h, w = shape
    spectrum_np = random_spectrum(rng, b, c, h, w)
    image_np = ops.fft_image(spectrum_np, h, w, decay_power=decay_power)
    assert image_np.shape == (b, h, w, c) and image_np.dtype == np.float32
    ref_np = fft_image_reference(tf.constant(spectrum_np), h, w, decay_power).numpy()
    assert_close(image_np, ref_np, "fwd", f"fft_image {shape}")


def test_fft_image_lucid_scale_magnitudes(rng):
    # The frequency scale really is applied: a unit DC coefficient gives a constant image of value
    # 0.25 * max(h, w) * sqrt(h w) / (h w) (irfft2 divides by h * w).
    b, c, h, w = 1, 1, 6, 10
    spectrum_np = np.zeros((2, b, c, h, w // 2 + 1), np.float32)
    spectrum_np[0, 0, 0, 0, 0] = 1.0
    image_np = ops.fft_image(spectrum_np, h, w)
    np.testing.assert_allclose(image_np, 0.25 * 10 * np.sqrt(60) / 60, rtol=1e-6)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("decay_power", [1.0, 0.5])
def test_fft_image_adj_dot_product(shape, decay_power, rng):
    b, c, h, w = shape
    spectrum_np = random_spectrum(rng, b, c, h, w)
    grad_np = rng.normal(size=(b, h, w, c)).astype(np.float32)
    dot_product_test(lambda s: ops.fft_image(s, h, w, decay_power),
                     lambda g: ops.fft_image_adjoint(g, h, w, decay_power),
                     spectrum_np, grad_np, what=f"fft_image {shape}")


@pytest.mark.parametrize("shape", SHAPES)
def test_fft_image_grad_matches_tf(shape, rng):
    b, c, h, w = shape
    spectrum_t = tf.constant(random_spectrum(rng, b, c, h, w))
    grad_np = rng.normal(size=(b, h, w, c)).astype(np.float32)
    with tf.GradientTape() as tape:
        tape.watch(spectrum_t)
        image_t = fft_image_reference(spectrum_t, h, w)
    ref_np = tape.gradient(image_t, spectrum_t, output_gradients=tf.constant(grad_np)).numpy()
    grad_spectrum_np = ops.fft_image_adjoint(grad_np, h, w)
    assert grad_spectrum_np.shape == ref_np.shape
    assert_close(grad_spectrum_np, ref_np, "grad", f"fft_image grad {shape}")


def test_fft_image_outputs_are_aligned(rng):
    b, c, h, w = 2, 3, 9, 7
    image_np = ops.fft_image(random_spectrum(rng, b, c, h, w), h, w)
    grad_np = ops.fft_image_adjoint(image_np, h, w)
    assert image_np.ctypes.data % 64 == 0 and grad_np.ctypes.data % 64 == 0
    assert image_np.flags.c_contiguous and grad_np.flags.c_contiguous


def test_fft_image_does_not_modify_inputs(rng):
    b, c, h, w = 2, 3, 8, 7
    spectrum_np = random_spectrum(rng, b, c, h, w)
    grad_np = rng.normal(size=(b, h, w, c)).astype(np.float32)
    spectrum_copy, grad_copy = spectrum_np.copy(), grad_np.copy()
    ops.fft_image(spectrum_np, h, w)
    ops.fft_image_adjoint(grad_np, h, w)
    np.testing.assert_array_equal(spectrum_np, spectrum_copy)
    np.testing.assert_array_equal(grad_np, grad_copy)


@pytest.mark.parametrize("bad, h, w, match", [
    (np.zeros((2, 1, 3, 8, 5), np.float64), 8, 8, "spectrum must have dtype float32"),
    (np.zeros((1, 3, 8, 5), np.float32), 8, 8, "spectrum must have rank 5"),
    (np.zeros((2, 1, 3, 8, 4), np.float32), 8, 8, r"spectrum must have shape \(2, \*, \*, 8, 5\)"),
    (np.zeros((2, 1, 3, 8, 5), np.float32), 8, 9, r"spectrum must have shape \(2, \*, \*, 8, 6\)"),
    (np.zeros((3, 1, 3, 8, 5), np.float32), 8, 8, r"spectrum must have shape \(2, "),
    (np.zeros((2, 1, 3, 8, 10), np.float32)[..., ::2], 8, 8, "spectrum must be C-contiguous"),
    (np.zeros((2, 0, 3, 8, 5), np.float32), 8, 8, "spectrum must not be empty"),
    (np.zeros((2, 1, 3, 8, 5), np.float32), 0, 8, "h must be an integer >= 1"),
    (np.zeros((2, 1, 3, 8, 5), np.float32), 8, 8.0, "w must be an integer >= 2"),
    (np.zeros((2, 1, 3, 8, 2), np.float32), 8, 1, "w must be an integer >= 2"),
    ([[1.0]], 8, 8, "spectrum must be a numpy or cupy array"),
])
def test_fft_image_bad_input(bad, h, w, match):
    with pytest.raises(ValueError, match="fft_image: " + match):
        ops.fft_image(bad, h, w)


def test_fft_image_bad_decay_power():
    with pytest.raises(ValueError, match="fft_image: decay_power must be finite"):
        ops.fft_image(np.zeros((2, 1, 3, 8, 5), np.float32), 8, 8, decay_power=float("inf"))


@pytest.mark.parametrize("bad, h, w, match", [
    (np.zeros((1, 8, 8, 3), np.float64), 8, 8, "grad_image must have dtype float32"),
    (np.zeros((8, 8, 3), np.float32), 8, 8, "grad_image must have rank 4"),
    (np.zeros((1, 8, 7, 3), np.float32), 8, 8, r"grad_image must have shape \(\*, 8, 8, \*\)"),
    (np.zeros((1, 8, 16, 3), np.float32)[:, :, ::2], 8, 8, "grad_image must be C-contiguous"),
    (np.zeros((1, 8, 8, 3), np.float32), 8, -1, "w must be an integer >= 2"),
])
def test_fft_image_adjoint_bad_input(bad, h, w, match):
    with pytest.raises(ValueError, match="fft_image_adjoint: " + match):
        ops.fft_image_adjoint(bad, h, w)


def test_rfft2d_freqs_bad_input():
    with pytest.raises(ValueError, match="rfft2d_freqs: w must be an integer >= 1"):
        ops.rfft2d_freqs(4, 0)


@pytest.mark.gpu
@pytest.mark.parametrize("shape", [(2, 3, 17, 13), (1, 4, 16, 24), (4, 3, 224, 224)])
def test_fft_image_cpu_gpu_parity(shape, rng):
    import cupy

    b, c, h, w = shape
    spectrum_np = random_spectrum(rng, b, c, h, w)
    grad_np = rng.normal(size=(b, h, w, c)).astype(np.float32)
    image_gpu = ops.fft_image(cupy.asarray(spectrum_np), h, w, decay_power=1.2)
    grad_gpu = ops.fft_image_adjoint(cupy.asarray(grad_np), h, w, decay_power=1.2)
    assert isinstance(image_gpu, cupy.ndarray) and isinstance(grad_gpu, cupy.ndarray)
    assert_close(cupy.asnumpy(image_gpu), ops.fft_image(spectrum_np, h, w, decay_power=1.2), "gpu", "fft_image")
    assert_close(cupy.asnumpy(grad_gpu), ops.fft_image_adjoint(grad_np, h, w, decay_power=1.2), "gpu",
                 "fft_image_adjoint")
    # The GPU pair is an exact transpose too (cuFFT assumes Hermitian DC/Nyquist columns; the scale kernel
    # makes them so), and matches TensorFlow on a spectrum that is not Hermitian there.
    dot_product_test(lambda s: cupy.asnumpy(ops.fft_image(cupy.asarray(s), h, w)),
                     lambda g: cupy.asnumpy(ops.fft_image_adjoint(cupy.asarray(g), h, w)),
                     spectrum_np, grad_np, what="fft_image gpu")
    ref_np = fft_image_reference(tf.constant(spectrum_np), h, w).numpy()
    assert_close(cupy.asnumpy(ops.fft_image(cupy.asarray(spectrum_np), h, w)), ref_np, "gpu", "fft_image gpu vs tf")
