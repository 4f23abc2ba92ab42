"""Every native parameterization node's backward, by finite differences in float64; lowres_tensor against
Lucid's definition.

The nodes compute in float32, so their own forward cannot be differenced finely. Each node's forward is
therefore restated in float64 numpy (``F64`` below, Lucid's definitions), checked equal to the node's forward,
and differenced there: central differences with eps = 1e-6 in float64 are exact to ~1e-9, so the node's
float32 backward can be held to NODE_FD_TOL of |gradient| |direction| (the Cauchy-Schwarz bound of the
directional derivative), along a random direction and along the backward's own gradient (which a scaled
gradient cannot pass). TF stages (CPPN) are float32 TensorFlow; their VJP is checked against autodiff in
tests/optvis/test_cppn.py and through a whole step in tests/optvis/test_step_autodiff.py.
"""
import numpy as np
import pytest
import tensorflow as tf

from adjoint import assert_close
from lucid_fast.optvis import param
from lucid_fast.optvis.param import color, core, images, spatial
from tf_reference import (LUCID_MAX_NORM, LUCID_MEAN, LUCID_SVD_SQRT, interpolation_matrix, lucid_offset_t,
                          lucid_offsets, lucid_rfft2d_freqs, upsample_reference_t)

# float32 backward vs float64 central differences, relative to |grad| |direction| (measured: 1e-9 to 7.8e-8, the
# worst a float32 product with a broadcast constant)
NODE_FD_TOL = 1e-6
EPS = 1e-6


# ---------------------------------------------------------------------------------------------------------
# float64 restatements of each node's forward

def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _decorrelate(x):
    out = x.copy()
    out[..., :3] = x[..., :3] @ (LUCID_SVD_SQRT.astype(np.float64) / LUCID_MAX_NORM).T
    return out


def to_valid_rgb_f64(x, decorrelate, sigmoid):
    """Lucid's to_valid_rgb; the clip variant is clip(t, 0, 1) of the (decorrelated + mean) colour."""
    c = x.shape[-1]
    t = _decorrelate(x) if decorrelate and c >= 3 else x.copy()
    if sigmoid:
        return _sigmoid(t)
    if decorrelate and c >= 3:
        t[..., :3] += np.asarray(LUCID_MEAN)
    return np.clip(2 * t - 1, -1, 1) / 2 + 0.5


def fft_image_f64(spec, h, w, decay_power):
    """Lucid's fft_image: scale the complex spectrum, irfft2 (TF's default length 2 (wf - 1)), crop, NHWC, / 4."""
    freqs = lucid_rfft2d_freqs(h, w)
    scale = np.sqrt(w * h) / np.maximum(freqs, 1.0 / max(w, h)) ** decay_power
    img = np.fft.irfft2(scale * (spec[0] + 1j * spec[1]), axes=(-2, -1))
    return np.transpose(img[:, :, :h, :w], (0, 2, 3, 1)) / 4.0


def upsample_f64(low, shape):
    ah, aw = interpolation_matrix(low.shape[1], shape[1]), interpolation_matrix(low.shape[2], shape[2])
    return np.broadcast_to(np.einsum("ih,nhwc,jw->nijc", ah, low, aw), shape)


def offset_f64(a, offsets):
    """Lucid lowres_tensor's shift: np.pad (pad, 0) per axis in "symmetric" mode, then the leading slice."""
    padded = np.pad(a, [(o, 0) for o in offsets], mode="symmetric")
    return padded[tuple(slice(0, n) for n in a.shape)]


# ---------------------------------------------------------------------------------------------------------
# The nodes: (node built on float32 leaves, float64 forward of the leaves' values, leaf values)

def _leaf(rng, shape, positive=False, scale=1.0):
    val = (scale * rng.normal(size=shape)).astype(np.float32)
    if positive:
        val = np.abs(val) + np.float32(0.5)
    return core.Param(shape, init_val=val, name=f"leaf{shape}")


def _clip_point(rng, shape, decorrelate):
    """A point where no channel clips (|2t - 1| < 0.8): the clip variant is linear there."""
    t = rng.uniform(0.15, 0.85, size=shape)
    if decorrelate and shape[-1] >= 3:
        t[..., :3] -= np.asarray(LUCID_MEAN)
        t[..., :3] = t[..., :3] @ np.linalg.inv((LUCID_SVD_SQRT.astype(np.float64) / LUCID_MAX_NORM).T)
    return core.Param(shape, init_val=t.astype(np.float32), name="clip point")


S = (2, 5, 6, 3)
S4 = (2, 5, 6, 4)


def _cases(rng):
    a, b = _leaf(rng, S), _leaf(rng, S)
    cases = {
        "add": (a + b, lambda x, y: x + y),
        "add_broadcast_batch": (_leaf(rng, S) + _leaf(rng, (1, 5, 6, 3)), lambda x, y: x + y),
        "scale": (2.5 * a, lambda x: 2.5 * x),
        "neg": (-a, lambda x: -x),
        "mul": (a * b, lambda x, y: x * y),
        "mul_broadcast_channel": (_leaf(rng, S) * _leaf(rng, (2, 5, 6, 1)), lambda x, y: x * y),
        "mul_constant": (_leaf(rng, S) * np.linspace(-1, 1, 3, dtype=np.float32),
                         lambda x, c: x * c),
        "pow_square": (a ** 2, lambda x: x ** 2),
        "pow_sqrt": (_leaf(rng, S, positive=True) ** 0.5, lambda x: x ** 0.5),
        "pow_cube": (a ** 3, lambda x: x ** 3),
        "mean_channels": (a.mean(-1), lambda x: x.mean(-1, keepdims=True)),
        "mean_rows_dropped": (a.mean(1, keepdims=False), lambda x: x.mean(1)),
        "channel_slice": (_leaf(rng, S4)[..., 1:3], lambda x: x[..., 1:3]),
        "channel_index": (_leaf(rng, S4)[..., 3], lambda x: x[..., 3]),  # numpy indexing drops the axis
        "concat_channels": (param.concat([_leaf(rng, (2, 5, 6, 1)), _leaf(rng, (2, 5, 6, 2))]),
                            lambda x, y: np.concatenate([x, y], -1)),
        "concat_batch": (param.concat([_leaf(rng, (1, 5, 6, 3)), _leaf(rng, S)], axis=0),
                         lambda x, y: np.concatenate([x, y], 0)),
        "tile_channels": (images.TileChannels(_leaf(rng, (2, 5, 6, 1)), 3), lambda x: np.repeat(x, 3, -1)),
        "upsample_batch1": (spatial.Upsample(_leaf(rng, (1, 3, 4, 3)), (2, 7, 9, 3)),
                            lambda x: upsample_f64(x, (2, 7, 9, 3))),
        "upsample": (spatial.Upsample(_leaf(rng, (2, 4, 2, 3)), (2, 9, 5, 3)), lambda x: upsample_f64(x, (2, 9, 5, 3))),
        "offset": (spatial.Offset(_leaf(rng, (2, 7, 9, 3)), [1, 2, 3, 1]),
                   lambda x: offset_f64(x, [1, 2, 3, 1])),
    }
    for h, w, decay in ((6, 8, 1.0), (5, 7, 1.5)):
        wf = lucid_rfft2d_freqs(h, w).shape[1]
        spec = _leaf(rng, (2, 2, 3, h, wf), scale=0.3)
        cases[f"fft_image_{h}x{w}"] = (spatial.FFTImage(spec, h, w, decay),
                                       lambda x, h=h, w=w, d=decay: fft_image_f64(x, h, w, d))
    for shape in (S, S4, (2, 5, 6, 1)):
        for decorrelate in (True, False):
            name = f"to_valid_rgb_sigmoid_{shape[-1]}ch_{'decorrelated' if decorrelate else 'plain'}"
            cases[name] = (color.to_valid_rgb(_leaf(rng, shape), decorrelate=decorrelate, sigmoid=True),
                           lambda x, d=decorrelate: to_valid_rgb_f64(x, d, True))
            name = f"to_valid_rgb_clip_{shape[-1]}ch_{'decorrelated' if decorrelate else 'plain'}"
            cases[name] = (color.to_valid_rgb(_clip_point(rng, shape, decorrelate), decorrelate=decorrelate,
                                              sigmoid=False),
                           lambda x, d=decorrelate: to_valid_rgb_f64(x, d, False))
    return cases


CASE_NAMES = sorted(_cases(np.random.default_rng(0)))


def _node_fd_errors(node, f64, rng):
    """Checks the node's forward against f64 and returns the float64-FD errors of its backward."""
    leaves = list(node.inputs)
    vals32 = [leaf.forward() for leaf in leaves]
    vals64 = [v.astype(np.float64) for v in vals32]
    out = node.forward(*vals32)
    ref = f64(*vals64)
    assert out.shape == ref.shape and out.dtype == np.float32
    assert_close(out, ref, "fwd", f"{type(node).__name__} forward vs its float64 restatement")
    w = rng.normal(size=out.shape)
    grads = node.backward(w.astype(np.float32), *vals32)
    assert len(grads) == len(leaves)
    errors = []
    for k, (leaf, g) in enumerate(zip(leaves, grads)):
        g = np.asarray(g, np.float64)
        assert g.shape == vals64[k].shape, (g.shape, vals64[k].shape)
        d_random = rng.normal(size=g.shape)
        for d in (d_random, g * (np.linalg.norm(d_random) / max(np.linalg.norm(g), 1e-300))):
            def f(e):
                moved = list(vals64)
                moved[k] = vals64[k] + e * d
                return float(np.sum(f64(*moved) * w))

            fd = (f(EPS) - f(-EPS)) / (2 * EPS)
            an = float(np.sum(g * d))
            errors.append(abs(fd - an) / max(np.linalg.norm(g) * np.linalg.norm(d), 1e-300))
    return errors


@pytest.mark.parametrize("name", CASE_NAMES)
def test_node_backward_matches_float64_finite_differences(name, rng):
    node, f64 = _cases(np.random.default_rng(1))[name]
    for leaf in node.inputs:
        if isinstance(leaf, core.Param):
            leaf.initialize(rng)
    errors = _node_fd_errors(node, f64, rng)
    assert max(errors) <= NODE_FD_TOL, f"{name}: backward vs float64 central differences: {max(errors):.3g}"


# ---------------------------------------------------------------------------------------------------------
# lowres_tensor: Lucid's definition (resize, then pad (offset, 0) SYMMETRIC and slice), with TF2's resize

@pytest.mark.parametrize("shape, low, offset", [
    ((2, 12, 16, 3), (1, 3, 2, 3), None),
    ((2, 12, 16, 3), (1, 3, 2, 3), False),
    ((2, 12, 16, 3), (1, 3, 2, 3), True),      # offsets [1, 2, 4, 0]: half a low-res cell per axis
    ((2, 12, 16, 3), (2, 5, 7, 3), True),      # [0, 1, 1, 0]
    ((2, 12, 16, 3), (1, 4, 4, 3), 2),         # 2 on every axis, batch and channels included (as Lucid)
    ((2, 12, 16, 3), (2, 4, 4, 3), [0, 3, 1, 0]),
    ((1, 9, 10, 4), (1, 2, 3, 4), [0, True, False, 0]),
])
def test_lowres_tensor_matches_lucid(shape, low, offset, rng):
    node = param.lowres_tensor(shape, low, offset=offset, sd=1.0)
    graph = param.ParamGraph(node)
    graph.initialize(rng)
    (leaf,) = graph.params
    offsets = lucid_offsets(shape, low, list(offset) if isinstance(offset, list) else offset)
    if offset is True:
        assert offsets == [int(s / u / 2) for s, u in zip(shape, low)]
    x_t = tf.constant(leaf.value)
    g_np = rng.normal(size=shape).astype(np.float32)
    with tf.GradientTape() as tape:
        tape.watch(x_t)
        ref_t = lucid_offset_t(upsample_reference_t(x_t, shape[1:3], batch=shape[0]), offsets)
        loss_t = tf.reduce_sum(ref_t * g_np)
    assert_close(graph.forward(), ref_t.numpy(), "fwd", f"lowres_tensor offset={offset!r}")
    assert_close(graph.backward(g_np)[leaf], tape.gradient(loss_t, x_t).numpy(), "grad",
                 f"lowres_tensor offset={offset!r} backward")


def test_lowres_offset_shifts_content_down_and_right():
    """offset = 1 on an axis: output index i reads index i - 1 (index 0 repeats: SYMMETRIC), as Lucid's
    tf.pad((1, 0), "SYMMETRIC") + slice."""
    a = np.arange(4 * 5, dtype=np.float32).reshape(1, 4, 5, 1)
    node = spatial.Offset(core.Constant(a), [0, 1, 2, 0])
    out = node.forward(a)
    np.testing.assert_array_equal(out[0, :, :, 0], a[0, [0, 0, 1, 2]][:, [1, 0, 0, 1, 2], 0])
