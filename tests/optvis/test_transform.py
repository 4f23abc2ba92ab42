"""The transforms of lucid_fast.optvis.transform as the render step runs them, forward and backward, against
Lucid's TF ops and tf.GradientTape through them.

A step composes the affine transforms of the list into one matrix (``TransformChain.sample``), warps with the
chain's pad mode and fill (``ops.affine_warp``) and, on the way back, applies ``ops.affine_warp_adjoint`` with
the same matrix; ``collapse_alpha_random`` runs its own forward and backward before the warp. Each test below
runs exactly that for one transform and compares with the TF op Lucid used for it (tf.pad, tf.random_crop's
slice, tf.image.resize, TF's rotation matrix, tf.image.resize_with_crop_or_pad, a * rgb + (1 - a) * bg), and
the backward with the tape's gradient of the same reference for a random cotangent.

Tolerances: pad, jitter and crop_or_pad_to move pixels by whole pixels, so the bilinear weights are exactly 1
and 0 and forwards are compared exactly (backwards too, except where reflect/symmetric padding folds several
cotangents onto one pixel: FOLD_TOL). Scale and rotate interpolate: the forward is compared with
TF's float32 ops within TOL["fwd"], the backward with the float32 tape within TOL["grad"], or with a float64
gather reference (tests/tf_reference.py) within ROT_GRAD_TOL.
"""
import copy
import math

import numpy as np
import pytest
import tensorflow as tf

from adjoint import assert_close
from lucid_fast import ops
from lucid_fast.optvis import transform
from tf_reference import (chain_matrix, collapse_alpha_reference, fft_image_reference, pad_matrix,
                          rotate_matrix, tf_pad_t, tf_warp_reference_t, to_valid_rgb_reference)

# float32 adjoint vs a float64 reference for interpolating warps: float32 bilinear weights and scatter-adds
# (measured: 6.9e-7 to 1.2e-6 of the largest entry)
ROT_GRAD_TOL = 5e-6
# a float32 sum of up to 4 cotangents vs float64, relative to the largest entry (measured: 7.8e-8)
FOLD_TOL = 5e-7


def engine_warp(transforms, x_np, rng):
    """What a step does with an affine transform list: (output, backward function, matrices, chain)."""
    chain = transform.make_chain(transforms)
    mats, size = chain.sample(x_np.shape[0], x_np.shape[1:3], rng)
    y = ops.affine_warp(x_np, mats, out_hw=size, pad_mode=chain.pad_mode, fill_value=chain.fill_value)

    def backward(g):
        return ops.affine_warp_adjoint(np.ascontiguousarray(g, np.float32), mats, in_hw=x_np.shape[1:3],
                                       pad_mode=chain.pad_mode)

    return y, backward, mats, chain


def tape_grad(ref_fn, x_np, g_np, dtype=tf.float64):
    """The tape's gradient of <ref_fn(x), g> with respect to x, and ref_fn(x)."""
    x_t = tf.constant(x_np, dtype)
    with tf.GradientTape() as tape:
        tape.watch(x_t)
        y_t = ref_fn(x_t)
        loss_t = tf.reduce_sum(y_t * tf.constant(g_np, dtype))
    return y_t.numpy(), tape.gradient(loss_t, x_t).numpy()


def _image(rng, shape=(2, 7, 9, 3)):
    return rng.uniform(-1, 1, size=shape).astype(np.float32)


# ---------------------------------------------------------------------------------------------------------
# pad: modes and fills

@pytest.mark.parametrize("mode, fill", [("CONSTANT", 0.5), ("CONSTANT", 0.2), ("CONSTANT", (0.1, 0.6, 0.9)),
                                        ("REFLECT", 0.5), ("SYMMETRIC", 0.5)])
def test_pad_matches_tf_pad(mode, fill, rng):
    x_np = _image(rng)
    w = 3
    y, backward, _, chain = engine_warp([transform.pad(w, mode=mode, constant_value=fill)], x_np, rng)
    assert chain.pad_mode == mode.lower()
    g_np = rng.normal(size=y.shape).astype(np.float32)
    ref, grad_ref = tape_grad(lambda t: tf_pad_t(t, w, mode.lower(), fill), x_np, g_np)
    # whole-pixel shifts: the forward is exact; the backward folds up to 4 cotangents onto a border pixel
    # (reflect/symmetric), summed in float32
    np.testing.assert_array_equal(y, ref.astype(np.float32))
    assert np.abs(backward(g_np) - grad_ref).max() <= FOLD_TOL * np.abs(grad_ref).max()


def test_pad_mode_and_fill_are_the_first_pads(rng):
    """One warp reads every outside tap through the first pad's mode and fill; a chain without pad fills 0."""
    chain = transform.make_chain([transform.pad(2, mode="SYMMETRIC"), transform.pad(3, mode="CONSTANT",
                                                                                   constant_value=0.9)])
    assert (chain.pad_mode, chain.fill_value) == ("symmetric", 0.0)
    chain = transform.make_chain([transform.jitter(1), transform.pad(2, mode="CONSTANT", constant_value=0.3)])
    assert (chain.pad_mode, chain.fill_value) == ("constant", 0.3)
    chain = transform.make_chain([transform.random_rotate([5])])
    assert (chain.pad_mode, chain.fill_value) == ("constant", 0.0)


# ---------------------------------------------------------------------------------------------------------
# jitter: Lucid's random crop

def test_jitter_is_a_uniform_random_crop(rng):
    x_np = _image(rng, (2, 9, 8, 3))
    d = 2
    offsets = set()
    for _ in range(30):
        y, backward, mats, _ = engine_warp([transform.jitter(d)], x_np, rng)
        oy, ox = mats[0, 1, 2], mats[0, 0, 2]
        assert oy == int(oy) and ox == int(ox) and 0 <= oy <= d and 0 <= ox <= d
        oy, ox = int(oy), int(ox)
        offsets.add((oy, ox))
        g_np = rng.normal(size=y.shape).astype(np.float32)
        ref, grad_ref = tape_grad(lambda t: t[:, oy:oy + 9 - d, ox:ox + 8 - d, :], x_np, g_np)
        np.testing.assert_array_equal(y, ref.astype(np.float32))
        np.testing.assert_array_equal(backward(g_np), grad_ref.astype(np.float32))
    assert len(offsets) >= 8, f"30 draws of a 3x3 choice gave only {sorted(offsets)}"  # all 9, in practice


# ---------------------------------------------------------------------------------------------------------
# random_scale: tf.image.resize (bilinear, TF2 half-pixel centres)

@pytest.mark.parametrize("s", [0.75, 1.1, 1.3, 2.0])
def test_scale_matches_tf_resize(s, rng):
    # pad(0, SYMMETRIC): outside taps mirror, which for bilinear sampling less than a pixel outside equals
    # tf.image.resize's clamp to the edge
    x_np = _image(rng, (2, 11, 14, 3))
    y, backward, _, _ = engine_warp([transform.pad(0, mode="SYMMETRIC"), transform.random_scale([s])], x_np, rng)
    new = (int(np.float32(s) * np.float32(11)), int(np.float32(s) * np.float32(14)))
    assert y.shape == (2, *new, 3)
    g_np = rng.normal(size=y.shape).astype(np.float32)
    ref, grad_ref = tape_grad(lambda t: tf.image.resize(t, new, method="bilinear"), x_np, g_np, tf.float32)
    assert_close(y, ref, "fwd", f"scale {s}")
    assert_close(backward(g_np), grad_ref, "grad", f"scale {s} backward")


def test_scale_draws_every_choice(rng):
    x_np = _image(rng, (1, 10, 10, 1))
    sizes = {engine_warp([transform.random_scale([0.8, 1.0, 1.2])], x_np, rng)[0].shape[1] for _ in range(30)}
    assert sizes == {8, 10, 12}


# ---------------------------------------------------------------------------------------------------------
# random_rotate: TF's rotation (tf.contrib.image.rotate's matrix), bilinear

def tf_rotation_flat(angle, h, w):
    """TF's angles_to_projective_transforms, index convention, flat (8,)."""
    cos, sin = math.cos(angle), math.sin(angle)
    x_offset = ((w - 1) - (cos * (w - 1) - sin * (h - 1))) / 2.0
    y_offset = ((h - 1) - (sin * (w - 1) + cos * (h - 1))) / 2.0
    return np.array([cos, -sin, x_offset, sin, cos, y_offset, 0.0, 0.0], np.float32)


@pytest.mark.parametrize("angle, units", [(7.0, "degrees"), (-20.0, "degrees"), (1.2, "radians")])
def test_rotate_matches_tf_rotation(angle, units, rng):
    x_np = _image(rng, (2, 9, 12, 3))
    rad = angle if units == "radians" else math.radians(angle)
    y, backward, _, _ = engine_warp([transform.random_rotate([angle], units=units)], x_np, rng)
    flat = np.broadcast_to(tf_rotation_flat(rad, 9, 12), (2, 8))
    ref = tf.raw_ops.ImageProjectiveTransformV3(
        images=tf.constant(x_np), transforms=tf.constant(flat), output_shape=tf.constant([9, 12]),
        fill_value=tf.constant(0.0), interpolation="BILINEAR", fill_mode="CONSTANT").numpy()
    assert_close(y, ref, "fwd", f"rotate {angle} {units}")
    # backward: TF's registered V3 gradient is not the transpose of bilinear sampling; the gather reference is
    g_np = rng.normal(size=y.shape).astype(np.float32)
    m, _ = rotate_matrix((9, 12), rad)
    _, grad_ref = tape_grad(lambda t: tf_warp_reference_t(t, m[None, :2], (9, 12), "constant", 0.0), x_np, g_np)
    err = np.abs(backward(g_np) - grad_ref).max() / np.abs(grad_ref).max()
    assert err <= ROT_GRAD_TOL, f"rotate {angle} {units} backward: {err:.3g} of the largest entry"


@pytest.mark.parametrize("mode", ["REFLECT", "SYMMETRIC", "CONSTANT"])
def test_pad_then_rotate_reads_outside_through_the_pads_mode(mode, rng):
    """A rotation after a pad samples outside the padded image too: every such tap is read through the pad's
    mode (mirrored again for reflect/symmetric, the fill for constant), as one warp of the original image."""
    x_np = _image(rng, (1, 8, 10, 3))
    y, backward, _, _ = engine_warp([transform.pad(2, mode=mode, constant_value=0.4),
                                     transform.random_rotate([25.0])], x_np, rng)
    m_pad, size = pad_matrix((8, 10), 2)
    m_rot, _ = rotate_matrix(size, math.radians(25.0))
    m = chain_matrix([m_pad, m_rot])
    g_np = rng.normal(size=y.shape).astype(np.float32)
    ref, grad_ref = tape_grad(lambda t: tf_warp_reference_t(t, m[None], size, mode.lower(), 0.4), x_np, g_np)
    assert_close(y, ref, "fwd", f"pad {mode} + rotate")
    err = np.abs(backward(g_np) - grad_ref).max() / np.abs(grad_ref).max()
    assert err <= ROT_GRAD_TOL, f"pad {mode} + rotate backward: {err:.3g} of the largest entry"


# ---------------------------------------------------------------------------------------------------------
# crop_or_pad_to: tf.image.resize_with_crop_or_pad

@pytest.mark.parametrize("target", [(5, 6), (12, 11), (6, 11), (9, 8)])
def test_crop_or_pad_to_matches_tf(target, rng):
    x_np = _image(rng, (2, 9, 8, 3))
    y, backward, _, _ = engine_warp([transform.crop_or_pad_to(*target)], x_np, rng)
    g_np = rng.normal(size=y.shape).astype(np.float32)
    ref, grad_ref = tape_grad(lambda t: tf.image.resize_with_crop_or_pad(t, *target), x_np, g_np)
    np.testing.assert_array_equal(y, ref.astype(np.float32))
    np.testing.assert_array_equal(backward(g_np), grad_ref.astype(np.float32))


# ---------------------------------------------------------------------------------------------------------
# collapse_alpha_random

def test_collapse_alpha_random_forward_backward_and_background(rng):
    b, h, w = 2, 8, 9
    x_np = rng.uniform(0.05, 0.95, size=(b, h, w, 4)).astype(np.float32)
    t = transform.collapse_alpha_random(sd=0.5)
    replay = copy.deepcopy(rng)
    out, saved = t.forward(x_np, rng)
    bg = saved[1]
    # the background: a fresh random Fourier image (Lucid's param.random.image_sample, sd 0.5, decorrelated
    # colour, sigmoid) from the run's generator
    wf = ops.rfft2d_freqs(h, w).shape[1]
    spec = replay.normal(0.0, 0.5, size=(2, b, 3, h, wf))
    bg_ref = to_valid_rgb_reference(fft_image_reference(tf.constant(spec), h, w), decorrelate=True, sigmoid=True)
    assert_close(bg, bg_ref.numpy(), "fwd", "background")
    out2, saved2 = t.forward(x_np, rng)
    assert not np.allclose(saved2[1], bg), "the background must be redrawn every step"
    # a * rgb + (1 - a) * bg, and its gradient with respect to rgb and alpha
    g_np = rng.normal(size=out.shape).astype(np.float32)
    ref, grad_ref = tape_grad(lambda x_t: collapse_alpha_reference(x_t, tf.constant(bg, tf.float64)), x_np, g_np)
    assert_close(out, ref, "fwd", "collapse forward")
    assert_close(t.backward(g_np, saved), grad_ref, "grad", "collapse backward")
    with pytest.raises(ValueError, match="collapse_alpha_random needs an RGBA image"):
        t.forward(x_np[..., :3].copy(), rng)


# ---------------------------------------------------------------------------------------------------------
# the whole chain: the composition order of the matrices

def test_standard_chain_backward_is_the_adjoint_of_its_forward(rng):
    """<warp(x), g> = <x, backward(g)> for the standard transforms with a zero fill (the fill is a constant)."""
    x_np = _image(rng, (2, 16, 16, 3))
    chain = [transform.pad(4, mode="CONSTANT", constant_value=0.0), transform.jitter(3),
             transform.random_scale([1.1]), transform.random_rotate([9.0]), transform.jitter(2)]
    y, backward, _, _ = engine_warp(chain, x_np, rng)
    g_np = rng.normal(size=y.shape).astype(np.float32)
    lhs = float(np.sum(y.astype(np.float64) * g_np))
    rhs = float(np.sum(x_np.astype(np.float64) * backward(g_np)))
    assert abs(lhs - rhs) <= 1e-6 * np.linalg.norm(y) * np.linalg.norm(g_np), (lhs, rhs)


# ---------------------------------------------------------------------------------------------------------
# random_crop: tf.random_crop (a window from anywhere, not jitter around the centre)

def test_random_crop_is_a_crop_at_a_uniform_random_offset(rng):
    """Forward: numpy slicing at the drawn offset, exactly; backward: the adjoint (dot-product test) and the
    tape's gradient of that slice; the offsets cover 0..h-height x 0..w-width uniformly, corners included."""
    b, h, w, ch, cw = 2, 11, 9, 4, 6
    x_np = _image(rng, (b, h, w, 3))
    counts = np.zeros((h - ch + 1, w - cw + 1), int)
    for k in range(400):
        y, backward, mats, chain = engine_warp([transform.random_crop(ch, cw)], x_np, rng)
        assert y.shape == (b, ch, cw, 3) and chain.output_sizes((h, w)) == {(ch, cw)}
        np.testing.assert_array_equal(mats[1], mats[0])  # one window for the whole batch, as tf.random_crop
        oy, ox = mats[0, 1, 2], mats[0, 0, 2]
        assert oy == int(oy) and ox == int(ox) and 0 <= oy <= h - ch and 0 <= ox <= w - cw, (oy, ox)
        oy, ox = int(oy), int(ox)
        counts[oy, ox] += 1
        np.testing.assert_array_equal(y, x_np[:, oy:oy + ch, ox:ox + cw, :])
        if k < 10:
            g_np = rng.normal(size=y.shape).astype(np.float32)
            lhs = float(np.sum(y.astype(np.float64) * g_np))
            rhs = float(np.sum(x_np.astype(np.float64) * backward(g_np)))
            assert abs(lhs - rhs) <= 1e-6 * np.linalg.norm(y) * np.linalg.norm(g_np), (lhs, rhs)
            _, grad_ref = tape_grad(lambda t: t[:, oy:oy + ch, ox:ox + cw, :], x_np, g_np)
            np.testing.assert_array_equal(backward(g_np), grad_ref.astype(np.float32))
    # 8 x 4 = 32 windows, 400 draws: every window comes up (expected 12.5 each), none dominates
    assert counts.min() >= 1, counts
    assert counts.max() <= 30, counts
    # a jitter + crop_or_pad_to window only moves around the centre; random_crop reaches the corners
    assert counts[0, 0] and counts[-1, -1] and counts[0, -1] and counts[-1, 0]


def test_random_crop_draws_from_the_runs_generator_and_composes_into_the_warp(rng):
    """The offsets come from the generator passed in (row first, then column, as jitter draws them: with as
    much room in both directions the two transforms draw the same windows), and a crop after pad and scale is
    one matrix of the chain."""
    x_np = _image(rng, (1, 12, 12, 3))
    a = engine_warp([transform.random_crop(9, 9)], x_np, np.random.default_rng(7))[2]
    b = engine_warp([transform.random_crop(9, 9)], x_np, np.random.default_rng(7))[2]
    c = engine_warp([transform.jitter(3)], x_np, np.random.default_rng(7))[2]
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, c)
    chain = [transform.pad(2, mode="CONSTANT", constant_value=0.0), transform.random_scale([1.5]),
             transform.random_crop(10, 8)]
    y, backward, mats, made = engine_warp(chain, x_np, rng)
    assert y.shape == (1, 10, 8, 3) and made.output_sizes((12, 12)) == {(10, 8)}
    g_np = rng.normal(size=y.shape).astype(np.float32)
    lhs = float(np.sum(y.astype(np.float64) * g_np))
    rhs = float(np.sum(x_np.astype(np.float64) * backward(g_np)))
    assert abs(lhs - rhs) <= 1e-6 * np.linalg.norm(y) * np.linalg.norm(g_np), (lhs, rhs)


@pytest.mark.parametrize("call, match", [
    (lambda: transform.random_crop(0, 4), "height must be an integer >= 1"),
    (lambda: transform.random_crop(4, 2.5), "width must be an integer >= 1"),
    (lambda: transform.make_chain([transform.random_crop(10, 4)]).output_sizes((9, 9)),
     r"random_crop\(10, 4\): the image at this point of the chain is only 9x9"),
    (lambda: transform.make_chain([transform.random_crop(4, 10)]).sample(1, (9, 9), np.random.default_rng(0)),
     "only 9x9"),
])
def test_random_crop_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# ---------------------------------------------------------------------------------------------------------
# a transform called on a tensor (Lucid's transform.random_scale(...)(t)) says what to do instead

@pytest.mark.parametrize("t", [transform.random_scale([0.9, 1.1]), transform.jitter(4), transform.pad(8),
                               transform.random_rotate([5]), transform.crop_or_pad_to(8, 8),
                               transform.random_crop(8, 8), transform.collapse_alpha_random()])
def test_calling_a_transform_on_a_tensor_explains_transforms(t):
    with pytest.raises(TypeError, match=r"is a lucid_fast transform, not a function on tensors") as info:
        t(tf.zeros((1, 16, 16, 4)))
    message = str(info.value)
    assert repr(t) in message and "ONE native warp" in message and "transforms=[" in message
    # still a transform of the list: the chain takes it as before
    chain = transform.make_chain([t])
    assert chain.tf_fns == [] and (chain.affine == [t] or chain.collapse is t)
