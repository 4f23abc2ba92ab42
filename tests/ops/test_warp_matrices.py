"""Transform matrices: each primitive through affine_warp vs the TF op Lucid used, composition order, the
standard_transforms chain vs Lucid's stage-by-stage pipeline, and reproducibility from the generator."""
import math

import numpy as np
import pytest
import tensorflow as tf

from adjoint import assert_close
from lucid_fast import ops
from lucid_fast._bindings import warp_matrices as wm


def _warp(x_np, m3, out_hw, **kw):
    return ops.affine_warp(x_np, wm.to_kernel_matrices(m3), out_hw, **kw)


def _smooth_image(rng, n, h, w, c):
    """Low-frequency images in [0, 1], on which resampling once or twice gives nearly the same result."""
    yy, xx = np.meshgrid(np.linspace(0, 1, h), np.linspace(0, 1, w), indexing="ij")
    out = np.empty((n, h, w, c), np.float32)
    for b in range(n):
        for ch in range(c):
            fy, fx, ph = rng.uniform(0.5, 1.5), rng.uniform(0.5, 1.5), rng.uniform(0, 6)
            out[b, :, :, ch] = 0.5 + 0.4 * np.sin(2 * np.pi * (fy * yy + fx * xx) + ph)
    return out


def tf_rotation_transform(angle, h, w):
    """TF's angles_to_projective_transforms (what tf.contrib.image.rotate used), index convention, flat (8,)."""
    cos, sin = math.cos(angle), math.sin(angle)
    x_offset = ((w - 1) - (cos * (w - 1) - sin * (h - 1))) / 2.0
    y_offset = ((h - 1) - (sin * (w - 1) + cos * (h - 1))) / 2.0
    return np.array([cos, -sin, x_offset, sin, cos, y_offset, 0.0, 0.0], np.float32)


def tf_v3(x_t, flat, out_hw, fill=0.0):
    flat = np.broadcast_to(np.asarray(flat, np.float32), (x_t.shape[0], 8))
    return tf.raw_ops.ImageProjectiveTransformV3(
        images=x_t, transforms=tf.constant(flat), output_shape=tf.constant(out_hw, tf.int32),
        fill_value=tf.constant(fill, tf.float32), interpolation="BILINEAR", fill_mode="CONSTANT")


#------------------------------------------------------------------------
# Primitives vs TF

@pytest.mark.parametrize("shape", [(1, 9, 11, 3), (3, 10, 8, 1), (2, 13, 13, 4)])
def test_integer_chain_matches_tf_pad_and_crop_exactly(shape, rng):
    x_np = rng.uniform(size=shape).astype(np.float32)
    size0 = shape[1:3]
    m_pad, size1 = wm.pad(size0, 5)
    m_j1, size2 = wm.jitter(size1, 4, rng)
    m_j2, size3 = wm.jitter(size2, 3, rng)
    got = _warp(x_np, wm.compose_affine(m_pad, m_j1, m_j2), size3, fill_value=0.5)
    # Lucid's pipeline: tf.pad constant 0.5, then two crops at the drawn offsets
    (oy1, ox1), (oy2, ox2) = (int(m_j1[1, 2]), int(m_j1[0, 2])), (int(m_j2[1, 2]), int(m_j2[0, 2]))
    ref_t = tf.pad(tf.constant(x_np), [(0, 0), (5, 5), (5, 5), (0, 0)], constant_values=0.5)
    ref_t = ref_t[:, oy1:oy1 + size2[0], ox1:ox1 + size2[1]]
    ref_t = ref_t[:, oy2:oy2 + size3[0], ox2:ox2 + size3[1]]
    assert size3 == (size0[0] + 10 - 7, size0[1] + 10 - 7)
    np.testing.assert_array_equal(got, ref_t.numpy())


@pytest.mark.parametrize("s", wm.STANDARD_SCALES + (0.5, 1.7))
def test_scale_matches_tf_image_resize(s, rng):
    x_np = rng.uniform(size=(2, 23, 30, 3)).astype(np.float32)
    m, new = wm.scale((23, 30), s)
    assert new == (int(np.float32(s) * np.float32(23)), int(np.float32(s) * np.float32(30)))
    got = _warp(x_np, m, new, pad_mode="edge")
    ref = tf.image.resize(tf.constant(x_np), new, method="bilinear").numpy()
    assert_close(got, ref, "fwd", f"scale {s}")


@pytest.mark.parametrize("deg", [-10, -3, 7, 90, 181])
@pytest.mark.parametrize("hw", [(12, 12), (9, 14)])
def test_rotate_matches_tf_rotation_formula(deg, hw, rng):
    x_np = rng.uniform(size=(2, *hw, 3)).astype(np.float32)
    angle = math.radians(deg)
    m, new = wm.rotate(hw, angle)
    assert new == hw
    got = _warp(x_np, m, hw, fill_value=0.25)
    ref = tf_v3(tf.constant(x_np), tf_rotation_transform(angle, *hw), hw, fill=0.25).numpy()
    assert_close(got, ref, "fwd", f"rotate {deg} deg")


def test_rotate_matches_keras_random_rotation_matrix():
    keras = pytest.importorskip("keras")
    layer = keras.layers.RandomRotation(0.1)
    if not hasattr(layer, "_compute_affine_matrix"):
        pytest.skip("this Keras has no RandomRotation._compute_affine_matrix")
    h, w, deg = 11, 16, 9.0
    flat = layer._compute_affine_matrix(
        center_x=0.5, center_y=0.5, angle=tf.constant([deg]), translate_x=tf.zeros([1]), translate_y=tf.zeros([1]),
        scale=tf.ones([1]), shear_x=tf.zeros([1]), shear_y=tf.zeros([1]), height=h, width=w)
    m, _ = wm.rotate((h, w), math.radians(deg))
    s = np.array([[1.0, 0.0, 0.5], [0.0, 1.0, 0.5], [0.0, 0.0, 1.0]])
    m_index = (np.linalg.inv(s) @ m @ s).ravel()[:8]
    np.testing.assert_allclose(np.asarray(flat)[0, :8], m_index, atol=1e-5)


def test_rotate_is_counterclockwise_on_screen():
    # a bright pixel right of the centre moves to above the centre for +90 degrees (y points down)
    x_np = np.zeros((1, 5, 5, 1), np.float32)
    x_np[0, 2, 4, 0] = 1.0
    m, _ = wm.rotate((5, 5), math.pi / 2)
    got = _warp(x_np, m, (5, 5))
    assert got[0, 0, 2, 0] == pytest.approx(1.0, abs=1e-5)
    assert got.sum() == pytest.approx(1.0, abs=1e-5)


#------------------------------------------------------------------------
# Composition

def test_compose_order_maps_final_output_to_original_input():
    m_pad, s1 = wm.pad((10, 10), 3)           # first applied
    m_scale, _ = wm.scale(s1, 0.5)            # then
    total = wm.compose_affine(m_pad, m_scale)
    # output pixel centre (0.5, 0.5) of the 8x8 result covers padded pixels 0..1, i.e. original -3..-2
    np.testing.assert_allclose(total @ [0.5, 0.5, 1.0], [-2.0, -2.0, 1.0])
    np.testing.assert_allclose(total, m_pad @ m_scale)
    batched = wm.compose_affine(np.stack([m_pad, np.eye(3)]), m_scale)
    assert batched.shape == (2, 3, 3)
    np.testing.assert_allclose(batched[0], total)


def test_compose_and_to_kernel_bad_input():
    with pytest.raises(ValueError, match="needs at least one matrix"):
        wm.compose_affine()
    with pytest.raises(ValueError, match=r"matrix 1 must have shape \(3, 3\)"):
        wm.compose_affine(np.eye(3), np.eye(2))
    with pytest.raises(ValueError, match=r"last row of an affine matrix must be \[0, 0, 1\]"):
        wm.to_kernel_matrices(np.ones((3, 3)))
    assert wm.to_kernel_matrices(np.eye(3)).dtype == np.float32
    assert wm.to_kernel_matrices(np.stack([np.eye(3)] * 4)).shape == (4, 2, 3)
    with pytest.raises(ValueError, match="jitter: d must be in"):
        wm.jitter((5, 9), 5, np.random.default_rng(0))
    with pytest.raises(ValueError, match="pass a numpy Generator"):
        wm.jitter((9, 9), 2)
    with pytest.raises(ValueError, match="shrinks size"):
        wm.scale((3, 3), 0.2)
    with pytest.raises(ValueError, match="batch must be an integer >= 1"):
        wm.standard_transform_matrices(np.random.default_rng(0), 0, 32, 32)


#------------------------------------------------------------------------
# standard_transforms

def test_standard_constants():
    assert wm.STANDARD_SCALES == tuple(1 + (i - 5) / 50.0 for i in range(11))
    assert wm.STANDARD_ANGLES_DEG == tuple(list(range(-10, 11)) + 5 * [0])
    assert wm.PAD_FILL == 0.5 and wm.PAD_WIDTH == 12


def test_standard_matrices_reproducible_and_shaped():
    a, size_a = wm.standard_transform_matrices(np.random.default_rng(7), 4, 224, 224)
    b, size_b = wm.standard_transform_matrices(np.random.default_rng(7), 4, 224, 224)
    np.testing.assert_array_equal(a, b)
    assert size_a == size_b
    assert a.shape == (4, 2, 3) and a.dtype == np.float32
    for k in range(1, 4):  # one draw for the batch, as Lucid
        np.testing.assert_array_equal(a[k], a[0])
    scaled = [int(np.float32(s) * np.float32(224 + 24 - 8)) - 4 for s in wm.STANDARD_SCALES]
    assert size_a[0] == size_a[1] and size_a[0] in scaled
    others = [wm.standard_transform_matrices(np.random.default_rng(seed), 4, 224, 224)[0] for seed in (8, 9, 10)]
    assert any(not np.array_equal(a, o) for o in others)


def test_standard_matrices_independent_draws():
    m, _ = wm.standard_transform_matrices(np.random.default_rng(3), 6, 64, 48, independent=True)
    assert m.shape == (6, 2, 3)
    assert len({m[k].tobytes() for k in range(6)}) > 1
    # the scale (the linear part's singular values) is shared; only offsets and angle differ
    sv = [np.linalg.svd(m[k, :, :2].astype(np.float64), compute_uv=False) for k in range(6)]
    np.testing.assert_allclose(sv, np.broadcast_to(sv[0], (6, 2)), rtol=1e-6)


def _lucid_draws(seed):
    """The draws of standard_transform_matrices (shared mode) replayed in their documented order."""
    rng = np.random.default_rng(seed)
    oy1, ox1 = int(rng.integers(0, 9)), int(rng.integers(0, 9))
    s = wm.STANDARD_SCALES[int(rng.integers(0, len(wm.STANDARD_SCALES)))]
    deg = wm.STANDARD_ANGLES_DEG[int(rng.integers(0, len(wm.STANDARD_ANGLES_DEG)))]
    oy2, ox2 = int(rng.integers(0, 5)), int(rng.integers(0, 5))
    return oy1, ox1, s, deg, oy2, ox2


def lucid_pipeline_t(x_t, draws):
    """Lucid's standard_transforms stage by stage in TF2 ops, with the given draws: pad 12 (0.5) -> crop 8 ->
    resize (half-pixel) -> rotate (fill 0.5, as our single warp fills) -> crop 4."""
    oy1, ox1, s, deg, oy2, ox2 = draws
    x_t = tf.pad(x_t, [(0, 0), (12, 12), (12, 12), (0, 0)], constant_values=0.5)
    h, w = x_t.shape[1] - 8, x_t.shape[2] - 8
    x_t = x_t[:, oy1:oy1 + h, ox1:ox1 + w]
    new = (int(np.float32(s) * np.float32(h)), int(np.float32(s) * np.float32(w)))
    x_t = tf.image.resize(x_t, new, method="bilinear")
    x_t = tf_v3(x_t, tf_rotation_transform(math.radians(deg), *new), new, fill=0.5)
    return x_t[:, oy2:oy2 + new[0] - 4, ox2:ox2 + new[1] - 4]


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4, 5])
def test_standard_chain_vs_stage_by_stage_pipeline(seed, rng):
    x_np = _smooth_image(rng, 2, 40, 48, 3)
    mats, size = wm.standard_transform_matrices(np.random.default_rng(seed), 2, 40, 48)
    got = ops.affine_warp(x_np, mats, size, pad_mode="constant", fill_value=wm.PAD_FILL)
    draws = _lucid_draws(seed)
    ref = lucid_pipeline_t(tf.constant(x_np), draws).numpy()
    assert got.shape == ref.shape
    _, _, s, deg, _, _ = draws
    if s == 1.0 or deg == 0:  # the pipeline resamples once too: same result
        assert_close(got, ref, "fwd", f"standard chain, draws {draws}")
        return
    # Lucid resamples twice (resize, then rotate), we once: close on a smooth image away from the image's
    # border (where the sharp image/fill edge is blurred differently); a wrong order or offset errs by ~0.1-0.5.
    ho, wo = size
    ii, jj = np.meshgrid(np.arange(ho) + 0.5, np.arange(wo) + 0.5, indexing="ij")
    m = mats[0].astype(np.float64)
    u, v = m[0, 0] * jj + m[0, 1] * ii + m[0, 2], m[1, 0] * jj + m[1, 1] * ii + m[1, 2]
    inner = (u > 2) & (u < 48 - 2) & (v > 2) & (v < 40 - 2)
    far_out = (u < -2) | (u > 48 + 2) | (v < -2) | (v > 40 + 2)
    assert inner.mean() > 0.5 and far_out.any()
    err = np.abs(got - ref)
    assert err[:, inner].max() < 2e-2, err[:, inner].max()
    assert err[:, far_out].max() < 1e-5, err[:, far_out].max()  # both read the 0.5 fill there
    assert err.mean() < 5e-3, err.mean()
