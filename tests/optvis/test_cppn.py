"""param.cppn: Lucid's CPPN as a TF-side stage — forward against a conv2d reference, seeding, the TFParam VJP
against tf autodiff, the engine's ascent step, and a render that raises a channel."""
import math

import numpy as np
import pytest
import tensorflow as tf

from lucid_fast.optvis import objectives, param, render
from lucid_fast.optvis.param.cppn import (_TRUNC_STD, composite_activation, composite_activation_unbiased,
                                          coordinate_grid, relu_normalized)
from test_render import channel_mean, tiny_keras
from tf_reference import reference_cppn
from tolerances import TOL


def _initialized(node, seed=0):
    graph = param.ParamGraph(node)
    graph.initialize(np.random.default_rng(seed))
    return graph


def _randomize(node, rng, scale=0.5):
    """Random weights everywhere (the output layer starts at zero, which would hide most of the network)."""
    node.set_weights([w + rng.normal(0.0, scale, w.shape).astype(np.float32) for w in node.get_weights()])


CONFIGS = {
    "composite": dict(num_layers=3, activation_func=composite_activation, normalize=False),
    "unbiased_norm": dict(num_layers=2, activation_func=composite_activation_unbiased, normalize=True),
    "relu": dict(num_layers=2, activation_func=relu_normalized, normalize=False),
    "abs_no_hidden": dict(num_layers=0, activation_func=tf.abs, normalize=False),
}


@pytest.mark.parametrize("name", sorted(CONFIGS))
@pytest.mark.parametrize("batch,width,channels", [(1, 9, 3), (2, 8, 4)])
def test_forward_matches_reference(name, batch, width, channels, rng):
    cfg = CONFIGS[name]
    node = param.cppn(width, batch=batch, num_output_channels=channels, num_hidden_channels=5, **cfg)
    graph = _initialized(node)
    _randomize(node, rng)
    img = graph.forward()
    assert img.shape == (batch, width, width, channels) and img.dtype == np.float32
    assert img.min() > 0.0 and img.max() < 1.0 and img.std() > 0.01
    ref = reference_cppn([tf.constant(w) for w in node.get_weights()], width, cfg["num_layers"],
                         cfg["activation_func"], cfg["normalize"], batch).numpy()
    np.testing.assert_allclose(img, ref, *TOL["fwd"])
    np.testing.assert_array_equal(img[0], img[-1])  # the batch shares one network
    np.testing.assert_allclose(node.render()[0], img[0], *TOL["fwd"])


def test_initial_image_is_flat_and_init_statistics():
    """Lucid's init: zero output weights (a flat sigmoid(bias) image), variance-scaling hidden weights."""
    node = param.cppn(16, num_hidden_channels=64, num_layers=3)
    graph = _initialized(node, seed=5)
    w = node.get_weights()
    assert [a.shape for a in w] == [(2, 64), (64,), (128, 64), (64,), (128, 64), (64,), (128, 3), (3,)]
    np.testing.assert_array_equal(w[-2], 0.0)
    img = graph.forward()
    np.testing.assert_allclose(img, np.broadcast_to(1 / (1 + np.exp(-w[-1])), img.shape), *TOL["fwd"])
    hidden = w[2]
    assert abs(hidden.std() - math.sqrt(1 / 128)) < 0.1 * math.sqrt(1 / 128)
    assert np.abs(hidden).max() <= 2 * math.sqrt(1 / 128) / _TRUNC_STD + 1e-7
    biases = np.concatenate([w[1], w[3], w[5]])
    assert 0.07 < biases.std() < 0.13


def test_coordinate_grid():
    g = coordinate_grid(7, 5)
    assert g.shape == (5, 7, 2)
    np.testing.assert_allclose(g[0, :, 0], np.linspace(-3 ** 0.5, 3 ** 0.5, 7), rtol=1e-6)  # x along columns
    np.testing.assert_allclose(g[:, 0, 1], np.linspace(-3 ** 0.5, 3 ** 0.5, 5), rtol=1e-6)  # y along rows
    assert abs(coordinate_grid(1001)[..., 0].std() - 1.0) < 1e-2


def test_seeded_reproducibility():
    def weights(seed):
        node = param.cppn(8, num_layers=2, normalize=True)
        _initialized(node, seed)
        return node.get_weights()

    a, b, c = weights(3), weights(3), weights(4)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not all(np.array_equal(x, y) for x, y in zip(a, c))


def test_render_is_reproducible_with_seed(keras_model):
    kw = dict(transforms=[], thresholds=(6,), verbose=False, optimizer=0.01)
    a = render.render_vis(keras_model, "conv2:5", param_f=lambda: param.cppn(24), seed=7, **kw)[0]
    b = render.render_vis(keras_model, "conv2:5", param_f=lambda: param.cppn(24), seed=7, **kw)[0]
    np.testing.assert_array_equal(a, b)
    assert a.std() > 1e-3  # it moved from the flat start (other seeds: test_seeded_reproducibility)


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_vjp_matches_tf_autodiff(name, rng):
    """The engine's backward through the CPPN (routed through native stages after it) equals tf autodiff."""
    cfg = CONFIGS[name]
    node = param.cppn(7, batch=2, num_output_channels=4, num_hidden_channels=6, **cfg)
    out = 2.0 * node[..., 1:4]  # native stages downstream: the gradient must reach the TF stage through them
    graph = _initialized(out, seed=1)
    _randomize(node, rng)
    graph.forward()
    cot = rng.normal(size=out.shape).astype(np.float32)
    assert graph.backward(cot) == {}  # no native leaves; the TF stage keeps its own gradients
    got = [g.numpy() for g in node.grads]

    weights = [tf.Variable(w) for w in node.get_weights()]
    with tf.GradientTape() as tape:
        ref = reference_cppn(weights, 7, cfg["num_layers"], cfg["activation_func"], cfg["normalize"], batch=2)
        value = tf.reduce_sum(2.0 * ref[..., 1:4] * cot)
    want = tape.gradient(value, weights)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w.numpy(), *TOL["grad"])


def test_ascent_step_moves_uphill(rng):
    """One engine update (Adam, ascent): every weight moves by ~learning_rate in the direction of its gradient."""
    node = param.cppn(6, num_layers=1, num_hidden_channels=4)
    graph = _initialized(node)
    _randomize(node, rng)
    before = node.get_weights()
    graph.forward()
    graph.backward(rng.normal(size=node.shape).astype(np.float32))
    grads = [g.numpy() for g in node.grads]
    node.apply_ascent(render.Adam(0.01))
    for b, a, g in zip(before, node.get_weights(), grads):
        np.testing.assert_allclose(a - b, 0.01 * np.sign(g), atol=1e-4)


def test_render_at_other_resolutions_and_weights(rng):
    node = param.cppn(9, num_layers=2, num_hidden_channels=5)
    _initialized(node)
    _randomize(node, rng)
    small, big = node.render(), node.render(33)
    assert big.shape == (1, 33, 33, 3)
    for corner in ((0, 0), (0, -1), (-1, 0), (-1, -1)):  # the same coordinates at any resolution
        np.testing.assert_allclose(big[0][corner], small[0][corner], *TOL["fwd"])
    np.testing.assert_allclose(big[0, 16, 16], small[0, 4, 4], *TOL["fwd"])  # and the same centre
    w = node.get_weights()
    zeroed = [x * 0 for x in w]
    np.testing.assert_allclose(node.render(weights=zeroed), 0.5)
    node.set_weights(zeroed)
    np.testing.assert_array_equal(node.get_weights()[0], 0.0)


def test_bad_input():
    with pytest.raises(ValueError, match="width"):
        param.cppn(0)
    with pytest.raises(ValueError, match="num_layers"):
        param.cppn(8, num_layers=-1)
    with pytest.raises(ValueError, match="activation_func"):
        param.cppn(8, activation_func="atan")
    node = param.cppn(8)
    with pytest.raises(RuntimeError, match="not initialized"):
        node.get_weights()
    _initialized(node)
    with pytest.raises(ValueError, match="set_weights"):
        node.set_weights(node.get_weights()[:-1])
    with pytest.raises(ValueError, match="shape"):
        node.set_weights([np.zeros((1,), np.float32)] * len(node.get_weights()))


@pytest.fixture(scope="module")
def keras_model():
    return tiny_keras()


def test_cppn_render_raises_a_channel(keras_model):
    vis = render.make_vis_T(keras_model, objectives.channel("conv2", 5), param_f=param.cppn(40), transforms=[],
                            optimizer=0.01, seed=0)
    start = channel_mean(vis, "conv2", 5, vis.image())
    losses = [vis.step() for _ in range(30)]
    end = channel_mean(vis, "conv2", 5, vis.image())
    assert end >= 5 * max(start, 1e-3), f"channel mean {start:.4g} -> {end:.4g}"
    assert losses[-1] > losses[0]
    img = vis.image()
    assert img.shape == (1, 40, 40, 3) and 0 < img.min() and img.max() < 1 and img.std() > 0.02
