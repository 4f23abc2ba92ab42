"""The three adapters (Keras, frozen GraphDef, SavedModel) on one tiny architecture: forward values, input
gradients, the ReLU override, truncation, name resolution and input checks."""
import numpy as np
import pytest
import tensorflow as tf

from adjoint import assert_close
from lucid_fast.models import ModelAdapter, redirected_relu, redirected_relu6

KINDS = ["keras", "graphdef", "saved_model"]


def _image(rng, shape=(2, 13, 10, 3)):
    return rng.uniform(size=shape).astype(np.float32)


@pytest.mark.parametrize("kind", KINDS)
def test_activations_match_the_original_model(kind, tiny, tiny_adapters, rng):
    adapter = tiny_adapters[kind]
    assert isinstance(adapter, ModelAdapter)
    x_np = _image(rng)
    acts = tf.function(adapter.activation_fn(tiny.taps), autograph=False)(tf.constant(x_np))
    assert list(acts) == tiny.taps
    reference = tiny.forward(tf.constant(x_np))
    for name in tiny.taps:
        assert_close(acts[name].numpy(), reference[name].numpy(), "fwd", f"{kind} {name}")
    # the final layer also equals the original model's own output
    if kind == "keras":
        final = adapter.model(tf.constant(x_np))
    else:
        module = tiny.module()
        final = module.serve(tf.constant(x_np))["logits"]
    assert_close(acts["logits"].numpy(), final.numpy(), "fwd", f"{kind} logits vs model output")


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("layer", ["conv1", "relu2_pre_relu", "clip6", "fc", "logits"])
def test_input_gradient_matches_tf_autodiff(kind, layer, tiny, tiny_adapters, grad_helper, rng):
    x_np = _image(rng, (2, 12, 9, 3))
    x_t = tf.constant(x_np)
    shape = tiny.forward(x_t)[layer].shape
    cot = {layer: tf.constant(rng.normal(size=shape).astype(np.float32))}
    _, grad = grad_helper(tiny_adapters[kind].activation_fn([layer]), x_np, cot, [layer])
    _, expected = grad_helper(lambda x: tiny.forward(x), x_np, cot, [layer])
    assert np.abs(expected).max() > 0, "the reference gradient should not be trivially zero"
    assert_close(grad, expected, "grad", f"{kind} d{layer}/dx")


@pytest.mark.parametrize("kind", KINDS)
def test_relu_override_uses_the_redirected_gradient(kind, tiny, tiny_adapters, grad_helper, rng):
    """With the override every ReLU/ReLU6 on the path takes the redirected gradient (and nothing else changes)."""
    adapter = tiny_adapters[kind]
    x_np = _image(rng, (3, 10, 11, 3))
    layers = ["fc", "conv1"]
    ref = tiny.forward(tf.constant(x_np))
    cot = {"conv1": tf.constant(rng.normal(size=ref["conv1"].shape).astype(np.float32))}
    # on fc, ask only for units that are dead (pre-ReLU < 0): their ordinary gradient is entirely zero
    dead = ref["fc_pre_relu"].numpy() < 0
    assert dead.any(axis=1).all(), "each image needs a dead fc unit for this test"
    cot["fc"] = tf.constant(np.where(dead, 1.0, 0.0).astype(np.float32))
    acts, grad = grad_helper(adapter.activation_fn(layers, relu_override=True), x_np, cot, layers)
    _, plain = grad_helper(adapter.activation_fn(layers), x_np, cot, layers)
    _, expected = grad_helper(lambda x: tiny.forward(x, relu=redirected_relu, relu6=redirected_relu6),
                              x_np, cot, layers)
    for n in layers:
        assert_close(acts[n], ref[n].numpy(), "fwd", f"{kind} {n} forward unchanged by the override")
    assert_close(grad, expected, "grad", f"{kind} overridden gradient")
    assert np.abs(grad - plain).max() > 1e-3, "the override should change this gradient (dead fc units)"


@pytest.mark.parametrize("kind", KINDS)
def test_unknown_layer_lists_close_matches(kind, tiny_adapters):
    adapter = tiny_adapters[kind]
    with pytest.raises(ValueError, match=r"conv1") as info:
        adapter.activation_fn(["convv1"])
    assert "layers()" in str(info.value)
    with pytest.raises(ValueError, match="unknown layer"):
        adapter.resolve("no_such_layer_at_all")


@pytest.mark.parametrize("kind", KINDS)
def test_lucid_suffix_is_accepted(kind, tiny_adapters):
    adapter = tiny_adapters[kind]
    assert adapter.resolve("conv1:0") == adapter.resolve("conv1")
    assert adapter.resolve("conv1").endswith("conv1")


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("channels", [1, 4])
def test_wrong_channel_count_raises(kind, channels, tiny_adapters):
    f = tiny_adapters[kind].activation_fn(["conv1"])
    with pytest.raises(ValueError, match="3 input channels"):
        f(tf.zeros([1, 8, 8, channels]))
    with pytest.raises(ValueError, match="3 input channels"):
        tf.function(f).get_concrete_function(tf.TensorSpec([None, None, None, channels]))
    with pytest.raises(ValueError, match="rank 4"):
        f(tf.zeros([8, 8, 3]))


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("layer", ["conv1", "relu2"])
def test_truncation_computes_only_what_is_needed(kind, layer, tiny, tiny_adapters, node_names):
    adapter = tiny_adapters[kind]
    concrete = tf.function(adapter.activation_fn([layer])).get_concrete_function(
        tf.TensorSpec([None, None, None, 3], tf.float32))
    names = node_names(concrete)
    assert any(layer in n for n in names), f"{kind}: {layer} itself is not in the graph: {names}"
    for later in tiny.later_than[layer]:
        offending = [n for n in names if later in n]
        assert not offending, f"{kind}: computing {layer} also builds {offending}"
    full = node_names(tf.function(adapter.activation_fn(["logits"])).get_concrete_function(
        tf.TensorSpec([None, None, None, 3], tf.float32)))
    assert any("fc" in n for n in full), "the check must be able to see later layers"


@pytest.mark.parametrize("kind", KINDS)
def test_layers_metadata(kind, tiny_adapters):
    adapter = tiny_adapters[kind]
    infos = {adapter.resolve(i.name): i for i in adapter.layers()}
    down = infos[adapter.resolve("down")]
    assert down.channels == 6
    clip6 = infos[adapter.resolve("clip6")]
    assert clip6.kind == "relu" and clip6.channels == 6
    conv1 = infos[adapter.resolve("conv1")]
    assert conv1.channels == 4
    pre = infos[adapter.resolve("conv1_pre_relu")]
    assert pre.channels == 4
    if kind != "keras":  # nominal 16x16 given; keras model: no nominal size
        assert conv1.spatial == (16, 16) and down.spatial == (8, 8)
        assert infos[adapter.resolve("pool")].spatial == (4, 4)


def test_keras_layers_metadata_at_a_nominal_size(tiny):
    from lucid_fast.models import load_model

    adapter = load_model(tiny.keras_model(), image_shape=(16, 16, 3))
    infos = {i.name: i for i in adapter.layers()}
    assert infos["conv1"] == infos["conv1"].__class__("conv1", 4, (16, 16), "conv")
    assert infos["conv1_pre_relu"].kind == "pre_relu"
    assert infos["down"].spatial == (8, 8) and infos["pool"].spatial == (4, 4)
    assert infos["fc"].kind == "dense" and infos["fc"].spatial is None and infos["fc"].channels == 5
    assert infos["relu2"].kind == "relu" and infos["pool"].kind == "pool" and infos["image"].kind == "input"


@pytest.mark.parametrize("kind", KINDS)
def test_value_range_mapping(kind, tiny, tiny_saved_model):
    """image_value_range maps [0, 1] linearly onto the model's input range."""
    from lucid_fast.models import load_model

    source = {"keras": tiny.keras_model(), "graphdef": tiny.graph_def(), "saved_model": tiny_saved_model}[kind]
    adapter = load_model(source, image_value_range=(-2.0, 3.0))
    x = tf.constant(np.linspace(0, 1, 2 * 5 * 4 * 3, dtype=np.float32).reshape(2, 5, 4, 3))
    got = adapter.activation_fn(["conv1_pre_relu", "input"])(x)
    expected = tiny.forward(-2.0 + 5.0 * x)["conv1_pre_relu"]
    assert_close(got["conv1_pre_relu"].numpy(), expected.numpy(), "fwd", f"{kind} mapped input")
    assert_close(got["input"].numpy(), (-2.0 + 5.0 * x).numpy(), "fwd", f"{kind} input tap")
