"""Tiny models for the adapter tests: one architecture as a Keras model, a frozen GraphDef and a SavedModel.

    image (None, None, 3) -> conv1 (3x3, fused ReLU) -> conv2 (3x3, linear) -> relu2 (ReLU layer)
    -> down (1x1 stride-2 conv) -> clip6 (ReLU6 layer) -> pool (2x2 max) -> gap (global mean)
    -> fc (dense, fused ReLU) -> logits (dense)

The three share weights and expose the same names (``TAPS``), so every test can run against each kind. Input
gradients are only ever computed inside ``tf.function`` (TF 2.21's oneDNN backward of a 1x1 stride-2 conv can
crash in eager mode on this CPU).
"""
import types

import numpy as np
import pytest
import tensorflow as tf

TAPS = ["conv1_pre_relu", "conv1", "relu2_pre_relu", "relu2", "down", "clip6", "pool", "fc_pre_relu", "fc",
        "logits"]
LATER_THAN = {  # for truncation checks: op-name fragments that must not appear when computing the key layer
    "conv1": ["conv2", "down", "fc", "logits"],
    "relu2": ["down", "clip6", "fc", "logits"],
}


def _weights():
    rng = np.random.default_rng(7)

    def normal(*shape, scale):
        return (rng.normal(size=shape) * scale).astype(np.float32)

    return {
        "conv1": (normal(3, 3, 3, 4, scale=0.5), normal(4, scale=0.2)),
        "conv2": (normal(3, 3, 4, 4, scale=0.4), normal(4, scale=0.2)),
        "down": (normal(1, 1, 4, 6, scale=1.5), normal(6, scale=0.3)),
        "fc": (normal(6, 5, scale=1.0), normal(5, scale=0.2)),
        "logits": (normal(5, 3, scale=1.0), normal(3, scale=0.1)),
    }


def _keras_model(w):
    import keras

    inputs = keras.Input((None, None, 3), name="image")
    x = keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="conv1")(inputs)
    x = keras.layers.Conv2D(4, 3, padding="same", name="conv2")(x)
    x = keras.layers.ReLU(name="relu2")(x)
    x = keras.layers.Conv2D(6, 1, strides=2, name="down")(x)
    x = keras.layers.ReLU(max_value=6.0, name="clip6")(x)
    x = keras.layers.MaxPooling2D(2, name="pool")(x)
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    x = keras.layers.Dense(5, activation="relu", name="fc")(x)
    x = keras.layers.Dense(3, name="logits")(x)
    model = keras.Model(inputs, x, name="tiny")
    for name, (kernel, bias) in w.items():
        model.get_layer(name).set_weights([kernel, bias])
    return model


def _forward(x, w, relu=tf.nn.relu, relu6=tf.nn.relu6):
    """The architecture written with plain TF ops (names as TAPS); ``relu``/``relu6`` are swappable."""
    c = {k: (tf.constant(a), tf.constant(b)) for k, (a, b) in w.items()}
    out = {}
    out["conv1_pre_relu"] = tf.nn.bias_add(tf.nn.conv2d(x, c["conv1"][0], 1, "SAME"), c["conv1"][1])
    out["conv1"] = relu(out["conv1_pre_relu"])
    out["relu2_pre_relu"] = tf.nn.bias_add(tf.nn.conv2d(out["conv1"], c["conv2"][0], 1, "SAME"), c["conv2"][1])
    out["relu2"] = relu(out["relu2_pre_relu"])
    out["down"] = tf.nn.bias_add(tf.nn.conv2d(out["relu2"], c["down"][0], 2, "VALID"), c["down"][1])
    out["clip6"] = relu6(out["down"])
    out["pool"] = tf.nn.max_pool2d(out["clip6"], 2, 2, "VALID")
    gap = tf.reduce_mean(out["pool"], axis=[1, 2])
    out["fc_pre_relu"] = tf.nn.bias_add(tf.matmul(gap, c["fc"][0]), c["fc"][1])
    out["fc"] = relu(out["fc_pre_relu"])
    out["logits"] = tf.nn.bias_add(tf.matmul(out["fc"], c["logits"][0]), c["logits"][1])
    return out


def _graph_def(w, placeholder_shape=(None, None, None, 3)):
    """A frozen GraphDef of the architecture, op names in Lucid's style (``conv1_pre_relu`` -> ``conv1``)."""
    graph = tf.Graph()
    with graph.as_default():
        x = tf.compat.v1.placeholder(tf.float32, placeholder_shape, name="image")

        def const(name, value):
            return tf.constant(value, name=name)

        h = tf.nn.conv2d(x, const("conv1_w", w["conv1"][0]), 1, "SAME", name="conv1_conv")
        h = tf.nn.bias_add(h, const("conv1_b", w["conv1"][1]), name="conv1_pre_relu")
        h = tf.nn.relu(h, name="conv1")
        h = tf.nn.conv2d(h, const("conv2_w", w["conv2"][0]), 1, "SAME", name="conv2_conv")
        h = tf.nn.bias_add(h, const("conv2_b", w["conv2"][1]), name="conv2")
        h = tf.nn.relu(h, name="relu2")
        h = tf.nn.conv2d(h, const("down_w", w["down"][0]), 2, "VALID", name="down_conv")
        h = tf.nn.bias_add(h, const("down_b", w["down"][1]), name="down")
        h = tf.nn.relu6(h, name="clip6")
        h = tf.nn.max_pool2d(h, 2, 2, "VALID", name="pool")
        h = tf.reduce_mean(h, axis=[1, 2], name="gap")
        h = tf.matmul(h, const("fc_w", w["fc"][0]), name="fc_matmul")
        h = tf.nn.bias_add(h, const("fc_b", w["fc"][1]), name="fc_pre_relu")
        h = tf.nn.relu(h, name="fc")
        h = tf.matmul(h, const("logits_w", w["logits"][0]), name="logits_matmul")
        tf.nn.bias_add(h, const("logits_b", w["logits"][1]), name="logits")
    graph_def = graph.as_graph_def()
    names = {n.name for n in graph_def.node}
    assert set(TAPS) - {"relu2_pre_relu"} <= names, names  # the builder really produced these names
    return graph_def


class _TinyModule(tf.Module):
    """The architecture as a tf.Module with variables (for a SavedModel that must be frozen)."""

    def __init__(self, w):
        super().__init__()
        self.vars = {k: (tf.Variable(a, name=k + "_w"), tf.Variable(b, name=k + "_b")) for k, (a, b) in w.items()}
        self.serve = tf.function(self._serve, input_signature=[tf.TensorSpec([None, None, None, 3], tf.float32,
                                                                             name="image")])

    def _serve(self, x):
        v = self.vars
        h = tf.nn.bias_add(tf.nn.conv2d(x, v["conv1"][0], 1, "SAME"), v["conv1"][1], name="conv1_pre_relu")
        h = tf.nn.relu(h, name="conv1")
        h = tf.nn.bias_add(tf.nn.conv2d(h, v["conv2"][0], 1, "SAME"), v["conv2"][1], name="conv2")
        h = tf.nn.relu(h, name="relu2")
        h = tf.nn.bias_add(tf.nn.conv2d(h, v["down"][0], 2, "VALID"), v["down"][1], name="down")
        h = tf.nn.relu6(h, name="clip6")
        h = tf.nn.max_pool2d(h, 2, 2, "VALID", name="pool")
        h = tf.reduce_mean(h, axis=[1, 2], name="gap")
        h = tf.nn.bias_add(tf.matmul(h, v["fc"][0]), v["fc"][1], name="fc_pre_relu")
        h = tf.nn.relu(h, name="fc")
        return {"logits": tf.nn.bias_add(tf.matmul(h, v["logits"][0]), v["logits"][1], name="logits")}


@pytest.fixture(scope="session")
def tiny():
    """Everything about the tiny architecture: weights, builders and the references."""
    w = _weights()
    return types.SimpleNamespace(
        weights=w,
        taps=list(TAPS),
        later_than=LATER_THAN,
        keras_model=lambda: _keras_model(w),
        graph_def=lambda placeholder_shape=(None, None, None, 3): _graph_def(w, placeholder_shape),
        module=lambda: _TinyModule(w),
        forward=lambda x, **kw: _forward(x, w, **kw),
    )


@pytest.fixture(scope="session")
def tiny_saved_model(tmp_path_factory, tiny):
    path = str(tmp_path_factory.mktemp("tiny_saved_model"))
    module = tiny.module()
    tf.saved_model.save(module, path, signatures={"serving_default": module.serve})
    return path


@pytest.fixture(scope="session")
def tiny_adapters(tiny, tiny_saved_model):
    """The three adapters of the tiny architecture: {"keras": ..., "graphdef": ..., "saved_model": ...}."""
    from lucid_fast.models import load_model

    return {
        "keras": load_model(tiny.keras_model()),
        "graphdef": load_model(tiny.graph_def(), image_shape=(16, 16, 3)),
        "saved_model": load_model(tiny_saved_model, image_shape=(16, 16, 3)),
    }


def input_gradient(fn, x_np, cotangents, layer_names):
    """d/dx of sum_l <cotangent_l, fn(x)[l]>, computed inside tf.function; returns (activations, gradient)."""

    @tf.function(autograph=False)
    def step(x_t):
        with tf.GradientTape() as tape:
            tape.watch(x_t)
            acts = fn(x_t)
            total = tf.add_n([tf.reduce_sum(acts[n] * cotangents[n]) for n in layer_names])
        return acts, tape.gradient(total, x_t)

    acts, grad = step(tf.constant(x_np))
    return {k: v.numpy() for k, v in acts.items()}, grad.numpy()


@pytest.fixture(scope="session")
def grad_helper():
    return input_gradient


def all_node_names(concrete_function):
    """Every node name in a concrete function's graph, including the functions it calls (its library)."""
    graph_def = concrete_function.graph.as_graph_def()
    names = [n.name for n in graph_def.node]
    for fdef in graph_def.library.function:
        names.extend(n.name for n in fdef.node_def)
    return names


@pytest.fixture(scope="session")
def node_names():
    return all_node_names
