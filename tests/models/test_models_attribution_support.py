"""What attribution needs from the adapters: the smooth MaxPool gradient overrides (Lucid's AttrSpatial notebook)
and ``spliced_fn`` (the model run from a layer whose activations are given), on the three kinds of the tiny
architecture and on a small residual model (a bypass around the spliced layer). Gradients only inside
tf.function."""
import numpy as np
import pytest
import tensorflow as tf

from lucid_fast.models import blur_gradient, load_model, smooth_maxpool, smooth_maxpool_grad

KINDS = ["keras", "graphdef", "saved_model"]


def _vjp(fn, x_np, cot_np):
    """(fn(x), d<cot, fn(x)>/dx) inside tf.function."""
    @tf.function(autograph=False)
    def run(x_t):
        with tf.GradientTape() as tape:
            tape.watch(x_t)
            y = fn(x_t)
            total = tf.reduce_sum(y * cot_np)
        return y, tape.gradient(total, x_t)

    y, g = run(tf.constant(x_np))
    return y.numpy(), g.numpy()


def _relaxed_pool(x, ksize, strides, padding):
    eps = 1e-2
    return tf.nn.avg_pool2d(x * x, ksize, strides, padding) / (eps + tf.nn.avg_pool2d(tf.abs(x), ksize, strides,
                                                                                       padding))


@pytest.mark.parametrize("padding, shape", [("VALID", (2, 6, 6, 3)), ("SAME", (1, 5, 7, 2))])
def test_smooth_maxpool_is_maxpool_forward_and_relaxation_gradient(rng, padding, shape):
    x = rng.normal(size=shape).astype(np.float32)
    out_shape = tf.nn.max_pool2d(x, 2, 2, padding).shape
    cot = rng.normal(size=out_shape).astype(np.float32)
    y, g = _vjp(lambda t: smooth_maxpool(t, 2, 2, padding), x, cot)
    np.testing.assert_array_equal(y, tf.nn.max_pool2d(x, 2, 2, padding).numpy())
    _, g_relaxed = _vjp(lambda t: _relaxed_pool(t, 2, 2, padding), x, cot)
    np.testing.assert_allclose(g, g_relaxed, rtol=1e-5, atol=1e-6)
    _, g_max = _vjp(lambda t: tf.nn.max_pool2d(t, 2, 2, padding), x, cot)
    assert np.abs(g - g_max).max() > 1e-2  # really a different gradient
    # the ordinary gradient reaches one input per window; the smooth one reaches every non-zero input
    assert np.count_nonzero(g) > 2 * np.count_nonzero(g_max)


def test_blur_gradient_hand_computed():
    g = np.zeros((1, 3, 3, 1), np.float32)
    g[0, 1, 1, 0] = 1.0
    got = blur_gradient(tf.constant(g)).numpy()[0, ..., 0]
    # centre keeps 1 - 0.5 - 0.25; each edge neighbour gets 0.5/4, each corner 0.25/4
    expected = np.array([[0.0625, 0.125, 0.0625], [0.125, 0.25, 0.125], [0.0625, 0.125, 0.0625]], np.float32)
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    assert abs(got.sum() - 1.0) < 1e-6  # away from the border the blur conserves the total


def test_smooth_blur_is_the_blurred_smooth_gradient(rng):
    x = rng.normal(size=(1, 8, 8, 2)).astype(np.float32)
    cot = rng.normal(size=(1, 4, 4, 2)).astype(np.float32)
    _, g_blur = _vjp(lambda t: smooth_maxpool(t, 2, 2, "VALID", blur=True), x, cot)
    expected = blur_gradient(smooth_maxpool_grad(tf.constant(x), tf.constant(cot), 2, 2, "VALID")).numpy()
    np.testing.assert_allclose(g_blur, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("mode", ["smooth", "smooth_blur"])
def test_adapters_apply_the_maxpool_override(tiny_adapters, rng, kind, mode):
    """d<cot, pool>/d clip6 through the adapter equals the override computed directly; without the override,
    the adapter gives the ordinary max-pool gradient."""
    adapter = tiny_adapters[kind]
    x = rng.uniform(size=(1, 16, 16, 3)).astype(np.float32)
    clip6 = adapter.activation_fn(["clip6"])(tf.constant(x))["clip6"].numpy()
    cot = rng.normal(size=(1, 4, 4, 6)).astype(np.float32)
    for override in (None, mode):
        fn = adapter.spliced_fn("clip6", ["pool"], maxpool_grad=override)
        y, g = _vjp(lambda a: fn(None, a)["pool"], clip6, cot)
        np.testing.assert_allclose(y, tf.nn.max_pool2d(clip6, 2, 2, "VALID").numpy(), rtol=1e-6)
        if override is None:
            _, expected = _vjp(lambda a: tf.nn.max_pool2d(a, 2, 2, "VALID"), clip6, cot)
        else:
            expected = smooth_maxpool_grad(tf.constant(clip6), tf.constant(cot), 2, 2, "VALID",
                                           blur=mode == "smooth_blur").numpy()
        np.testing.assert_allclose(g, expected, rtol=1e-5, atol=1e-6)
    # and through the whole model from the input
    act = adapter.activation_fn(["logits"], maxpool_grad=mode)
    plain = adapter.activation_fn(["logits"])
    cot_l = np.ones((1, 3), np.float32)
    y1, g1 = _vjp(lambda t: act(t)["logits"], x, cot_l)
    y0, g0 = _vjp(lambda t: plain(t)["logits"], x, cot_l)
    np.testing.assert_allclose(y1, y0, rtol=1e-5)
    assert np.abs(g1 - g0).max() > 1e-4 * np.abs(g0).max()


def test_maxpool_grad_rejects_unknown_modes(tiny_adapters):
    for adapter in tiny_adapters.values():
        with pytest.raises(ValueError, match="maxpool_grad must be one of"):
            adapter.activation_fn(["pool"], maxpool_grad="blur")


def _logits_from_relu2(acts, w):
    """The tiny architecture from relu2 on, in plain TF (the reference for spliced_fn)."""
    h = tf.nn.bias_add(tf.nn.conv2d(acts, w["down"][0], 2, "VALID"), w["down"][1])
    h = tf.nn.max_pool2d(tf.nn.relu6(h), 2, 2, "VALID")
    h = tf.nn.relu(tf.nn.bias_add(tf.matmul(tf.reduce_mean(h, axis=[1, 2]), w["fc"][0]), w["fc"][1]))
    return tf.nn.bias_add(tf.matmul(h, w["logits"][0]), w["logits"][1])


@pytest.mark.parametrize("kind", KINDS)
def test_spliced_fn_runs_the_model_from_given_activations(tiny, tiny_adapters, rng, kind):
    adapter = tiny_adapters[kind]
    x = rng.uniform(size=(1, 16, 16, 3)).astype(np.float32)
    acts = adapter.activation_fn(["relu2", "logits"])(tf.constant(x))
    fn = adapter.spliced_fn("relu2", ["logits", "fc_pre_relu"])
    assert fn.needs_input is False
    same = fn(None, acts["relu2"])
    np.testing.assert_allclose(same["logits"].numpy(), acts["logits"].numpy(), rtol=1e-5, atol=1e-6)
    # a batch of different activations for the one image: each item as the plain-TF reference says
    batch = acts["relu2"].numpy() * np.array([0.0, 0.3, 1.7], np.float32)[:, None, None, None]
    batch[2] += rng.uniform(size=batch.shape[1:]).astype(np.float32)
    cot = rng.normal(size=(3, 3)).astype(np.float32)
    y, g = _vjp(lambda a: fn(tf.constant(x), a)["logits"], batch, cot)
    y_ref, g_ref = _vjp(lambda a: _logits_from_relu2(a, tiny.weights), batch, cot)
    np.testing.assert_allclose(y, y_ref, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(g, g_ref, rtol=1e-4, atol=1e-6)
    assert np.abs(g[0] - g[2]).max() > 1e-3  # the gradient really depends on the given activations


@pytest.mark.parametrize("kind", KINDS)
def test_spliced_fn_at_a_pre_relu_layer(tiny_adapters, rng, kind):
    """Splicing a fused layer's pre-activation still applies the activation (Keras) / the ReLU op (graphs)."""
    adapter = tiny_adapters[kind]
    x = rng.uniform(size=(1, 12, 12, 3)).astype(np.float32)
    acts = adapter.activation_fn(["conv1_pre_relu", "conv1", "logits"])(tf.constant(x))
    fn = adapter.spliced_fn("conv1_pre_relu", ["conv1", "logits"])
    out = fn(None, acts["conv1_pre_relu"])
    np.testing.assert_allclose(out["conv1"].numpy(), acts["conv1"].numpy(), rtol=1e-6)
    np.testing.assert_allclose(out["logits"].numpy(), acts["logits"].numpy(), rtol=1e-5, atol=1e-6)
    neg = fn(None, -tf.abs(acts["conv1_pre_relu"]))["conv1"].numpy()
    assert np.all(neg == 0.0)


@pytest.mark.parametrize("kind", KINDS)
def test_spliced_fn_rejects_layers_before_the_splice(tiny_adapters, kind):
    adapter = tiny_adapters[kind]
    with pytest.raises(ValueError, match="does not depend on"):
        adapter.spliced_fn("relu2", ["conv1"])
    with pytest.raises(ValueError, match="unknown layer"):
        adapter.spliced_fn("relu_2", ["logits"])


# -- a residual model: the output needs the image too (a bypass around the spliced layer) ----------------------

def _residual_weights():
    r = np.random.default_rng(3)
    return {"a": (r.normal(size=(3, 3, 3, 4)) * 0.5).astype(np.float32),
            "b": (r.normal(size=(3, 3, 4, 4)) * 0.5).astype(np.float32),
            "d": (r.normal(size=(4, 2))).astype(np.float32)}


def _residual_keras(w):
    import keras

    inputs = keras.Input((None, None, 3), name="image")
    a = keras.layers.Conv2D(4, 3, padding="same", activation="relu", use_bias=False, name="a")(inputs)
    b = keras.layers.Conv2D(4, 3, padding="same", activation="relu", use_bias=False, name="b")(a)
    s = keras.layers.Add(name="sum")([b, a])
    g = keras.layers.GlobalAveragePooling2D(name="gap")(s)
    out = keras.layers.Dense(2, use_bias=False, name="out")(g)
    model = keras.Model(inputs, out)
    for name in "abd":
        model.get_layer({"d": "out"}.get(name, name)).set_weights([w[name]])
    return model


def _residual_graph_def(w):
    graph = tf.Graph()
    with graph.as_default():
        x = tf.compat.v1.placeholder(tf.float32, (None, None, None, 3), name="image")
        a = tf.nn.relu(tf.nn.conv2d(x, tf.constant(w["a"]), 1, "SAME"), name="a")
        b = tf.nn.relu(tf.nn.conv2d(a, tf.constant(w["b"]), 1, "SAME"), name="b")
        s = tf.add(b, a, name="sum")
        tf.matmul(tf.reduce_mean(s, axis=[1, 2], name="gap"), tf.constant(w["d"]), name="out")
    return graph.as_graph_def()


@pytest.mark.parametrize("kind", ["keras", "graphdef"])
def test_spliced_fn_with_a_bypass_broadcasts_the_image_path(rng, kind):
    w = _residual_weights()
    adapter = load_model(_residual_keras(w) if kind == "keras" else _residual_graph_def(w))
    x = rng.uniform(size=(1, 8, 8, 3)).astype(np.float32)
    acts = adapter.activation_fn(["a", "b", "out"])(tf.constant(x))
    fn = adapter.spliced_fn("b", ["out"])
    assert fn.needs_input is True
    with pytest.raises(ValueError, match="needs the input image"):
        fn(None, acts["b"])
    scales = np.array([0.0, 0.5, 1.0], np.float32)[:, None, None, None]
    batch = acts["b"].numpy() * scales
    cot = rng.normal(size=(3, 2)).astype(np.float32)
    y, g = _vjp(lambda v: fn(tf.constant(x), v)["out"], batch, cot)
    a_np = acts["a"].numpy()
    y_ref, g_ref = _vjp(lambda v: tf.matmul(tf.reduce_mean(v + a_np, axis=[1, 2]), w["d"]), batch, cot)
    np.testing.assert_allclose(y, y_ref, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(g, g_ref, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(y[2], acts["out"].numpy()[0], rtol=1e-5)
