"""Inputs the native ops used to coerce silently (or crash on): each is now a ValueError naming the argument."""
import numpy as np
import pytest

from lucid_fast import ops
from lucid_fast._bindings import checks
from lucid_fast.misc import memory


@pytest.mark.parametrize("shape", [(-1,), (2, -3), (2.5,), "abc", None, (True, 2)])
def test_empty_aligned_rejects_bad_shapes(shape):
    with pytest.raises(ValueError, match="empty_aligned: shape must be an int or a sequence of ints >= 0"):
        ops.empty_aligned(shape)


@pytest.mark.parametrize("shape, expected", [(3, (3,)), ((), ()), ((0, 4), (0, 4)), ((np.int64(2), 5), (2, 5))])
def test_empty_aligned_accepts_shapes(shape, expected):
    a = ops.empty_aligned(shape)
    assert a.shape == expected and a.dtype == np.float32 and (a.size == 0 or checks.is_aligned(a))
    z = ops.zeros_aligned(shape)
    assert z.shape == expected and not z.any()


def test_affine_warp_out_hw_beyond_int32_is_refused():
    """2**32 + 12 used to wrap to 12 in the kernels' int32 field and leave the other rows unwritten."""
    images = ops.zeros_aligned((1, 4, 4, 1))
    eye = np.eye(3, dtype=np.float32)[:2]
    with pytest.raises(ValueError, match=r"affine_warp: out_hw\[0\] must be an integer <= 2147483647"):
        ops.affine_warp(images, eye, out_hw=(2**32 + 12, 1))
    with pytest.raises(ValueError, match=r"affine_warp_adjoint: in_hw\[1\] must be an integer <= 2147483647"):
        ops.affine_warp_adjoint(images, eye, in_hw=(4, 2**31))
    with pytest.raises(ValueError, match=r"out_hw\[0\] must be an integer >= 1"):
        ops.affine_warp(images, eye, out_hw=(0, 4))


def test_affine_warp_output_that_does_not_fit_is_refused(monkeypatch):
    monkeypatch.setenv(memory.LIMIT_ENV, "1G")
    images = ops.zeros_aligned((1, 4, 4, 1))
    with pytest.raises(memory.InsufficientMemoryError, match=r"empty_aligned: an array of shape \(1, 2147483647"):
        ops.affine_warp(images, np.eye(3, dtype=np.float32)[:2], out_hw=(2**31 - 1, 1))


def test_fft_image_decay_power_that_would_overflow_is_refused(rng):
    h = w = 32
    spectrum = ops.empty_aligned((2, 1, 3, h, w // 2 + 1))
    spectrum[...] = rng.normal(0.0, 0.01, spectrum.shape)
    with pytest.raises(ValueError, match=r"fft_image: decay_power=200 .* use decay_power <= 18\.9 "):
        ops.fft_image(spectrum, h, w, decay_power=200)
    with pytest.raises(ValueError, match="fft_image_adjoint: decay_power=200"):
        ops.fft_image_adjoint(ops.zeros_aligned((1, h, w, 3)), h, w, decay_power=200)
    # the largest accepted value still gives a finite image (the bound leaves float32 room)
    limit = (np.log10(checks.MAX_SPECTRUM_SCALE) - 0.5 * np.log10(h * w)) / np.log10(max(h, w))
    assert np.isfinite(ops.fft_image(spectrum, h, w, decay_power=limit - 1e-6)).all()
    assert np.isfinite(ops.fft_image(spectrum, h, w, decay_power=-50)).all()  # negative: scales shrink


@pytest.mark.parametrize("alias", ["m is v", "param is grad", "param is m", "overlapping views"])
def test_adam_update_refuses_aliased_arrays(alias):
    param, grad, m, v = (ops.zeros_aligned(10) for _ in range(4))
    grad[...] = 1.0
    if alias == "m is v":
        v = m
    elif alias == "param is grad":
        grad = param
    elif alias == "param is m":
        m = param
    else:
        buf = ops.zeros_aligned(16)
        m, v = buf[:10], buf[6:16]
    with pytest.raises(ValueError, match=r"adam_update: \w+ and \w+ share memory"):
        ops.adam_update(param, grad, m, v, 1)


def test_adam_update_disjoint_views_of_one_buffer_are_fine(rng):
    """Adjacent, non-overlapping views are separate arrays: accepted, and the same update as separate ones."""
    g = rng.normal(size=10).astype(np.float32)
    buf = ops.zeros_aligned(30)
    p1, m1, v1 = buf[:10], buf[10:20], buf[20:30]
    p2, m2, v2 = (ops.zeros_aligned(10) for _ in range(3))
    for step in (1, 2):
        ops.adam_update(p1, g, m1, v1, step)
        ops.adam_update(p2, g, m2, v2, step)
    assert np.array_equal(p1, p2) and np.array_equal(v1, v2) and p1.any()


def test_total_variation_grad_out_must_not_alias_images():
    images = ops.zeros_aligned((1, 4, 4, 3))
    with pytest.raises(ValueError, match="total_variation: images and grad_out share memory"):
        ops.total_variation(images, grad_out=images)


def test_transform_matrices_need_a_generator():
    with pytest.raises(ValueError, match=r"standard_transform_matrices: rng must be a numpy.random.Generator .* "
                                         r"got int 42"):
        ops.standard_transform_matrices(42, 1, 64, 64)
    from lucid_fast._bindings import warp_matrices as wm

    with pytest.raises(ValueError, match="jitter: rng must be a numpy.random.Generator"):
        wm.jitter((16, 16), 4, rng=7)
    with pytest.raises(ValueError, match="standard_transform_matrices: h must be an integer >= 1"):
        ops.standard_transform_matrices(np.random.default_rng(0), 1, 0, 64)
    mats, size = ops.standard_transform_matrices(np.random.default_rng(0), 2, 64, 64)
    assert mats.shape == (2, 2, 3) and min(size) > 0


def test_arrays_with_a_dimension_beyond_int32_are_refused():
    """Checked from the shape alone (a strided view: no 8 GB allocation)."""
    big = np.lib.stride_tricks.as_strided(np.zeros(1, np.float32), shape=(1, 2**31, 1, 1), strides=(0, 0, 0, 0))
    with pytest.raises(ValueError, match="every dimension of images must be <= 2147483647"):
        checks.check_array("affine_warp", "images", big)
