"""Lucid's parameterization names with Lucid's meaning: lowres_tensor's batch semantics, param.lowres, naive,
laplacian_pyramid, rfft2d_freqs, the colour constants, image_sample, unit balls, resize_bilinear_nd,
bilinearly_sampled_image, numpy-style indexing of parameterizations and param.stack."""
import warnings

import numpy as np
import pytest
import tensorflow as tf

from adjoint import assert_close, dot_product_test, graph_finite_difference_test
from lucid_fast import ops
from lucid_fast.optvis import param
from lucid_fast.optvis.param import color, lowres, random, resize_bilinear_nd, spatial, unit_balls


def _graph(node, seed=0, scale=0.5):
    g = param.ParamGraph(node)
    g.initialize(np.random.default_rng(seed))
    r = np.random.default_rng(seed + 1)
    for p in g.params:
        p.value[...] = r.normal(0, scale, p.shape)
    return g


# ---- lowres_tensor ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("shape, low", [
    ((6, 16, 16, 3), (1, 8, 8, 3)),     # shared by the batch (neuron_interaction's "shared" terms)
    ((6, 16, 16, 3), (2, 2, 2, 3)),     # two end points interpolated over six frames (aligned_interpolation)
    ((5, 12, 10, 3), (3, 6, 5, 3)),     # any underlying batch between 1 and the batch
    ((4, 8, 8, 3), (4, 8, 8, 3)),       # nothing to resize: the variable itself
    ((8, 8, 3), (4, 4, 3)),             # no batch axis (Lucid's multi_interpolation_basis uses these)
])
def test_lowres_tensor_is_the_nd_bilinear_resize_of_its_variable(shape, low):
    """Forward = resize_bilinear_nd of the variable (every axis that changes, TF2 half-pixel sampling), checked
    against tf.image.resize axis by axis; backward by finite differences."""
    g = _graph(param.lowres_tensor(shape, low))
    (leaf,) = g.params
    out = g.forward()
    assert out.shape == tuple(shape)
    ref = leaf.value.reshape(low).astype(np.float64)
    for axis, (n_in, n_out) in enumerate(zip(low, shape)):
        if n_in != n_out:  # resize this axis alone, as a 1-pixel-wide image column
            moved = np.moveaxis(ref, axis, 0)
            col = moved.reshape(n_in, 1, -1)[None]
            col = tf.image.resize(col, (n_out, 1), method="bilinear").numpy()[0]
            ref = np.moveaxis(col.reshape((n_out,) + moved.shape[1:]), 0, axis)
    assert_close(out, ref, "fwd", f"lowres_tensor {shape} <- {low}")
    assert_close(out, resize_bilinear_nd.resize_bilinear_nd(leaf.value.reshape(low), shape).numpy(), "fwd", "nd")
    graph_finite_difference_test(g, np.random.default_rng(5), rtol=1e-2)


def test_lowres_batch_interpolation_blends_the_end_points():
    """An underlying batch of 2 makes frames that blend linearly from the first to the second, symmetrically."""
    g = _graph(lowres.lowres_tensor((6, 4, 4, 3), (2, 4, 4, 3)))
    out = g.forward()
    a, b = g.params[0].value
    t = np.array([0, 0, 1 / 3, 2 / 3, 1, 1])[:, None, None, None]  # TF2 half-pixel positions, clamped
    assert_close(out, (1 - t) * a + t * b, "fwd", "batch blend")
    assert np.allclose(out[::-1], _reversed(g)), "reversing the end points must reverse the frames"


def _reversed(g):
    g.params[0].value[...] = g.params[0].value[::-1].copy()
    return g.forward()


def test_lowres_offset_and_module_layout():
    """Lucid's module path (param.lowres.lowres_tensor, also in param and param.spatial) and its offset."""
    assert param.lowres_tensor is lowres.lowres_tensor is spatial.lowres_tensor
    base = _graph(param.lowres_tensor((1, 8, 8, 3), (1, 4, 4, 3)))
    shifted = _graph(param.lowres_tensor((1, 8, 8, 3), (1, 4, 4, 3), offset=[0, True, 0, 0]))
    out = base.forward()
    expect = np.pad(out, [(0, 0), (1, 0), (0, 0), (0, 0)], mode="symmetric")[:, :8]  # True: 8 / 4 / 2 = 1 px
    assert_close(shifted.forward(), expect, "fwd", "offset=True")
    for bad, match in [(((2, 8, 8, 3), (3, 4, 4, 3)), "underlying batch"), (((2, 8, 8, 3), (1, 4, 4, 1)), "channels"),
                       (((2, 8, 8, 3), (1, 16, 4, 3)), "exceed"), (((2, 8, 8, 3), (4, 4, 3)), "same rank")]:
        with pytest.raises(ValueError, match=match):
            param.lowres_tensor(*bad)


# ---- Lucid's other names ---------------------------------------------------------------------------------------

def test_deprecated_names_warn_and_mean_the_same():
    with pytest.warns(DeprecationWarning, match="pixel_image"):
        naive = param.naive((1, 4, 4, 3), sd=0.2)
    with pytest.warns(DeprecationWarning, match="laplacian_pyramid_image"):
        pyr = param.laplacian_pyramid((1, 16, 16, 3), n_levels=3)
    a = param.ParamGraph(naive)
    a.initialize(np.random.default_rng(0))
    b = param.ParamGraph(param.pixel_image((1, 4, 4, 3), sd=0.2))
    b.initialize(np.random.default_rng(0))
    assert np.array_equal(a.forward(), b.forward())
    assert len(param.ParamGraph(pyr).params) == 3


def test_rfft2d_freqs_and_colour_constants_are_lucids():
    for h, w in [(4, 6), (5, 7), (1, 3)]:
        fy = np.fft.fftfreq(h)[:, None]
        fx = np.fft.fftfreq(w)[: w // 2 + 1 + (w % 2)]
        assert np.allclose(spatial.rfft2d_freqs(h, w), np.sqrt(fx * fx + fy * fy))
    assert color.color_correlation_svd_sqrt.shape == (3, 3)
    assert np.isclose(color.max_norm_svd_sqrt, np.linalg.norm(color.color_correlation_svd_sqrt, axis=0).max())
    assert color.color_mean == [0.48, 0.46, 0.41]
    # to_valid_rgb(decorrelate=True, sigmoid=False) adds color_mean after t @ (C / max_norm).T, then clips
    t = np.random.default_rng(0).normal(0, 0.2, (1, 2, 2, 3)).astype(np.float32)
    g = param.ParamGraph(param.to_valid_rgb(param.pixel_image(t.shape, init_val=t), decorrelate=True, sigmoid=False))
    g.initialize(np.random.default_rng(0))
    rgb = t @ (color.color_correlation_svd_sqrt / color.max_norm_svd_sqrt).T + color.color_mean
    assert_close(g.forward(), np.clip(rgb, 0, 1), "fwd", "clip colour")


def test_image_sample_is_a_fresh_seeded_draw_every_step():
    node = param.image_sample((2, 16, 16, 3), sd=0.2, decay_power=1.5)
    g1, g2 = param.ParamGraph(node), param.ParamGraph(param.image_sample((2, 16, 16, 3), sd=0.2, decay_power=1.5))
    g1.initialize(np.random.default_rng(4))
    g2.initialize(np.random.default_rng(4))
    a, b = g1.forward(), g1.forward()
    assert a.shape == (2, 16, 16, 3) and 0 < a.min() and a.max() < 1
    assert not np.allclose(a, b), "image_sample must be redrawn at every forward"
    assert np.array_equal(a, g2.forward()), "the same generator must give the same draws"
    assert g1.params == [] and g1.backward(np.ones_like(a)) == {}  # nothing to optimize
    # it is Lucid's recipe: to_valid_rgb of a Fourier image of a N(0, sd^2) spectrum
    spec = np.random.default_rng(9).normal(0, 0.2, (2, 2, 3, 16, 9)).astype(np.float32)
    raw = ops.fft_image(spec, 16, 16, decay_power=1.5)
    r = random.rand_fft_image((2, 16, 16, 3), sd=0.2, decay_power=1.5)
    r.initialize(np.random.default_rng(9))
    assert_close(r.forward(), raw, "fwd", "rand_fft_image")


def test_unit_balls_stay_in_the_ball_and_match_the_tf_versions(rng):
    x = rng.normal(0, 1.0, (3, 5)).astype(np.float32)
    g = rng.normal(0, 1.0, x.shape).astype(np.float32)
    for name, node_f, tf_f in [("L2", unit_balls.constrain_L2, unit_balls.constrain_L2),
                               ("Linf", unit_balls.constrain_L_inf, unit_balls.constrain_L_inf),
                               ("Linf_pre", unit_balls.constrain_L_inf_precondition,
                                unit_balls.constrain_L_inf_precondition)]:
        node = node_f(param.Param(x.shape, init_val=x))
        graph = param.ParamGraph(node)
        graph.initialize(rng)
        out = graph.forward()
        grad = graph.backward(g)[graph.params[0]]
        x_t = tf.constant(x)
        with tf.GradientTape() as tape:
            tape.watch(x_t)
            y_t = tf_f(x_t)
        assert_close(out, y_t.numpy(), "fwd", name)
        assert_close(grad, tape.gradient(y_t, x_t, output_gradients=tf.constant(g)).numpy(), "fwd", name)
    assert np.linalg.norm(unit_balls._l2_fwd(x)) <= 1 + 1e-6 and np.abs(unit_balls._linf_fwd(x)).max() <= 1
    # on the sphere, the outward part of the step is removed; inside, the gradient passes unchanged
    on = x / np.linalg.norm(x) * 1.5
    out_grad = unit_balls._l2_bwd(on, on)  # pointing straight out
    assert np.allclose(out_grad, 0, atol=1e-6)
    inside = x / np.linalg.norm(x) * 0.5
    assert np.array_equal(unit_balls._l2_bwd(inside, g), g)


def test_unit_ball_optimization_stays_inside(tiny_model):
    """Maximizing the mean of an L-inf ball parameter pushes every value to the boundary, never past it."""
    from lucid_fast.optvis import objectives, render

    def param_f():
        return param.to_valid_rgb(param.unit_balls.unit_ball_L_inf((1, 8, 8, 3)) * 3.0, sigmoid=True)

    vis = render.make_vis_T(tiny_model, objectives.L1(constant=0.0), param_f=param_f, transforms=[], optimizer=0.2,
                            seed=0)
    for _ in range(20):
        vis.step()
    (leaf,) = vis.graph.params
    x = leaf.value
    assert np.abs(unit_balls._linf_fwd(x)).max() <= 1.0 and np.abs(x).max() >= 1.0  # reached the boundary
    assert vis.image().min() > 0.5  # sigmoid(3 * 1) everywhere: the ball's corner


def test_resize_bilinear_nd_helpers():
    assert resize_bilinear_nd.product([2, 3, 4]) == 24 and resize_bilinear_nd.product([]) == 1
    assert resize_bilinear_nd.collapse_shape([1, 2, 3, 4, 5], 0, 2) == [1, 1, 2, 60]
    assert resize_bilinear_nd.collapse_shape([1, 2, 3, 4, 5], 3, 5) == [6, 4, 5, 1]
    assert resize_bilinear_nd.collapse_shape([1, 2, 3, 4, 5], -1, 1) == [1, 1, 1, 120]
    t = np.random.default_rng(0).normal(size=(2, 5, 7, 3)).astype(np.float32)
    ref = tf.image.resize(t, (9, 4), method="bilinear").numpy()
    assert_close(resize_bilinear_nd.resize_bilinear_nd(t, (2, 9, 4, 3)).numpy(), ref, "fwd", "resize_nd spatial")


def _np_sample(texture, uv):
    """GL_REPEAT + GL_LINEAR with v flipped, written out per pixel (the reference)."""
    h, w, _ = texture.shape
    out = np.zeros(uv.shape[:-1] + (texture.shape[-1],))
    for idx in np.ndindex(*uv.shape[:-1]):
        u = uv[idx][0] * w - 0.5
        v = (1.0 - uv[idx][1]) * h - 0.5
        u0, v0 = int(np.floor(u)), int(np.floor(v))
        fu, fv = u - u0, v - v0
        acc = 0
        for du, wu in ((0, 1 - fu), (1, fu)):
            for dv, wv in ((0, 1 - fv), (1, fv)):
                acc = acc + wu * wv * texture[(v0 + dv) % h, (u0 + du) % w]
        out[idx] = acc
    return out


def test_bilinearly_sampled_image_on_tf_tensors(rng):
    texture = rng.normal(size=(5, 7, 3)).astype(np.float32)
    uv = rng.uniform(-0.5, 1.5, size=(4, 6, 2)).astype(np.float32)  # outside [0, 1] wraps
    out = spatial.bilinearly_sampled_image(texture, uv).numpy()
    assert_close(out, _np_sample(texture, uv), "fwd", "bilinearly_sampled_image")
    # exact texel centres read the texel; v = 1 is the top row (OpenGL)
    centre = np.array([[[(2 + 0.5) / 7, 1 - (1 + 0.5) / 5]]], np.float32)
    assert np.allclose(spatial.bilinearly_sampled_image(texture, centre).numpy()[0, 0], texture[1, 2])
    # gradient w.r.t. the texture is the adjoint of the sampling (TF autodiff, checked by a dot product)
    tex_t = tf.constant(texture)
    g = rng.normal(size=out.shape).astype(np.float32)
    with tf.GradientTape() as tape:
        tape.watch(tex_t)
        y_t = spatial.bilinearly_sampled_image(tex_t, uv)
    grad = tape.gradient(y_t, tex_t, output_gradients=tf.constant(g)).numpy()
    assert np.isclose(np.sum(grad * texture), np.sum(g * out), rtol=1e-4)
    with pytest.warns(DeprecationWarning):
        spatial.sample_bilinear(texture, uv)
    with pytest.raises(ValueError, match="uv must be"):
        spatial.bilinearly_sampled_image(texture, uv[..., :1])


def test_bilinearly_sampled_image_of_a_parameterization():
    """A texture parameterization is sampled by the native op (ops.sample_bilinear), with an exact backward."""
    tex = param.pixel_image((1, 5, 7, 3))[0]
    uv = np.random.default_rng(0).uniform(-0.2, 1.2, (4, 4, 2)).astype(np.float32)
    g = _graph(param.stack([spatial.bilinearly_sampled_image(tex, uv)]))
    assert_close(g.forward()[0], _np_sample(g.params[0].value[0], uv), "fwd", "native sampling")
    graph_finite_difference_test(g, np.random.default_rng(1), rtol=1e-2)
    batch = _graph(spatial.bilinearly_sampled_image(param.pixel_image((2, 5, 7, 3)), uv[None]))
    out = batch.forward()
    assert out.shape == (2, 4, 4, 3)
    assert_close(out[1], _np_sample(batch.params[0].value[1], uv), "fwd", "native sampling, batch")
    graph_finite_difference_test(batch, np.random.default_rng(2), rtol=1e-2)


# ---- indexing and stacking -------------------------------------------------------------------------------------

@pytest.mark.parametrize("key", [0, -1, slice(0, 1), slice(None, None, -1), (Ellipsis, slice(0, 3)),
                                 (Ellipsis, 3), (0, Ellipsis, slice(1, 3)), [2, 0, 2], (slice(None), None)])
def test_indexing_follows_numpy_and_its_backward_is_the_adjoint(key, rng):
    leaf = param.Param((3, 4, 5, 4), init_val=rng.normal(size=(3, 4, 5, 4)))
    node = leaf[key]
    x = rng.normal(size=leaf.shape).astype(np.float32)
    assert node.forward(x).shape == x[key].shape and np.array_equal(node.forward(x), x[key])
    y = rng.normal(size=node.shape).astype(np.float32)
    dot_product_test(node.forward, lambda v: node.backward(v, x)[0], x, y, what=f"index {key!r}")


def test_param_f0_idiom_stacks_with_a_fixed_photo(rng):
    """Lucid: ``tf.stack([param_f[0], t_input])``; here ``param.stack([param_f[0], photo])``: item 0 optimized,
    item 1 the constant photo (no gradient)."""
    photo = rng.uniform(size=(8, 8, 3)).astype(np.float32)
    node = param.stack([param.image(8)[0], photo])
    g = param.ParamGraph(node)
    g.initialize(np.random.default_rng(0))
    out = g.forward()
    assert out.shape == (2, 8, 8, 3) and np.array_equal(out[1], photo)
    grads = g.backward(np.ones_like(out))
    assert len(grads) == 1 and np.abs(next(iter(grads.values()))).sum() > 0
    same = param.concat([param.image(8)[0:1], photo[None]], axis=0)
    assert same.shape == node.shape
