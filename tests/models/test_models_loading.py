"""load_model's dispatch and errors, and the less common graph shapes: Sequential, nested and subclassed Keras
models, shared layers, keras ops, Keras-exported SavedModels, concatenations with pre-ReLU taps, fixed-shape
placeholders."""
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from adjoint import assert_close
from lucid_fast.models import GraphDefAdapter, KerasAdapter, ModelAdapter, load_model


def test_load_model_dispatch(tiny, tiny_saved_model, tmp_path):
    keras_adapter = load_model(tiny.keras_model())
    assert isinstance(keras_adapter, KerasAdapter)
    assert load_model(keras_adapter) is keras_adapter
    with pytest.raises(ValueError, match="returned as is"):
        load_model(keras_adapter, image_value_range=(0, 255))
    assert isinstance(load_model(tiny_saved_model), GraphDefAdapter)
    assert isinstance(load_model(os.path.join(tiny_saved_model, "saved_model.pb")), GraphDefAdapter)
    pb = tmp_path / "tiny.pb"
    pb.write_bytes(tiny.graph_def().SerializeToString())
    from_pb = load_model(str(pb), input_name="image:0", image_shape=(16, 16, 3), image_value_range=(-1, 1))
    assert isinstance(from_pb, GraphDefAdapter)
    assert from_pb.name == "tiny" and from_pb.image_value_range == (-1.0, 1.0) and from_pb.image_shape == (16, 16, 3)
    assert isinstance(load_model(pb), GraphDefAdapter)  # PathLike
    assert isinstance(load_model(tiny.graph_def()), GraphDefAdapter)
    keras_file = tmp_path / "tiny.keras"
    tiny.keras_model().save(str(keras_file))
    from_file = load_model(str(keras_file), image_value_range=(0, 2))
    assert isinstance(from_file, KerasAdapter) and from_file.image_value_range == (0.0, 2.0)


@pytest.mark.parametrize("bad, match", [
    (42, "accepted"),
    ("definitely_not_a_model_or_path", "neither an existing path nor a modelzoo name"),
    ("vgg16_hd", "vgg16_hed"),
])
def test_load_model_rejects_what_it_cannot_load(bad, match):
    from lucid_fast import modelzoo

    with pytest.raises(ValueError, match=match):
        modelzoo.load_model(bad)
    with pytest.raises(ValueError, match="accepted" if bad == 42 else "not an existing path"):
        load_model(bad)


def test_zoo_names_load_through_the_zoo(tmp_path, monkeypatch):
    """lucid_fast.models.load_model does not know the zoo (the zoo imports it, never the reverse): a zoo name
    there is an error that says where names load; modelzoo.load_model takes names and everything else."""
    from lucid_fast import modelzoo

    with pytest.raises(ValueError, match=r"lucid_fast\.modelzoo\.load_model\(name\)"):
        load_model("vgg16_hed")
    adapter = modelzoo.load_model("vgg16_hed")
    assert isinstance(adapter, KerasAdapter)
    assert modelzoo.load_model(adapter) is adapter
    monkeypatch.chdir(tmp_path)
    (tmp_path / "vgg16_hed").mkdir()  # an existing folder of a zoo name's name is a path, as before
    with pytest.raises(ValueError, match="not a SavedModel"):
        modelzoo.load_model("vgg16_hed")


def test_models_import_neither_the_zoo_nor_tensorflow_for_the_protocol():
    import subprocess
    import sys

    code = ("import sys; import lucid_fast.models.protocol; assert 'tensorflow' not in sys.modules; "
            "import lucid_fast.models as m; m.load_model; m.KerasAdapter; m.GraphDefAdapter; m.estimate_step_bytes; "
            "assert 'lucid_fast.modelzoo' not in sys.modules and 'lucid_fast.optvis' not in sys.modules, "
            "sorted(k for k in sys.modules if k.startswith('lucid_fast'))")
    subprocess.run([sys.executable, "-c", code], check=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})


def test_load_model_rejects_files_it_cannot_read(tmp_path):
    (tmp_path / "empty_dir").mkdir()
    with pytest.raises(ValueError, match="not a SavedModel"):
        load_model(str(tmp_path / "empty_dir"))
    junk = tmp_path / "junk.pb"
    junk.write_bytes(b"\xff\xfe not a protobuf at all")
    with pytest.raises(ValueError, match="GraphDef"):
        load_model(str(junk))
    other = tmp_path / "model.onnx"
    other.write_bytes(b"x")
    with pytest.raises(ValueError, match="extension"):
        load_model(str(other))


def test_bad_adapter_arguments(tiny):
    with pytest.raises(ValueError, match="image_value_range"):
        load_model(tiny.keras_model(), image_value_range=(1, 0))
    with pytest.raises(ValueError, match="input_name"):
        load_model(tiny.graph_def(), input_name="nope")
    with pytest.raises(ValueError, match="image_shape"):
        load_model(tiny.graph_def(), image_shape=(16, 16, 4))


def test_graph_def_input_must_be_inferable():
    graph = tf.Graph()
    with graph.as_default():
        a = tf.compat.v1.placeholder(tf.float32, [None, None, None, 3], name="a")
        b = tf.compat.v1.placeholder(tf.float32, [None, None, None, 3], name="b")
        tf.nn.relu(a + b, name="out")
    with pytest.raises(ValueError, match="pass input_name"):
        load_model(graph.as_graph_def())
    adapter = load_model(graph.as_graph_def(), input_name="a")
    assert adapter.input_name == "a"


def test_subclassed_model_is_refused_with_advice():
    class Sub(keras.Model):
        def __init__(self):
            super().__init__()
            self.conv = keras.layers.Conv2D(2, 1)

        def call(self, x):
            return self.conv(x)

    model = Sub()
    model(tf.zeros([1, 4, 4, 3]))
    with pytest.raises(ValueError, match="functional"):
        load_model(model)


def test_sequential_models(rng):
    seq = keras.Sequential([keras.Input((None, None, 3)), keras.layers.Conv2D(2, 3, activation="relu", name="c"),
                            keras.layers.Dropout(0.5, name="drop"), keras.layers.Conv2D(1, 1, name="d")])
    adapter = load_model(seq)
    x = rng.uniform(size=(2, 6, 5, 3)).astype(np.float32)
    acts = adapter.activation_fn(["c_pre_relu", "drop", "d"])(tf.constant(x))
    assert_close(acts["d"].numpy(), seq(tf.constant(x)).numpy(), "fwd", "sequential output (dropout off)")
    assert (acts["c_pre_relu"].numpy() < 0).any() and (acts["drop"].numpy() >= 0).all()
    unbuilt = keras.Sequential([keras.layers.Conv2D(2, 3)])
    with pytest.raises(ValueError, match="keras.Input"):
        load_model(unbuilt)


def test_nested_models_shared_layers_and_keras_ops(rng):
    inner_in = keras.Input((None, None, 4))
    inner_out = keras.layers.Conv2D(3, 1, activation="relu", name="inner_conv")(inner_in)
    inner = keras.Model(inner_in, inner_out, name="block")
    inputs = keras.Input((None, None, 3), name="img")
    shared = keras.layers.Conv2D(4, 1, name="shared")
    a = shared(inputs)
    b = shared(keras.ops.flip(inputs, axis=-1))
    h = inner(keras.ops.relu(a - 0.1))
    out = keras.layers.Concatenate(name="cat")([h, b])
    model = keras.Model(inputs, out)
    adapter = load_model(model)
    names = adapter.layer_names()
    assert adapter.resolve("input") == "input" and "input" not in names  # an alias of "img", not listed twice
    for expected in ("img", "shared", "shared_1", "block", "block/inner_conv", "block/inner_conv_pre_relu",
                     "cat", "relu", "relu_pre_relu"):
        assert expected in names, (expected, names)
    x = rng.uniform(size=(2, 5, 6, 3)).astype(np.float32)
    acts = adapter.activation_fn(["cat", "shared_1", "block/inner_conv_pre_relu", "block"])(tf.constant(x))
    assert_close(acts["cat"].numpy(), model(tf.constant(x)).numpy(), "fwd", "nested model output")
    kernel, bias = shared.get_weights()
    assert_close(acts["shared_1"].numpy(), x[..., ::-1] @ kernel[0, 0] + bias, "fwd", "second call of a shared layer")
    assert_close(np.maximum(acts["block/inner_conv_pre_relu"].numpy(), 0), acts["block"].numpy(), "fwd", "nested")


def test_keras_relu_ops_take_the_override(grad_helper):
    inputs = keras.Input((None, None, 3))
    out = keras.ops.relu(inputs - 5.0)
    out6 = keras.ops.relu6(inputs + 10.0)
    adapter = load_model(keras.Model(inputs, [out, out6]))
    relu_names = [i.name for i in adapter.layers() if i.kind == "relu"]
    assert len(relu_names) == 2, relu_names
    relu6 = [n for n in relu_names if "relu6" in n][0]
    relu = [n for n in relu_names if n != relu6][0]
    x = np.full((1, 2, 2, 3), 0.5, np.float32)
    g = np.array([1.0, -1.0, 2.0], np.float32) * np.ones((1, 2, 2, 3), np.float32)
    for name, expected in ((relu, np.maximum(g, 0)), (relu6, np.minimum(g, 0))):
        _, dx = grad_helper(adapter.activation_fn([name], relu_override=True), x, {name: tf.constant(g)}, [name])
        np.testing.assert_array_equal(dx, expected)


def test_keras_non_relu_fused_activation_gets_a_pre_activation_tap(rng, grad_helper):
    inputs = keras.Input((None, None, 3))
    model = keras.Model(inputs, keras.layers.Conv2D(2, 1, activation="sigmoid", name="probs")(inputs))
    adapter = KerasAdapter(model)
    assert "probs_pre_activation" in adapter.layer_names()
    x = rng.uniform(size=(1, 3, 3, 3)).astype(np.float32)
    kernel, bias = model.get_layer("probs").get_weights()
    acts = adapter.activation_fn(["probs", "probs_pre_activation"], relu_override=True)(tf.constant(x))
    assert_close(acts["probs_pre_activation"].numpy(), x @ kernel[0, 0] + bias, "fwd", "logits")
    assert_close(acts["probs"].numpy(), model(tf.constant(x)).numpy(), "fwd", "sigmoid kept")
    cot = {"probs": tf.ones([1, 3, 3, 2])}
    _, g_on = grad_helper(adapter.activation_fn(["probs"], relu_override=True), x, cot, ["probs"])
    _, g_off = grad_helper(adapter.activation_fn(["probs"]), x, cot, ["probs"])
    np.testing.assert_array_equal(g_on, g_off)  # the override touches ReLUs only


def test_non_image_keras_model_is_refused():
    inputs = keras.Input((4,))
    with pytest.raises(ValueError, match="NHWC"):
        KerasAdapter(keras.Model(inputs, keras.layers.Dense(3)(inputs)))


def test_keras_exported_saved_model(tmp_path, tiny, rng):
    model = tiny.keras_model()
    path = str(tmp_path / "exported")
    model.export(path, verbose=False)
    adapter = load_model(path)
    x = rng.uniform(size=(1, 9, 8, 3)).astype(np.float32)
    outputs = [i.name for i in adapter.layers() if i.name.endswith("Identity") or i.kind == "relu"]
    assert outputs, adapter.layer_names()
    conv1_relu = adapter.resolve([n for n in adapter.layer_names() if "conv1" in n and n.endswith("Relu")][0])
    acts = adapter.activation_fn([conv1_relu, "Identity"])(tf.constant(x))
    assert_close(acts["Identity"].numpy(), model(tf.constant(x)).numpy(), "fwd", "exported model output")
    assert_close(acts[conv1_relu].numpy(), tiny.forward(tf.constant(x))["conv1"].numpy(), "fwd", "exported conv1")


def _concat_graph(old_style):
    graph = tf.Graph()
    with graph.as_default():
        x = tf.compat.v1.placeholder(tf.float32, [1, 8, 8, 3], name="input")  # fixed shape, as old graphs have
        a_pre = tf.nn.conv2d(x, tf.constant(np.ones((1, 1, 3, 2), np.float32)), 1, "SAME", name="a_pre_conv") - 1.0
        a = tf.nn.relu(a_pre, name="branch_a")
        b = tf.identity(x * 2.0, name="branch_b")  # no ReLU on this branch
        if old_style:
            tf.raw_ops.Concat(concat_dim=tf.constant(3), values=[a, b], name="mixed")
        else:
            tf.concat([a, b], axis=3, name="mixed")
    return graph.as_graph_def()


@pytest.mark.parametrize("old_style", [False, True])
def test_concat_pre_relu_and_fixed_shape_placeholder(old_style, rng):
    adapter = load_model(_concat_graph(old_style))
    assert adapter.image_shape == (8, 8, 3)  # from the placeholder
    infos = {i.name: i for i in adapter.layers()}
    assert infos["mixed"].channels == 5 and infos["mixed"].spatial == (8, 8)
    assert infos["mixed_pre_relu"].kind == "pre_relu" and infos["mixed_pre_relu"].channels == 5
    x = rng.uniform(size=(2, 5, 7, 3)).astype(np.float32)  # another size and batch than the placeholder's
    acts = tf.function(adapter.activation_fn(["mixed", "mixed_pre_relu", "branch_a_pre_relu", "input"]))(
        tf.constant(x))
    a_pre = x.sum(axis=-1, keepdims=True).repeat(2, axis=-1) - 1.0
    assert_close(acts["mixed_pre_relu"].numpy(), np.concatenate([a_pre, 2 * x], -1), "fwd", "concat pre-relu")
    assert_close(acts["mixed"].numpy(), np.concatenate([np.maximum(a_pre, 0), 2 * x], -1), "fwd", "concat")
    assert_close(acts["branch_a_pre_relu"].numpy(), a_pre, "fwd", "relu input")
    assert_close(acts["input"].numpy(), x, "fwd", "input")


def test_graph_def_lucid_names_and_listing(tiny):
    adapter = load_model(tiny.graph_def(), image_shape=(16, 16, 3))
    names = adapter.layer_names()
    # the graph's own conv1_pre_relu op is used, not an added one; relu2 gets an added one
    assert names.count("conv1_pre_relu") == 1 and "relu2_pre_relu" in names
    assert "conv1_w" not in names  # constants are not layers
    assert adapter.resolve("import/conv1:0") == "conv1"
    assert {i.kind for i in adapter.layers()} >= {"input", "conv", "relu", "pre_relu", "pool", "dense"}


def test_activation_functions_are_cached_and_traceable_twice(tiny, rng):
    adapter = load_model(tiny.graph_def())
    f1 = adapter.activation_fn(["relu2"])
    f2 = adapter.activation_fn(["relu2"])
    assert len(adapter._wrapped) == 1
    x = tf.constant(rng.uniform(size=(1, 6, 6, 3)).astype(np.float32))
    assert_close(tf.function(f1)(x).get("relu2").numpy(), f2(x)["relu2"].numpy(), "fwd", "same function")
    assert isinstance(adapter, ModelAdapter)


def test_saved_model_without_signatures_uses_call(tmp_path, rng):
    class Module(tf.Module):
        def __init__(self):
            super().__init__()
            self.w = tf.Variable(np.array([1.0, -2.0, 0.5], np.float32).reshape(1, 1, 3, 1))
            self.__call__ = tf.function(lambda x: tf.nn.relu(tf.nn.conv2d(x, self.w, 1, "SAME") - 0.1, name="act"),
                                        input_signature=[tf.TensorSpec([None, None, None, 3], tf.float32)])
            self.other = tf.function(lambda v: v * 2.0, input_signature=[tf.TensorSpec([None], tf.float32)])

    path = str(tmp_path / "no_signatures")
    tf.saved_model.save(Module(), path)
    assert not tf.saved_model.load(path).signatures  # two functions: TF picks no default signature
    adapter = load_model(path)
    x = rng.uniform(size=(2, 3, 4, 3)).astype(np.float32)
    acts = adapter.activation_fn(["act", "act_pre_relu"])(tf.constant(x))
    pre = x @ np.array([1.0, -2.0, 0.5], np.float32)[:, None] - 0.1
    assert_close(acts["act_pre_relu"].numpy(), pre, "fwd", "pre-relu")
    assert_close(acts["act"].numpy(), np.maximum(pre, 0), "fwd", "relu")
    with pytest.raises(ValueError, match="no signature"):
        load_model(path, signature="serving_default")


@pytest.mark.parametrize("kind", ["keras", "graphdef", "saved_model"])
def test_layer_accessor_on_an_image(kind, tiny_adapters, rng):
    """models.layer_accessor (the core of render.import_model): T(layer) as activation_fn gives it, T("input")
    the raw image, T("labels") the labels or a ValueError; the TF adapters are ModelAdapters of the protocol."""
    from lucid_fast.models import TFModelAdapter, layer_accessor
    from lucid_fast.models.protocol import ModelAdapter as ProtocolAdapter

    adapter = tiny_adapters[kind]
    assert isinstance(adapter, TFModelAdapter) and isinstance(adapter, ProtocolAdapter)
    assert ModelAdapter is ProtocolAdapter and isinstance(adapter.runs_on_gpu(), bool)
    img = rng.uniform(size=(16, 16, 3)).astype(np.float32)
    T = layer_accessor(adapter, img)
    expect = adapter.activation_fn(["conv1"])(img[None])["conv1"].numpy()
    np.testing.assert_array_equal(T("conv1:0").numpy(), expect)
    assert T("conv1") is T("conv1")  # computed once
    np.testing.assert_array_equal(T("input").numpy(), img[None])
    with pytest.raises(ValueError, match="has no labels"):
        T("labels")
    assert layer_accessor(adapter, img, labels=lambda: ["a", "b", "c"])("labels") == ["a", "b", "c"]
