"""render_vis on a PyTorch model through everything built on the engine (issue 21): every parameterization
(Fourier and pixel, lowres, CPPN, RGBA with collapse_alpha_random and with T("alpha_transformed")), thresholds,
preset="fast", torch transforms, a batch with diversity; each render is checked to raise its objective, measured
on the model itself (not on the trace the engine reports). And the bad input of the torch path as a user meets it
through render_vis: an unknown module path, a model in training mode, TensorFlow code given to a PyTorch model.

A tiny seeded nn.Sequential keeps this file at a few seconds; tests/optvis/test_cross_framework_torch.py renders
vgg16_hed in both frameworks."""
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

from lucid_fast import models  # noqa: E402
from lucid_fast.models import backend  # noqa: E402
from lucid_fast.optvis import objectives, param, render, transform  # noqa: E402

SIZE = 24
LAYER, CHANNEL = "relu2", 5


def tiny_torch(seed=0):
    """conv(8) -> ReLU -> maxpool -> conv(12) -> ReLU: named modules, seeded N(0, 0.4) weights, eval mode."""
    torch.manual_seed(seed)
    net = nn.Sequential()
    net.add_module("conv1", nn.Conv2d(3, 8, 3, padding=1))
    net.add_module("relu1", nn.ReLU())
    net.add_module("pool1", nn.MaxPool2d(2))
    net.add_module("conv2", nn.Conv2d(8, 12, 3, padding=1))
    net.add_module("relu2", nn.ReLU())
    with torch.no_grad():  # larger than torch's default init, as the Keras test models: channels that respond
        for p in net.parameters():
            p.normal_(0.0, 0.4)
    return net.eval()


@pytest.fixture(scope="module")
def net():
    return tiny_torch()


@pytest.fixture(scope="module")
def adapter(net):
    return models.load_model(net)


def channel_mean(adapter, images, layer=LAYER, channel=CHANNEL):
    """The channel's mean activation on each image (RGB part of an RGBA image), from the module itself."""
    x = np.ascontiguousarray(np.asarray(images)[..., :3], np.float32)
    with torch.no_grad():
        acts = adapter.activation_fn([layer])(torch.from_numpy(x))[layer]
    return acts[..., channel].mean(dim=(1, 2)).numpy().astype(np.float64)


def _raises(adapter, vis, steps, layer=LAYER, channel=CHANNEL, factor=1.5):
    start = channel_mean(adapter, vis.image(), layer, channel)
    losses = [vis.step() for _ in range(steps)]
    end = channel_mean(adapter, vis.image(), layer, channel)
    assert np.all(end > factor * np.maximum(start, 1e-3)), (start, end)
    assert losses[-1] > losses[0]
    return losses


PARAMS = {
    "fft": lambda: param.image(SIZE, batch=2),
    "pixel": lambda: param.image(SIZE, batch=2, fft=False),
    "pixel_no_decorrelate": lambda: param.image(SIZE, fft=False, decorrelate=False),
    "lowres": lambda: param.lowres_tensor((1, SIZE, SIZE, 3), (1, SIZE // 4, SIZE // 4, 3), sd=0.1),
    "cppn": lambda: param.cppn(SIZE),
}


@pytest.mark.parametrize("kind", sorted(PARAMS))
def test_every_parameterization_raises_the_channel(adapter, kind):
    opt = 0.005 if kind == "cppn" else None  # Lucid's CPPN notebook: Adam 0.005
    # a small jitter only: at 24 px Lucid's 12-pixel padding would be most of what the tiny model sees
    vis = render.make_vis_T(adapter, f"{LAYER}:{CHANNEL}", param_f=PARAMS[kind], optimizer=opt, seed=0,
                            transforms=[transform.jitter(2)])
    _raises(adapter, vis, 24)


def test_thresholds_return_an_image_each(adapter):
    imgs = render.render_vis(adapter, f"{LAYER}:{CHANNEL}", param_f=lambda: param.image(SIZE), thresholds=(0, 5, 30),
                             transforms=[transform.jitter(2)], verbose=False, seed=1)
    assert [i.shape for i in imgs] == [(1, SIZE, SIZE, 3)] * 3
    means = [channel_mean(adapter, i)[0] for i in imgs]
    assert means[2] > means[1] > means[0], means


def test_preset_fast_raises_the_channel_past_lucids_schedule_of_the_same_length(adapter):
    """preset="fast" (128 steps under Lucid's transforms at Adam 0.15, then 32 on the image itself) on a torch
    model: one image, at the end; its channel ends far above the start and at least where Lucid's schedule
    ends after the same 160 steps (the preset's claim against 512 steps is measured in the README)."""
    kw = dict(param_f=lambda: param.image(SIZE), verbose=False, seed=2)
    start = channel_mean(adapter, render.make_vis_T(adapter, f"{LAYER}:{CHANNEL}", seed=2,
                                                    param_f=kw["param_f"]).image())[0]
    fast = render.render_vis(adapter, f"{LAYER}:{CHANNEL}", preset="fast", **kw)
    lucid = render.render_vis(adapter, f"{LAYER}:{CHANNEL}", thresholds=(159,), **kw)
    assert len(fast) == 1 and fast[0].shape == (1, SIZE, SIZE, 3)
    f, d = channel_mean(adapter, fast[-1])[0], channel_mean(adapter, lucid[-1])[0]
    assert f > 3 * start and f >= d, (start, f, d)


def test_user_torch_transform_runs_in_the_step(adapter):
    calls = []

    def flip(x_t):
        calls.append(x_t.shape)
        return torch.flip(x_t, dims=(2,))

    vis = render.make_vis_T(adapter, f"{LAYER}:{CHANNEL}", param_f=lambda: param.image(SIZE),
                            transforms=[transform.jitter(2), flip], seed=0)
    calls.clear()
    _raises(adapter, vis, 30)
    assert calls and all(len(s) == 4 and s[-1] == 3 for s in calls)  # NHWC torch tensors


def test_batch_with_diversity_raises_the_channel_and_differs(adapter):
    obj = objectives.channel(LAYER, CHANNEL) - 10.0 * objectives.diversity("relu1")
    vis = render.make_vis_T(adapter, obj, param_f=lambda: param.image(SIZE, batch=3), seed=0,
                            transforms=[transform.jitter(2)])
    start = channel_mean(adapter, vis.image())
    start_div = None
    for i in range(30):
        vis.step()
        if i == 0:
            start_div = _diversity(adapter, vis.image())
    imgs = vis.image()
    assert np.all(channel_mean(adapter, imgs) > 1.5 * start), (start, channel_mean(adapter, imgs))
    assert _diversity(adapter, imgs) < start_div  # the images grew apart


def _diversity(adapter, images):
    from lucid_fast.models.accessor import LayerAccessor

    with torch.no_grad():
        acts = adapter.activation_fn(["relu1"])(torch.from_numpy(np.ascontiguousarray(images, np.float32)))
    T = LayerAccessor(lambda n: n, lambda n: (acts[n], None), {}, backend=backend.get("torch"))
    return float(objectives.diversity("relu1")(T))


def test_rgba_with_collapse_alpha_and_the_transparency_notebooks_objective(adapter):
    """The alpha notebook's objective, written with the backend so that it runs on torch: channel * (1 - mean
    alpha) - blur_alpha_each_step(); the objective rises, the image stays RGBA and its alpha moves."""

    @objectives.wrap_objective()
    def mean_alpha():
        def inner(T):
            return backend.of_accessor(T).mean(T("input")[..., 3])
        return inner

    obj = objectives.channel(LAYER, CHANNEL) * (1.0 - mean_alpha()) - objectives.blur_alpha_each_step()
    vis = render.make_vis_T(adapter, obj, param_f=lambda: param.image(SIZE, alpha=True),
                            transforms=[transform.collapse_alpha_random(), transform.jitter(2)], seed=0)
    start = vis.image()
    losses = [vis.step() for _ in range(60)]
    end = vis.image()
    assert end.shape == (1, SIZE, SIZE, 4)
    assert np.mean(losses[-5:]) > 2 * np.mean(losses[:5]) + 0.01, (losses[:5], losses[-5:])
    assert np.abs(end[..., 3] - start[..., 3]).max() > 0.05


def test_alpha_transformed_objective_on_a_composited_rgba_param(adapter):
    """An objective that reads T("alpha_transformed"): the channel weighted by the transformed alpha, on an RGBA
    parameterization that composites itself (RGB first, alpha last); raises the channel on the RGB part."""

    @objectives.wrap_objective()
    def channel_where_opaque():
        def inner(T):
            B = backend.of_accessor(T)
            return B.mean(T(LAYER)[..., CHANNEL]) + 0.1 * B.mean(T("alpha_transformed"))
        return inner

    def param_f():
        rgb = param.image(SIZE)
        alpha = param.image(SIZE, channels=1, decorrelate=False)
        return param.concat([rgb, alpha], -1)

    vis = render.make_vis_T(adapter, channel_where_opaque(), param_f=param_f, transforms=[transform.jitter(2)],
                            seed=0)
    assert vis.wants_alpha
    a0 = float(vis.image()[..., 3].mean())
    _raises(adapter, vis, 40)
    assert float(vis.image()[..., 3].mean()) > a0  # the alpha term rose too


# ---- bad input through render_vis -------------------------------------------------------------------------------

def test_unknown_module_path_names_the_closest(net):
    with pytest.raises(ValueError, match=r"unknown layer 'relu9'.*Closest names: \['relu2', 'relu1'") as err:
        render.render_vis(net, "relu9:1", param_f=lambda: param.image(16), verbose=False)
    assert str(err.value).startswith("render_vis: ")
    # a torchvision-style path on a model whose layers are named otherwise: the layers with its last part
    plain = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU()).eval()
    with pytest.raises(ValueError, match=r"unknown layer 'features\.1'\. Closest names: \['1'\]"):
        render.render_vis(plain, "features.1:0", param_f=lambda: param.image(16), verbose=False)
    with pytest.raises(ValueError, match=r"unknown layer '7'\. Its layers: \['0', '1'\]"):
        render.render_vis(plain, "7:0", param_f=lambda: param.image(16), verbose=False)
    with pytest.raises(ValueError, match=r"unknown layer 'block3_conv9'.*Closest names: \['block3_conv3'"):
        render.render_vis("vgg16_hed_torch", "block3_conv9:1", param_f=lambda: param.image(16), verbose=False)


def test_training_mode_is_one_clear_error():
    net = tiny_torch()
    net.train()
    with pytest.raises(ValueError) as err:
        render.render_vis(net, f"{LAYER}:1", param_f=lambda: param.image(16), verbose=False)
    msg = str(err.value)
    assert "training mode" in msg and "model.eval()" in msg and "\n" not in msg
    assert err.value.__cause__ is None and err.value.__context__ is None  # not a chain from deep inside


def test_tensorflow_code_on_a_torch_model_is_named(adapter):
    tf = pytest.importorskip("tensorflow")

    @objectives.wrap_objective()
    def tf_mean():
        def inner(T):
            return tf.reduce_mean(T(LAYER))
        return inner

    with pytest.raises(ValueError, match=r"computes outside torch.*backend\.of_accessor"):
        render.render_vis(adapter, tf_mean(), param_f=lambda: param.image(16), verbose=False)
    with pytest.raises(ValueError, match=r"does not depend on the image"):  # detached: no gradient
        render.render_vis(adapter, lambda T: T(LAYER).mean().detach().numpy(), param_f=lambda: param.image(16),
                          verbose=False)
    with pytest.raises(ValueError, match=r"a transform on a PyTorch model must be a torch function.*"
                                         r"flip returned a tensorflow EagerTensor"):
        def flip(x):
            return tf.reverse(x, [2])
        render.render_vis(adapter, f"{LAYER}:1", param_f=lambda: param.image(16), transforms=[flip], verbose=False)


NO_TF_RENDER = r"""
import importlib.abc, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in ("tensorflow", "keras", "tf_keras"):
            raise ImportError("blocked: " + name)
sys.meta_path.insert(0, Block())
import numpy as np, torch
from torch import nn
from lucid_fast.optvis import objectives, param, render, style
torch.manual_seed(0)
net = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Conv2d(8, 8, 3), nn.ReLU()).eval()
obj = (objectives.channel("2", 3) - 0.1 * objectives.diversity("1") - 1e-3 * objectives.total_variation()
       - 0.01 * style.StyleLoss(["1"], style={"1": np.ones((1, 30, 30, 8), np.float32)}))
a = render.render_vis(net, obj, param_f=lambda: param.image(32, batch=2), thresholds=(0, 12), seed=0,
                      progress=False, verbose=False)
b = render.render_vis(net, "2:3", param_f=lambda: param.image(32), preset="fast", seed=0, progress=False,
                      verbose=False)
print("ok", "tensorflow" in sys.modules, len(a), b[-1].shape)
"""


def test_a_torch_render_runs_without_tensorflow():
    """The TensorFlow-free path (the GPU machine has PyTorch and no TensorFlow): objectives of every kind (channel,
    diversity, native TV, a style loss), a batch, thresholds and the fast preset, with TensorFlow's import blocked."""
    out = subprocess.run([sys.executable, "-c", NO_TF_RENDER], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.split()[:3] == ["ok", "False", "2"], out.stdout
