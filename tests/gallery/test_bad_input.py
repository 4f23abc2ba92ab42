"""Issue 23, the gallery's part: damaged files are reported by name and rendered again (never a traceback), only
the gallery's own temporary files are removed, a refused run leaves nothing that blocks the next one, and bad
arguments are refused (nothing clipped or rounded), before the model loads where they can be."""
import json
import os

import pytest

from lucid_fast import gallery
from lucid_fast.gallery.store import GalleryStore

SMALL = dict(size=16, steps=4, batch=2, seed=3)


def _run(model, out, **kw):
    return gallery.run(model, "conv1", out, **{"channels": "0:2", "progress": False, **SMALL, **kw})


def _rec_path(out, c):
    return os.path.join(out, "layers", "conv1", f"{c:04d}.json")


def test_damaged_layer_index_and_records_are_named_and_rendered_again(tiny_model, tmp_path, capsys):
    out = str(tmp_path / "g")
    _run(tiny_model, out)
    with open(os.path.join(out, "layers.json"), "w") as f:
        json.dump({"a": 1}, f)  # was: TypeError from every later run
    rec = json.load(open(_rec_path(out, 0)))
    rec["image"] = None  # was: TypeError (os.path.join(dir, None)) from every later run
    json.dump(rec, open(_rec_path(out, 0), "w"))
    rec1 = json.load(open(_rec_path(out, 1)))
    del rec1["objective_trace"]  # was: KeyError in the site build, after rendering, on every run
    json.dump(rec1, open(_rec_path(out, 1), "w"))
    capsys.readouterr()
    res = _run(tiny_model, out)
    err = capsys.readouterr().err
    assert sorted(res.committed) == [("conv1", 0), ("conv1", 1)]
    assert f"damaged file {os.path.join(out, 'layers.json')}: is a JSON dict, not a list" in err
    assert f"damaged file {_rec_path(out, 0)}: its 'image' is None" in err
    assert f"damaged file {_rec_path(out, 1)}: its 'objective_trace' is missing" in err
    assert isinstance(json.load(open(os.path.join(out, "layers.json"))), list)
    assert json.load(open(_rec_path(out, 0)))["image"] == "0000.png"
    assert os.path.exists(os.path.join(out, "site", "conv1", "0001.html"))
    assert _run(tiny_model, out).committed == []  # repaired: the next run has nothing to do


def test_a_truncated_png_with_an_intact_record_is_rendered_again(tiny_model, tmp_path, capsys):
    out = str(tmp_path / "g")
    _run(tiny_model, out)
    png = os.path.join(out, "layers", "conv1", "0001.png")
    data = open(png, "rb").read()
    open(png, "wb").write(data[: len(data) // 2])
    capsys.readouterr()
    res = _run(tiny_model, out)  # was: never repaired, and the sprite sheet failed naming no file
    assert res.committed == [("conv1", 1)]
    assert f"its image {png} is truncated" in capsys.readouterr().err
    assert open(png, "rb").read() == data  # the same seed renders the same bytes


def test_only_the_gallery_s_own_temporary_files_are_removed(tiny_model, tmp_path):
    out = tmp_path / "g"
    _run(tiny_model, out)
    layer = out / "layers" / "conv1"
    mine = [out / "mine.tmp", layer / "notes.tmp", out / "layers" / "x.tmp", out / ".gallery.json.tmp",
            out / "sub" / ".0000.png.abcdefgh.tmp"]
    ours = [layer / ".0000.png.k2j_9x0a.tmp", layer / ".0000.json.abcdefgh.tmp", out / ".layers.json.zzzzzzzz.tmp",
            layer / "0001.png.4242.0123abcd.tmp",
            out / "site" / "conv1" / "img" / "0007.png.tmp"]
    for p in mine + ours:
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text("x")
    _run(tiny_model, out)
    assert all(p.exists() for p in mine)  # was: every *.tmp under the directory deleted
    assert [p for p in ours if p.exists()] == []


def test_a_run_refused_before_its_first_channel_does_not_block_other_settings(tiny_model, tmp_path, monkeypatch,
                                                                              capsys):
    out = tmp_path / "g"
    monkeypatch.setenv("LUCID_FAST_MEMORY_LIMIT", "1K")
    with pytest.raises(MemoryError):
        _run(tiny_model, out)
    monkeypatch.delenv("LUCID_FAST_MEMORY_LIMIT")
    capsys.readouterr()
    res = _run(tiny_model, out, size=24)  # was: "holds a job with different settings" though nothing was rendered
    assert len(res.committed) == 2
    assert "held a job that committed no channel (size: 16 there, 24 here); replaced by this one" in \
        capsys.readouterr().err
    assert GalleryStore.open(out).settings.size == 24
    with pytest.raises(gallery.GalleryMismatchError, match="size: 24 there, 16 here"):
        _run(tiny_model, out, size=16)  # a job with rendered channels is still protected


@pytest.mark.parametrize("channels, match", [
    ("0:99999", r"'0:99999' reaches past 'conv1', which has 8 channels \(0..7\); nothing is clipped"),
    ("5:9", "reaches past 'conv1', which has 8 channels"),
    (":9", "reaches past"),
    ("8:", "reaches past"),
    ("²", r"channels: bad item '²'.*digits 0-9"),
    ([1.7], r"channels must be integers \(nothing is rounded\), got 1.7"),
])
def test_channels_are_refused_not_clipped_or_rounded(tiny_model, tmp_path, channels, match):
    with pytest.raises(ValueError, match=match):
        _run(tiny_model, tmp_path / "g", channels=channels)
    assert not (tmp_path / "g" / "layers").exists()


@pytest.mark.parametrize("channels", [[1.7], 1.7, ["1"], "0:99", "²"])
def test_channel_sprites_refuses_non_integer_and_out_of_range_channels(tiny_model, tmp_path, channels):
    # was: channels=[1.7] rendered channel 1
    with pytest.raises(ValueError, match="channel"):
        gallery.channel_sprites(tiny_model, "conv1", channels, size=16, steps=2, cache_dir=tmp_path)
    assert not any(files for _, _, files in os.walk(tmp_path))


@pytest.mark.parametrize("kw, match", [
    (dict(workers=99), r"workers 99 is more than the \d+ CPU\(s\)"),
    (dict(workers=0), "workers must be a positive integer"),
    (dict(scheduler=""), "scheduler must be a Dask scheduler address"),
    (dict(channels="²"), "bad item"),
])
def test_bad_arguments_are_refused_before_the_model_loads(tmp_path, kw, match):
    # a model path that does not exist: loading it would fail with another message
    with pytest.raises(ValueError, match=match):
        gallery.run(str(tmp_path / "missing.keras"), "conv1", tmp_path / "g", progress=False, **kw)
    assert not (tmp_path / "g").exists()


def test_out_onto_a_file_is_a_sentence(tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("x")
    for out, match in ((afile, "is a file; a gallery is a directory"), (afile / "g", "is a file, not a folder")):
        with pytest.raises(ValueError, match=match):
            gallery.run("vgg16_hed", "conv1", out, progress=False)


def test_a_damaged_keras_file_is_not_reported_as_missing(tmp_path):
    from lucid_fast.models import load_model

    bad = tmp_path / "bad.keras"
    bad.write_bytes(b"garbage")
    with pytest.raises(ValueError, match=r"exists but is not a Keras model file") as info:
        load_model(str(bad))  # was: "File not found: filepath=..."
    assert "not found" not in str(info.value).lower()
    bad_h5 = tmp_path / "bad.h5"
    bad_h5.write_bytes(b"garbage")
    with pytest.raises(ValueError, match="exists but cannot be read as a Keras model file"):
        load_model(str(bad_h5))  # was: a bare OSError (file signature not found)


def test_an_unreachable_scheduler_leaves_nothing_that_blocks_the_next_run(tiny_model_path, tmp_path):
    out = tmp_path / "g"
    with pytest.raises(ValueError, match="cannot reach the Dask scheduler at 'tcp://127.0.0.1:1'"):
        gallery.run(tiny_model_path, "conv1", out, channels="0:2", scheduler="tcp://127.0.0.1:1", progress=False,
                    **SMALL)
    # was: "holds a job with different settings" although nothing was rendered
    res = gallery.run(tiny_model_path, "conv1", out, channels="0:2", progress=False, **{**SMALL, "steps": 3})
    assert len(res.committed) == 2


def test_a_local_cluster_is_never_larger_than_the_cpus():
    from lucid_fast.gallery import dask_runner

    with pytest.raises(ValueError, match=r"workers 99 is more than the \d+ CPU\(s\)"):
        dask_runner.start_local_cluster(99)  # was: 99 worker processes
