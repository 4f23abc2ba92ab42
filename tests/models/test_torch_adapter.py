"""The PyTorch adapter: layer table and names, early-stopped forwards, channel slicing against the unmodified
modules, the DLPack crossing, load_model, and what it refuses (with what it says)."""
import subprocess
import sys
import types

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

from lucid_fast import ops  # noqa: E402
from lucid_fast._bindings import dlpack  # noqa: E402
from lucid_fast.models import load_model  # noqa: E402
from lucid_fast.models.torch_adapter import TorchAdapter  # noqa: E402
from lucid_fast.optvis import objectives  # noqa: E402


class _Counter(nn.Module):
    calls = 0

    def forward(self, x):
        _Counter.calls += 1
        return x * 2.0


def _net(seed=0):
    torch.manual_seed(seed)
    features = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(inplace=True), nn.Conv2d(8, 6, 3, padding=1),
                             nn.BatchNorm2d(6), nn.ReLU(), nn.Conv2d(6, 6, 3, padding=1, groups=2), nn.ReLU6())
    features[3].running_mean.uniform_(-0.2, 0.2)
    features[3].running_var.uniform_(0.5, 2.0)
    features[3].weight.data.uniform_(0.5, 1.5)
    net = nn.Sequential()
    net.add_module("features", features)
    net.add_module("tail", _Counter())
    net.add_module("pool", nn.AdaptiveAvgPool2d(1))
    net.add_module("flat", nn.Flatten())
    net.add_module("fc", nn.Linear(6, 5))
    net.add_module("fc_relu", nn.ReLU())
    return net.eval()


def _adapter(**kwargs):
    return TorchAdapter(_net(), image_shape=(16, 16, 3), **kwargs)


def test_layer_table_names_kinds_and_shapes():
    infos = {i.name: i for i in _adapter().layers()}
    assert [n for n in infos] == ["features.0", "features.1", "features.2", "features.3", "features.4",
                                  "features.5", "features.6", "tail", "pool", "flat", "fc", "fc_relu"]
    assert "features" not in infos  # re-emits features.6's tensor: left out, but it resolves
    assert (infos["features.0"].kind, infos["features.0"].channels, infos["features.0"].spatial) == \
        ("conv", 8, (16, 16))
    assert [infos[n].kind for n in ("features.1", "features.3", "pool", "flat", "fc", "features.6")] == \
        ["relu", "norm", "pool", "reshape", "dense", "relu"]
    assert (infos["fc"].channels, infos["fc"].spatial) == (5, None)
    adapter = _adapter()
    assert adapter.resolve("features") == "features"


def test_resolve_lucent_spelling_and_close_names():
    adapter = _adapter()
    assert adapter.resolve("features_2") == "features.2"
    assert adapter.resolve("features.2:0") == "features.2"
    with pytest.raises(ValueError, match=r"unknown layer 'features\.9'.*Closest names: \['features\.") as err:
        adapter.resolve("features.9")
    assert "features.0" in str(err.value) or "features.2" in str(err.value)


def test_activations_are_nhwc_and_the_forward_stops_early():
    adapter = _adapter()
    adapter.layers()
    x = torch.rand(2, 12, 10, 3)
    _Counter.calls = 0
    acts = adapter.activation_fn(["features.2", "features.0"])(x)
    assert _Counter.calls == 0  # nothing after the last requested layer ran
    ref0 = adapter.model.features[0](x.permute(0, 3, 1, 2))
    torch.testing.assert_close(acts["features.0"], ref0.permute(0, 2, 3, 1))  # read before the in-place ReLU
    ref2 = adapter.model.features[2](torch.relu(ref0))
    torch.testing.assert_close(acts["features.2"], ref2.permute(0, 2, 3, 1))
    fc = adapter.activation_fn("fc")(x)["fc"]
    assert tuple(fc.shape) == (2, 5) and _Counter.calls == 1


def test_value_range_and_preprocess():
    mean = torch.tensor([0.1, 0.2, 0.3])[:, None, None]
    adapter = _adapter(image_value_range=(-2.0, 3.0), preprocess=lambda x: x - mean)
    x = torch.rand(1, 8, 8, 3)
    got = adapter.activation_fn("features.0")(x)["features.0"]
    want = adapter.model.features[0]((-2.0 + 5.0 * x).permute(0, 3, 1, 2) - mean).permute(0, 2, 3, 1)
    torch.testing.assert_close(got, want)


@pytest.mark.parametrize("layer,channels,sliced", [
    ("features.0", [5, 1], True),             # a Conv2d
    ("features.4", [0, 3, 4], True),           # conv -> BatchNorm2d -> ReLU in one Sequential
    ("features.3", [2], True),                 # conv -> BatchNorm2d
    ("fc_relu", [4, 0], True),                 # Linear -> ReLU
    ("features.6", [1, 2], False),             # after a grouped conv: computed whole
    ("pool", [3], False),                      # not elementwise
])
def test_channel_slicing_matches_the_unmodified_modules(layer, channels, sliced):
    adapter = _adapter()
    f = adapter.channel_activation_fn({layer: channels})
    assert f.sliced == ((layer,) if sliced else ())
    x = torch.rand(2, 9, 11, 3, requires_grad=True)
    weights = torch.randn(2, 9, 11, len(channels)) if layer not in ("fc_relu", "pool") else torch.randn(
        2, 1, 1, len(channels))
    conv_shapes = []

    class Spy(torch.overrides.TorchFunctionMode):
        def __torch_function__(self, func, types_, args=(), kwargs=None):
            if func is torch.nn.functional.conv2d:
                conv_shapes.append(tuple(args[1].shape))
            return func(*args, **(kwargs or {}))

    with Spy():
        got = f(x)[layer]
    full = adapter.activation_fn(layer)(x)[layer][..., channels]
    torch.testing.assert_close(got, full)
    shaped = (got.reshape(2, -1, len(channels)) * weights.reshape(2, -1, len(channels))).sum()
    (g_sliced,) = torch.autograd.grad(shaped, [x])
    (g_full,) = torch.autograd.grad((full.reshape(2, -1, len(channels)) *
                                     weights.reshape(2, -1, len(channels))).sum(), [x])
    torch.testing.assert_close(g_sliced, g_full, rtol=1e-4, atol=1e-6)
    if sliced and layer.startswith("features"):
        assert conv_shapes[-1][0] == len(channels)  # the conv ran with only the listed output channels


def test_step_sliced_against_unsliced():
    adapter = _adapter()
    obj = objectives.channel("features.4", 3) + objectives.channel("features.4", 1) * 0.5
    step = adapter.objective_step(obj, (2, 12, 12, 3))
    rng = np.random.default_rng(0)
    x = ops.empty_aligned((2, 12, 12, 3))
    x[...] = rng.uniform(0, 1, x.shape)
    a = step(x, x, True, None)
    assert step.sliced == ("features.4",) and step.channel_slices() == {"features.4": (1, 3)}
    grad_sliced = np.array(a.grad_x)
    step.slice_channels = False
    b = step(x, x, True, None)
    assert step.sliced == ()
    assert a.loss == pytest.approx(b.loss, rel=1e-6)
    np.testing.assert_allclose(grad_sliced, b.grad_x, rtol=1e-4, atol=1e-7)
    assert np.abs(grad_sliced).max() > 0


def test_dlpack_crossing_without_copies():
    x = ops.empty_aligned((2, 5, 5, 3))
    x_t = dlpack.to_torch(x)
    assert x_t.data_ptr() == x.ctypes.data and x_t.dtype == torch.float32
    g_t = torch.randn(2, 5, 5, 3)
    g = dlpack.from_torch(g_t)
    assert g.ctypes.data == g_t.data_ptr()
    np.testing.assert_array_equal(g, g_t.numpy())


def test_load_model_wraps_a_module_and_parameters_stop_requiring_grad():
    net = _net()
    adapter = load_model(net, image_shape=(16, 16, 3))
    assert isinstance(adapter, TorchAdapter) and adapter.model is net
    assert not any(p.requires_grad for p in net.parameters())
    from lucid_fast import modelzoo

    assert isinstance(modelzoo.load_model(net, image_shape=(16, 16, 3)), TorchAdapter)


def test_importing_the_models_package_does_not_import_torch():
    code = ("import sys, lucid_fast.models, lucid_fast.models.loading, lucid_fast.models.protocol; "
            "assert 'torch' not in sys.modules, 'torch imported'; print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0 and "ok" in out.stdout, out.stderr[-2000:]


# ---- what it refuses ------------------------------------------------------------------------------------------------

def test_training_mode_is_refused():
    net = _net().train()
    with pytest.raises(ValueError, match=r"training mode.*model\.eval\(\)"):
        TorchAdapter(net, image_shape=(16, 16, 3))
    adapter = _adapter()
    adapter.model.features[3].train()
    with pytest.raises(ValueError, match=r"training mode \(modules \['features\.3'\]\).*model\.eval\(\)"):
        adapter.activation_fn("features.0")(torch.rand(1, 8, 8, 3))


def test_cuda_parameters_without_cuda_are_refused(monkeypatch):
    net = _net()
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    fake = types.SimpleNamespace(device=torch.device("cuda", 0))
    monkeypatch.setattr(net, "parameters", lambda recurse=True: iter([fake]))
    monkeypatch.setattr(net, "buffers", lambda recurse=True: iter([fake]))
    with pytest.raises(ValueError, match=r"on cuda:0 but CUDA is not available.*model\.to\('cpu'\)"):
        TorchAdapter(net, image_shape=(16, 16, 3))


def test_meta_and_mixed_devices_are_refused():
    with torch.device("meta"):
        meta_net = nn.Sequential(nn.Conv2d(3, 4, 3))
    with pytest.raises(ValueError, match="'meta' device"):
        TorchAdapter(meta_net.eval())
    mixed = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Conv2d(4, 4, 3)).eval()
    mixed[1].to("meta")
    with pytest.raises(ValueError, match="several devices"):
        TorchAdapter(mixed)


def test_wrong_input_channels_and_unsupported_arguments():
    adapter = _adapter()
    with pytest.raises(ValueError, match=r"expects 3 input channels, got an image with 4.*alpha"):
        adapter.activation_fn("features.0")(torch.rand(1, 8, 8, 4))
    with pytest.raises(ValueError, match=r"maxpool_grad must be one of \[None, 'smooth', 'smooth_blur'\]"):
        adapter.activation_fn("features.0", maxpool_grad="soft")
    with pytest.raises(ValueError, match=r"\['features.0'\] do not depend on 'fc'"):
        adapter.spliced_fn("fc", ["features.0"])
    with pytest.raises(ValueError, match=r"channel\(s\) \[9\] of 'features.0' are outside its 8 channels"):
        adapter.channel_activation_fn({"features.0": [9]})


def test_fixed_size_model_reports_where_it_runs():
    adapter = _adapter()
    assert adapter.activation_bytes(["features.2"], (1, 16, 16, 3)) == 4 * 16 * 16 * (3 + 8 + 6)
    linear = nn.Sequential(nn.Flatten(), nn.Linear(3 * 8 * 8, 4)).eval()
    fixed = TorchAdapter(linear, image_shape=(8, 8, 3))
    step = fixed.objective_step(objectives.Objective(lambda T: T("1")[:, 2].sum()), (1, 8, 8, 3))
    assert step.runs_at((1, 8, 8, 3)) and not step.runs_at((1, 10, 10, 3))
    with pytest.raises(ValueError, match="shapes cannot be multiplied"):
        step.gradient_reaches_image((1, 10, 10, 3))
