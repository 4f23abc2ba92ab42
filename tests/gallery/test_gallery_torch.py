"""Galleries on PyTorch models (issue 21): a job on vgg16_hed_torch whose channels really rise (and whose
negatives really fall), measured on the saved images with the module itself; the framework named in the
manifest, the records and the site; resume; the fast preset on an in-process nn.Module; Dask workers on a torch
zoo model; channel_sprites; "all" layers; the CLI; and the whole job without TensorFlow."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

from lucid_fast import gallery, modelzoo  # noqa: E402
from lucid_fast.gallery.engine import ChannelBatchRenderer  # noqa: E402
from lucid_fast.gallery.store import read_png  # noqa: E402


@pytest.fixture(scope="module")
def hed_torch():
    return modelzoo.load("vgg16_hed_torch", cache=True)


def tiny_torch():
    torch.manual_seed(3)
    net = nn.Sequential()
    net.add_module("conv1", nn.Conv2d(3, 8, 3, padding=1))
    net.add_module("relu1", nn.ReLU())
    net.add_module("pool1", nn.MaxPool2d(2))
    net.add_module("conv2", nn.Conv2d(8, 12, 3, padding=1))
    net.add_module("relu2", nn.ReLU())
    with torch.no_grad():
        for p in net.parameters():
            p.normal_(0.0, 0.4)
    return net.eval()


def _channel_means(adapter, layer, images, channels):
    with torch.no_grad():
        acts = adapter.activation_fn([layer])(torch.from_numpy(np.ascontiguousarray(images, np.float32)))[layer]
    means = acts.mean(dim=(1, 2)).numpy().astype(np.float64)
    return np.array([means[b, c] for b, c in enumerate(channels)])


def test_vgg16_hed_torch_gallery_raises_each_channel_and_names_the_framework(hed_torch, tmp_path):
    out = tmp_path / "g"
    layer, channels = "block1_conv2", [0, 1, 2]
    # no transforms: at 24 px Lucid's 12-pixel padding would be most of the picture
    settings = gallery.Settings(size=24, steps=16, batch=3, seed=1, negative=True, transforms="none")
    res = gallery.run("vgg16_hed_torch", [layer], out, channels=channels[:2], settings=settings, progress=False)
    assert sorted(res.committed) == [(layer, 0), (layer, 1)]
    manifest = json.load(open(out / "gallery.json"))
    assert manifest["framework"] == "torch" and manifest["model"] == "vgg16_hed_torch"
    # resume with one more channel: only it renders (its unit is the one all three share: rendered again, the
    # two done channels are not written again)
    res = gallery.run("vgg16_hed_torch", [layer], out, channels=channels, settings=settings, progress=False)
    assert res.committed == [(layer, 2)] and res.skipped == 2
    assert sorted((e["layer"], e["channel"]) for e in gallery.read_log(out)) == [(layer, c) for c in channels]
    pos, neg, first = [], [], []
    for c in channels:
        rec = json.load(open(out / "layers" / layer / f"{c:04d}.json"))
        assert rec["framework"] == "torch"
        assert rec["worker"]["framework"] == "torch" and rec["worker"]["framework_version"] == torch.__version__
        assert rec["worker"]["torch_threads"] == torch.get_num_threads() and rec["worker"]["sliced"]
        trace, neg_trace = rec["objective_trace"], rec["negative_objective_trace"]
        assert len(trace) == 16 and trace[-1] > 1.3 * trace[0] + 1.0, trace  # some channels start near 90, some at 0
        assert neg_trace[-1] >= neg_trace[0], neg_trace  # -channel rose (a ReLU channel floors at 0)
        pos.append(read_png(out / "layers" / layer / rec["image"]))
        neg.append(read_png(out / "layers" / layer / rec["negative_image"]))
        first.append(trace[0])
    # the saved images, through the module itself: each raises its channel above the start and the negative
    pos_means = _channel_means(hed_torch, layer, np.stack(pos), channels)
    neg_means = _channel_means(hed_torch, layer, np.stack(neg), channels)
    assert np.all(pos_means > 1.3 * np.array(first) + 1.0), (first, pos_means)
    assert np.all(neg_means < pos_means - 1.0), (neg_means, pos_means)
    site = open(out / "site" / "index.html").read()
    assert "on PyTorch" in site and "<th>framework</th><td>PyTorch</td>" in site
    page = open(out / "site" / layer / "0001.html").read()
    assert f"<th>framework</th><td>PyTorch {torch.__version__}</td>" in page
    assert json.load(open(out / "site" / "gallery.json"))["framework"] == "torch"


def test_fast_preset_gallery_on_an_nn_module_and_channel_sprites(tmp_path):
    net = tiny_torch()
    res = gallery.run(net, "relu2", tmp_path / "g", channels="0:2", size=16, batch=2, preset="fast", site=False,
                      progress=False)
    assert sorted(res.committed) == [("relu2", 0), ("relu2", 1)]
    rec = json.load(open(tmp_path / "g" / "layers" / "relu2" / "0000.json"))
    assert rec["model"] == "Sequential" and rec["framework"] == "torch" and len(rec["objective_trace"]) == 160
    assert rec["objective_trace"][-1] > 2 * max(rec["objective_trace"][0], 1e-3)
    # channel_sprites on the module, then on a TorchAdapter of the same module: the same cache (same weights)
    kw = dict(size=16, steps=4, batch=2, seed=3, cache_dir=str(tmp_path / "cache"))
    sheet = gallery.channel_sprites(net, "relu2", [3, 1], **kw)
    assert sheet.channels == [3, 1] and sheet.tile == 16 and sheet.model_name == "Sequential"
    assert not np.array_equal(sheet.image(3), sheet.image(1))
    again = gallery.channel_sprites(modelzoo.load_model(net), "relu2", [1, 3, 5], **kw)
    np.testing.assert_array_equal(again.image(1), sheet.image(1))
    (model_dir,) = os.listdir(tmp_path / "cache")
    (job,) = os.listdir(tmp_path / "cache" / model_dir)
    assert sorted(e["channel"] for e in gallery.read_log(tmp_path / "cache" / model_dir / job)) == [1, 3, 5]


def test_channel_sprites_on_a_torch_zoo_model(hed_torch, tmp_path):
    sheet = gallery.channel_sprites(hed_torch, "block1_conv2", [2, 0], size=16, steps=3, batch=2,
                                    cache_dir=str(tmp_path))
    assert sheet.channels == [2, 0] and sheet.model_name == "vgg16_hed_torch" and sheet.sheet.shape == (16, 32, 3)


def test_layers_all_are_vgg16_heds_and_container_names_resolve(hed_torch):
    keras_convs = [i.name for i in modelzoo.layer_info("vgg16_hed") if i.kind == "conv"]
    assert gallery.resolve_layers(hed_torch, "all") == keras_convs  # post-ReLU, not the _pre_relu convs
    # efficientnet_lite0's "_blocks.3" re-emits its _bn2's tensor: left out of layers(), still a gallery layer
    renderer = ChannelBatchRenderer("efficientnet_lite0", gallery.Settings(size=16, steps=1))
    assert renderer.layer_channels("_blocks.3") == 40
    assert "_blocks.3" not in renderer.adapter.layer_names()


def test_dask_workers_render_a_torch_zoo_model(tmp_path):
    out = tmp_path / "g"
    res = gallery.run("vgg16_hed_torch", "block1_conv2", out, channels="0:4", size=16, steps=4, batch=2, seed=3,
                      workers=2, site=False, progress=False)
    assert sorted(res.committed) == [("block1_conv2", c) for c in range(4)] and res.units_rendered == 2
    log = gallery.read_log(out)
    assert all(e["pid"] != os.getpid() for e in log)  # rendered in the workers
    for c in range(4):
        rec = json.load(open(out / "layers" / "block1_conv2" / f"{c:04d}.json"))
        assert rec["framework"] == "torch" and rec["worker"]["framework"] == "torch"
        assert rec["worker"]["torch_threads"] == max(1, len(os.sched_getaffinity(0)) // 2)
        assert len(rec["objective_trace"]) == 4


def test_cli_gallery_on_vgg16_hed_torch_runs_without_tensorflow(tmp_path):
    """``lucid-fast gallery --model vgg16_hed_torch`` with TensorFlow's import refused (a machine with PyTorch
    only): the job, its records and its site."""
    out = tmp_path / "g"
    code = ("import sys; from lucid_fast.bench.gpu_render import TFImportHook; hook = TFImportHook(block=True); "
            "sys.meta_path.insert(0, hook); from lucid_fast.cli import main; rc = main(sys.argv[1:]); "
            "assert not hook.attempts, hook.attempts; "
            "assert not [m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras')]")
    proc = subprocess.run([sys.executable, "-c", code, "gallery", "--model", "vgg16_hed_torch", "--layers",
                           "block1_conv2", "--channels", "0:2", "--size", "16", "--steps", "3", "--batch", "2",
                           "--negative", "--out", str(out), "--quiet"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.load(open(out / "gallery.json"))["framework"] == "torch"
    assert os.path.exists(out / "site" / "block1_conv2" / "0001.html")
    assert os.path.exists(out / "layers" / "block1_conv2" / "0001_neg.png")
