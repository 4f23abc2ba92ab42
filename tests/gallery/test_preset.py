"""Galleries with ``preset="fast"``: the unit runs render_vis's preset phases (learning rate and transforms per
phase, Adam's moments kept), the preset is part of the job's settings, and galleries without it read as before."""
import json
import os

import numpy as np
import pytest

from lucid_fast import cli, gallery
from lucid_fast.gallery import Settings
from lucid_fast import models
from lucid_fast.gallery.engine import ChannelBatchRenderer
from lucid_fast.gallery.settings import unit_seed
from lucid_fast.misc.image import to_uint8
from lucid_fast.optvis import objectives, param, presets, render, transform
from lucid_fast.optvis.engine import Engine

PRESET = dict(size=24, batch=2, seed=4, preset="fast")


def test_preset_unit_is_a_session_driven_through_the_phases(tiny_model):
    """Bit-identical to a session driven by hand through PRESETS["fast"], reproducible, and not the picture of
    the same number of steps at Lucid's settings."""
    s = Settings(**PRESET)
    assert s.steps == presets.preset_steps("fast") == 160
    layer, channels = "conv1", [1, 5]
    res = ChannelBatchRenderer(tiny_model, s).render_unit(layer, channels)
    vis = Engine(models.load_model(tiny_model), objectives.channels_per_image(layer, channels),
                 param.ParamGraph(param.image(24, batch=2)), transform.make_chain(None), render.Adam(),
                 unit_seed(4, layer, channels), relu_gradient_override=True, per_item=True)
    trace = []
    for phase in presets.PRESETS["fast"]:
        vis.optimizer = render.Adam(phase.learning_rate)
        vis.set_transforms(transform.standard_transforms if phase.transforms is None else [])
        for _ in range(phase.steps):
            vis.step()
            trace.append(vis.last_per_item.astype(np.float64))
    np.testing.assert_array_equal(res.images_u8, to_uint8(vis.image()))
    np.testing.assert_array_equal(res.traces, np.array(trace))
    assert res.traces.shape == (160, 2) and res.traces[-1].mean() > res.traces[0].mean()
    again = ChannelBatchRenderer(tiny_model, Settings(**PRESET)).render_unit(layer, channels)
    np.testing.assert_array_equal(again.images_u8, res.images_u8)
    np.testing.assert_array_equal(again.traces, res.traces)
    plain = ChannelBatchRenderer(tiny_model, Settings(size=24, batch=2, seed=4, steps=160)).render_unit(layer,
                                                                                                     channels)
    assert np.abs(plain.images_u8.astype(int) - res.images_u8).max() > 10


@pytest.mark.parametrize("kw, bad", [
    (dict(preset="faster"), "preset must be None or one of \\['fast'\\]"),
    (dict(preset=1), "preset must be None"),
    (dict(preset="fast", steps=512), "leave steps=512 at the default"),
    (dict(preset="fast", transforms="none"), "leave transforms='none'"),
    (dict(preset="fast", learning_rate=0.1), "leave learning_rate=0.1"),
    (dict(preset="fast", steps=8, learning_rate=0.1), "leave steps=8, learning_rate=0.1"),
])
def test_preset_refuses_what_it_sets(kw, bad):
    with pytest.raises(ValueError, match=f"gallery: .*{bad}"):
        Settings(**kw)


def test_preset_settings_serialize_and_old_settings_read_as_before():
    s = Settings(preset="fast")
    assert Settings(preset="fast", steps=160) == s and s.steps == 160
    assert s.as_dict()["preset"] == "fast" and Settings.from_dict(s.as_dict()) == s
    assert Settings().steps == 512 and Settings().phases()[0] == presets.Phase(512, 0.05, None)
    assert Settings(transforms="none", learning_rate=0.1).phases() == (presets.Phase(512, 0.1, ()),)
    assert s.phases() is presets.PRESETS["fast"]
    old = Settings().as_dict()
    assert "preset" not in old  # what galleries written before presets hold: unchanged, so their key too
    assert Settings.from_dict(old) == Settings() and Settings.from_dict(old).preset is None
    assert s.key() != Settings(steps=160).key()
    assert Settings(steps=160).differences(s) == ["preset: None vs 'fast'"]


def test_preset_job_resumes_and_refuses_to_mix_with_plain_settings(tiny_model, tmp_path):
    out = tmp_path / "g"
    run = dict(site=False, sprites=False, progress=False, size=16, batch=2, seed=3)
    first = gallery.run(tiny_model, "conv1", out, channels=[0, 1], preset="fast", **run)
    assert sorted(first.committed) == [("conv1", 0), ("conv1", 1)]
    manifest = json.load(open(out / "gallery.json"))
    assert manifest["settings"]["preset"] == "fast" and manifest["settings"]["steps"] == 160
    rec = json.load(open(out / "layers" / "conv1" / "0000.json"))
    assert rec["settings"]["preset"] == "fast" and len(rec["objective_trace"]) == 160
    second = gallery.run(tiny_model, "conv1", out, channels=[0, 1, 2], preset="fast", **run)
    assert second.skipped == 2 and second.committed == [("conv1", 2)]
    with pytest.raises(gallery.GalleryMismatchError, match=r"steps: 160 there, 512 here; preset: 'fast' there, "
                                                           r"None here"):
        gallery.run(tiny_model, "conv1", out, channels=[0], **run)
    with pytest.raises(gallery.GalleryMismatchError, match=r"preset: 'fast' there, None here"):
        gallery.run(tiny_model, "conv1", out, channels=[0], steps=160, **run)
    plain = tmp_path / "plain"
    gallery.run(tiny_model, "conv1", plain, channels=[0], steps=4, **run)
    assert "preset" not in json.load(open(plain / "gallery.json"))["settings"]
    with pytest.raises(gallery.GalleryMismatchError, match=r"steps: 4 there, 160 here; preset: None there, "
                                                           r"'fast' here"):
        gallery.run(tiny_model, "conv1", plain, channels=[0], preset="fast", **run)
    assert gallery.run(tiny_model, "conv1", plain, channels=[0], steps=4, **run).skipped == 1


def test_cli_gallery_preset(tiny_model_path, tmp_path, capsys):
    out = tmp_path / "g"
    base = ["gallery", "--model", tiny_model_path, "--layers", "conv1", "--channels", "0", "--size", "16",
            "--batch", "1", "--out", str(out), "--no-site", "--quiet"]
    assert cli.main(base + ["--preset", "fast", "--steps", "160"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["lucid-fast gallery: error: --preset fast sets the steps; drop --steps"]
    assert not out.exists()
    assert cli.main(base + ["--preset", "fast"]) == 0
    settings = json.load(open(out / "gallery.json"))["settings"]
    assert settings["preset"] == "fast" and settings["steps"] == 160
    assert os.path.exists(out / "layers" / "conv1" / "0000.png")
