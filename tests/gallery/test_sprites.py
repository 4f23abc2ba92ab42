"""channel_sprites / SpriteSheet: the interface the building-blocks views use."""
import json
import os

import numpy as np
import pytest

from lucid_fast import gallery
from lucid_fast.gallery.store import read_png


def test_channel_sprites_renders_caches_and_tiles(tiny_model, tmp_path):
    kw = dict(size=16, steps=6, batch=2, seed=3, cache_dir=str(tmp_path))
    sheet = gallery.channel_sprites(tiny_model, "conv2", [5, 1, 2], **kw)
    assert sheet.layer == "conv2" and sheet.model_name == "tiny"
    assert sheet.channels == [5, 1, 2] and sheet.tile == 16
    assert sheet.index == {5: (0, 0), 1: (0, 1), 2: (1, 0)}
    assert sheet.sheet.shape == (32, 32, 3) and sheet.sheet.dtype == np.float32
    for c, (r, k) in sheet.index.items():
        tile = sheet.sheet[16 * r:16 * r + 16, 16 * k:16 * k + 16]
        np.testing.assert_array_equal(tile, sheet.image(c))
        assert sheet.image(c).dtype == np.float32 and 0 <= sheet.image(c).min() <= sheet.image(c).max() <= 1
    np.testing.assert_array_equal(sheet.sheet[16:, 16:], 1.0)  # the unused tile is white
    assert not np.array_equal(sheet.image(5), sheet.image(1))  # different channels, different pictures
    with pytest.raises(KeyError, match="channel 7"):
        sheet.image(7)

    (job_dir,) = [os.path.join(d, s) for d in [os.path.join(tmp_path, m) for m in os.listdir(tmp_path)]
                  for s in os.listdir(d)]
    log = gallery.read_log(job_dir)
    assert sorted(e["channel"] for e in log) == [1, 2, 5]
    # more channels: only the new ones render; the cached ones come back unchanged
    again = gallery.channel_sprites(tiny_model, "conv2", range(6), **kw)
    log = gallery.read_log(job_dir)
    assert sorted(e["channel"] for e in log) == [0, 1, 2, 3, 4, 5]
    assert again.channels == [0, 1, 2, 3, 4, 5] and again.sheet.shape == (32, 48, 3)
    np.testing.assert_array_equal(again.image(5), sheet.image(5))
    # different settings: a different cache directory, never mixed
    other = gallery.channel_sprites(tiny_model, "conv2", [1], **{**kw, "seed": 4})
    assert not np.array_equal(other.image(1), sheet.image(1))
    assert len(os.listdir(os.path.dirname(job_dir))) == 2


def test_sprite_sheet_save_and_load(tmp_path):
    rng = np.random.default_rng(0)
    imgs = [np.round(rng.random((8, 8, 3)) * 255).astype(np.float32) / 255 for _ in range(5)]
    sheet = gallery.SpriteSheet("m", "layer", [9, 3, 4, 0, 7], imgs)
    png, js = sheet.save(tmp_path / "s.png")
    idx = json.load(open(js))
    assert idx["channels"] == [9, 3, 4, 0, 7] and idx["tile"] == 8 and idx["index"]["4"] == [0, 2] and idx["index"]["0"] == [1, 0]
    np.testing.assert_array_equal(read_png(png), sheet.sheet)
    back = gallery.SpriteSheet.load(png)
    assert back.index == sheet.index
    for c in sheet.channels:
        np.testing.assert_array_equal(back.image(c), sheet.image(c))
    with pytest.raises(ValueError, match=r"\.png"):
        sheet.save(tmp_path / "s.jpg")
    with pytest.raises(ValueError, match="one image per channel"):
        gallery.SpriteSheet("m", "l", [1, 2], imgs[:1])


def test_channel_sprites_bad_input(tiny_model, tmp_path):
    with pytest.raises(ValueError, match="outside"):
        gallery.channel_sprites(tiny_model, "conv2", [12], size=16, steps=2, cache_dir=str(tmp_path))
    with pytest.raises(ValueError, match="unknown layer"):
        gallery.channel_sprites(tiny_model, "conv9", [0], size=16, steps=2, cache_dir=str(tmp_path))
    with pytest.raises(ValueError, match="size"):
        gallery.channel_sprites(tiny_model, "conv2", [0], size=2, steps=2, cache_dir=str(tmp_path))
