"""Lucid's redirected ReLU gradient, sign-flipped for an engine that maximizes: hand-computed cases, the
tf.custom_gradient form, the registered-gradient form, and the adapters on units that are dead everywhere."""
import numpy as np
import pytest
import tensorflow as tf

from lucid_fast.models import load_model, redirected_relu, redirected_relu6, redirected_relu_grad

# item 0 has a live unit, so it keeps the ordinary ReLU gradient; item 1 is dead everywhere, so it gets the
# redirected gradient: g, except where x < 0 and g < 0 (a step along +g would push x further down).
RELU_X = np.array([[-1.0, 2.0, -3.0, 0.0], [-1.0, -2.0, -0.5, -4.0]], np.float32)
RELU_G = np.array([[0.5, -1.0, -2.0, 3.0], [0.5, -1.0, 2.0, -3.0]], np.float32)
RELU_EXPECTED = np.array([[0.0, -1.0, 0.0, 3.0], [0.5, 0.0, 2.0, 0.0]], np.float32)

# ReLU6: item 0 is blocked everywhere (x > 6 or x < 0): keep g except where x > 6 and g > 0, or x < 0 and g < 0;
# item 1 passes through its unit at 3 and keeps the ordinary gradient.
RELU6_X = np.array([[7.0, 8.0, -1.0, -2.0], [3.0, 7.0, -1.0, 9.0]], np.float32)
RELU6_G = np.array([[1.0, -2.0, 3.0, -4.0], [1.0, 1.0, 1.0, -1.0]], np.float32)
RELU6_EXPECTED = np.array([[0.0, -2.0, 3.0, 0.0], [1.0, 0.0, 0.0, 0.0]], np.float32)


def test_redirected_relu_grad_hand_computed():
    got = redirected_relu_grad(tf.constant(RELU_X), tf.constant(RELU_G)).numpy()
    np.testing.assert_array_equal(got, RELU_EXPECTED)


def test_redirected_relu6_grad_hand_computed():
    got = redirected_relu_grad(tf.constant(RELU6_X), tf.constant(RELU6_G), upper=6.0).numpy()
    np.testing.assert_array_equal(got, RELU6_EXPECTED)


def test_redirected_grad_is_decided_per_batch_item_over_all_axes():
    """NHWC: an item is 'dead' only if its ordinary gradient is zero at every pixel and channel."""
    x = -np.ones((2, 3, 3, 2), np.float32)
    x[0, 2, 1, 1] = 0.5  # item 0: one live unit
    g = np.full_like(x, -1.0)
    g[:, 0, 0, 0] = 2.0
    got = redirected_relu_grad(tf.constant(x), tf.constant(g)).numpy()
    expected = np.zeros_like(x)
    expected[0, 2, 1, 1] = -1.0          # item 0: ordinary gradient (only the live unit passes)
    expected[1, 0, 0, 0] = 2.0           # item 1: redirected (only the upward push passes)
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("fn, x, g, expected", [(redirected_relu, RELU_X, RELU_G, RELU_EXPECTED),
                                                (redirected_relu6, RELU6_X, RELU6_G, RELU6_EXPECTED)])
def test_custom_gradient_functions(fn, x, g, expected):
    @tf.function
    def grad(x_t):
        with tf.GradientTape() as tape:
            tape.watch(x_t)
            y = fn(x_t)
            total = tf.reduce_sum(y * g)
        return y, tape.gradient(total, x_t)

    y, dx = grad(tf.constant(x))
    reference = tf.nn.relu(x) if fn is redirected_relu else tf.nn.relu6(x)
    np.testing.assert_array_equal(y.numpy(), reference.numpy())
    np.testing.assert_array_equal(dx.numpy(), expected)


@pytest.mark.parametrize("op, x, g, expected", [("Relu", RELU_X, RELU_G, RELU_EXPECTED),
                                                ("Relu6", RELU6_X, RELU6_G, RELU6_EXPECTED)])
def test_registered_gradient_under_override_map(op, x, g, expected):
    from lucid_fast.models import tf_overrides

    tf_overrides._register_override_gradients()
    tf_overrides._register_override_gradients()  # idempotent
    graph = tf.Graph()
    with graph.as_default():
        x_t = tf.constant(x)
        overrides = {"Relu": tf_overrides._RELU_GRAD_NAME, "Relu6": tf_overrides._RELU6_GRAD_NAME}
        with graph.gradient_override_map(overrides):
            y = tf.nn.relu(x_t) if op == "Relu" else tf.nn.relu6(x_t)
        (dx,) = tf.compat.v1.gradients(tf.reduce_sum(y * g), [x_t])
        with tf.compat.v1.Session(graph=graph) as sess:
            got = sess.run(dx)
    np.testing.assert_array_equal(got, expected)


# ------------------------------------------------------------------------------------------------------------
# Through the adapters: "dead" = ReLU(x_R - 10) is dead for every image in [0, 1]; "sat" = ReLU6(x_R + 10) is
# saturated. Objective sum(g * layer) with a random g of both signs.
#   dead, override: d/dx_R = max(g, 0)      (negative pre-activations: only upward pushes pass)
#   sat,  override: d/dx_R = min(g, 0)      (above 6: only downward pushes pass)
#   without override: 0.
# ------------------------------------------------------------------------------------------------------------

_KERNEL = np.array([1.0, 0.0, 0.0], np.float32).reshape(1, 1, 3, 1)


def _dead_keras():
    import keras

    inputs = keras.Input((None, None, 3), name="image")
    dead = keras.layers.Conv2D(1, 1, activation="relu", name="dead")(inputs)
    hot = keras.layers.Conv2D(1, 1, name="hot")(inputs)
    sat = keras.layers.ReLU(max_value=6.0, name="sat")(hot)
    act = keras.layers.Activation("relu", name="act")(keras.layers.Conv2D(1, 1, name="low")(inputs))
    model = keras.Model(inputs, [dead, sat, act])
    model.get_layer("dead").set_weights([_KERNEL, np.array([-10.0], np.float32)])
    model.get_layer("hot").set_weights([_KERNEL, np.array([10.0], np.float32)])
    model.get_layer("low").set_weights([_KERNEL, np.array([-10.0], np.float32)])
    return model


def _dead_graph_def():
    graph = tf.Graph()
    with graph.as_default():
        x = tf.compat.v1.placeholder(tf.float32, [None, None, None, 3], name="image")
        k = tf.constant(_KERNEL)
        tf.nn.relu(tf.nn.conv2d(x, k, 1, "SAME") - 10.0, name="dead")
        tf.nn.relu6(tf.nn.conv2d(x, k, 1, "SAME") + 10.0, name="sat")
        tf.nn.relu(tf.nn.conv2d(x, k, 1, "SAME") - 10.0, name="act")
    return graph.as_graph_def()


@pytest.mark.parametrize("source", ["keras", "graphdef"])
@pytest.mark.parametrize("layer, rule", [("dead", np.maximum), ("sat", np.minimum), ("act", np.maximum)])
def test_adapter_override_on_dead_units(source, layer, rule, grad_helper, rng):
    adapter = load_model(_dead_keras() if source == "keras" else _dead_graph_def())
    x_np = rng.uniform(size=(2, 5, 4, 3)).astype(np.float32)
    g = rng.normal(size=(2, 5, 4, 1)).astype(np.float32)
    cot = {layer: tf.constant(g)}
    _, plain = grad_helper(adapter.activation_fn([layer]), x_np, cot, [layer])
    _, overridden = grad_helper(adapter.activation_fn([layer], relu_override=True), x_np, cot, [layer])
    np.testing.assert_array_equal(plain, np.zeros_like(plain))
    expected = np.zeros_like(x_np)
    expected[..., 0] = rule(g[..., 0], 0.0)
    np.testing.assert_allclose(overridden, expected, rtol=1e-6, atol=1e-7)


# ------------------------------------------------------------------------------------------------------------
# relu_override="force": the redirected gradient for every batch item, also where some unit passes (the engine's
# second pass for an image whose gradient came back exactly zero; lucid_fast/optvis/engine.py)
# ------------------------------------------------------------------------------------------------------------

RELU_FORCED = np.array([[0.5, -1.0, 0.0, 3.0], [0.5, 0.0, 2.0, 0.0]], np.float32)  # item 0 redirected too
RELU6_FORCED = np.array([[0.0, -2.0, 3.0, 0.0], [1.0, 0.0, 1.0, -1.0]], np.float32)


@pytest.mark.parametrize("upper, x, g, expected", [(None, RELU_X, RELU_G, RELU_FORCED),
                                                   (6.0, RELU6_X, RELU6_G, RELU6_FORCED)])
def test_forced_redirection_hand_computed(upper, x, g, expected):
    got = redirected_relu_grad(tf.constant(x), tf.constant(g), upper=upper, force=True).numpy()
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("op, x, g, expected", [("Relu", RELU_X, RELU_G, RELU_FORCED),
                                                ("Relu6", RELU6_X, RELU6_G, RELU6_FORCED)])
def test_forced_forms_custom_and_registered(op, x, g, expected):
    from lucid_fast.models import tf_overrides

    fn = tf_overrides.relu_fn(op.lower(), "force")
    with tf.GradientTape() as tape:
        x_t = tf.constant(x)
        tape.watch(x_t)
        y = fn(x_t)
        total = tf.reduce_sum(y * g)
    np.testing.assert_array_equal(tape.gradient(total, x_t).numpy(), expected)
    tf_overrides._register_override_gradients()
    graph = tf.Graph()
    with graph.as_default():
        x_t = tf.constant(x)
        names = {"Relu": tf_overrides._FORCED_RELU_GRAD_NAME, "Relu6": tf_overrides._FORCED_RELU6_GRAD_NAME}
        with graph.gradient_override_map(names):
            y = tf.nn.relu(x_t) if op == "Relu" else tf.nn.relu6(x_t)
        (dx,) = tf.compat.v1.gradients(tf.reduce_sum(y * g), [x_t])
        with tf.compat.v1.Session(graph=graph) as sess:
            np.testing.assert_array_equal(sess.run(dx), expected)


def test_relu_override_modes():
    from lucid_fast.models import tf_overrides

    assert [tf_overrides.relu_override_mode(v) for v in (0, 1, True, "force")] == [False, True, True, "force"]
    with pytest.raises(ValueError, match="False, True or 'force'"):
        tf_overrides.relu_override_mode("always")


@pytest.mark.parametrize("source", ["keras", "graphdef"])
def test_adapter_forced_override_redirects_an_item_that_passes(source, grad_helper, rng):
    """Both adapters run the forced form: the "act" layer of item 0 is made live at one pixel (so the per-item rule
    keeps its ordinary gradient), while "force" redirects it like the dead item."""
    adapter = load_model(_dead_keras() if source == "keras" else _dead_graph_def())
    x_np = rng.uniform(size=(2, 5, 4, 3)).astype(np.float32)
    x_np[0, 0, 0, 0] = 11.0  # ReLU(x_R - 10) > 0 there: item 0 passes a gradient
    g = np.abs(rng.normal(size=(2, 5, 4, 1))).astype(np.float32) + 0.1
    cot = {"act": tf.constant(g)}
    _, per_item = grad_helper(adapter.activation_fn(["act"], relu_override=True), x_np, cot, ["act"])
    _, forced = grad_helper(adapter.activation_fn(["act"], relu_override="force"), x_np, cot, ["act"])
    assert np.count_nonzero(per_item[0]) == 1  # the ordinary gradient: the live pixel only
    np.testing.assert_allclose(forced[..., 0], g[..., 0], rtol=1e-6)  # redirected: every upward push passes
