"""Issue 23 (bad input and faults) for the views: sizes bounded with a ValueError naming the argument (no OOM),
no silent rounding, a failing save leaves the file that was there, titles checked at construction, uint8 hints
read as documented."""
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from lucid_fast import views
from lucid_fast.views import _base


def _run_limited(code, limit_bytes=3 << 30, timeout=120):
    """Runs ``code`` in a fresh Python with an address-space limit and a timeout; returns (rc, stdout+stderr)."""
    prelude = (f"import resource\nresource.setrlimit(resource.RLIMIT_AS, ({limit_bytes}, {limit_bytes}))\n")
    proc = subprocess.run([sys.executable, "-c", prelude + textwrap.dedent(code)], capture_output=True, text=True,
                          timeout=timeout)
    return proc.returncode, proc.stdout + proc.stderr


def test_huge_sprite_size_is_a_value_error_not_an_oom(tmp_path):
    # Before: the static image grew to ~18 GB (killed by the OOM killer; here a MemoryError under the limit).
    rc, out = _run_limited(f"""
        import numpy as np
        from lucid_fast import views
        try:
            views.ChannelAttribution(np.arange(10.0), sprite_size=10**6).save({str(tmp_path / 'a.html')!r})
        except ValueError as e:
            print("VALUEERROR", e)
        """)
    assert rc == 0, out
    assert "VALUEERROR" in out and "sprite_size" in out and "2048" in out, out


@pytest.mark.parametrize("bad", [10**6, 100.0, 99.9, True, "80", 7])
def test_sprite_size_must_be_an_int_in_range(bad):
    with pytest.raises(ValueError, match="sprite_size"):
        views.ChannelAttribution(np.arange(10.0), sprite_size=bad)


def test_every_size_argument_is_bounded():
    img = np.zeros((8, 8, 3), np.float32)
    big = _base.MAX_SIDE + 1
    cases = [
        (lambda: views.SemanticDictionary(img, np.ones((2, 2, 5)), size=big), "size"),
        (lambda: views.SemanticDictionary(img, np.ones((2, 2, 5)), sprite_size=big), "sprite_size"),
        (lambda: views.NeuronGroups(img, np.ones((2, 2, 2)), size=big), "size"),
        (lambda: views.NeuronGroups(img, np.ones((2, 2, 2)), icon_size=big), "icon_size"),
        (lambda: views.ActivationGrid(img, np.ones((2, 2, 4, 4, 3)) * 0.5, size=big), "size"),
        (lambda: views.ActivationGrid(img, np.ones((2, 2, 4, 4, 3)) * 0.5, detail_size=big), "detail_size"),
        (lambda: views.SpatialAttribution(img, np.ones((2, 2, 2, 2)), size=big), "size"),
        (lambda: views.SpatialAttribution(img, np.ones((2, 2, 2, 2)), size=224.0), "size"),
    ]
    for make, name in cases:
        with pytest.raises(ValueError, match=f"{name} must be an int in"):
            make()


def test_static_image_larger_than_the_cap_is_refused():
    # each size is in range, but 2 x 5000 sprites of 2048 px side by side would be a 20 Gpx canvas
    with pytest.raises(ValueError, match="static image would be .*sprite_size and n_show"):
        views.ChannelAttribution(np.arange(5000.0), n_show=5000, sprite_size=2048)


@pytest.mark.parametrize("pos", [(0.7, 1.9), (True, 0), (0,), "ab"])
def test_semantic_dictionary_pos_is_not_rounded(pos):
    with pytest.raises(ValueError, match="pos must be"):
        views.SemanticDictionary(np.zeros((8, 8, 3), np.float32), np.ones((2, 2, 5)), pos=pos)
    view = views.SemanticDictionary(np.zeros((8, 8, 3), np.float32), np.ones((2, 2, 5)), pos=(np.int64(1), 0))
    assert view.pos == (1, 0)


def test_title_checked_at_construction():
    with pytest.raises(ValueError, match="title must be a string"):
        views.ChannelAttribution(np.arange(10.0), title=123)
    with pytest.raises(ValueError, match="title must be a string"):
        views.SpatialAttribution(np.zeros((8, 8, 3), np.float32), np.ones((2, 2, 2, 2)), title=b"x")
    assert views.ChannelAttribution(np.arange(10.0), title="t").title == "t"


@pytest.mark.parametrize("ext", [".html", ".png"])
def test_failing_save_keeps_the_old_file(tmp_path, monkeypatch, ext):
    path = tmp_path / ("view" + ext)
    path.write_bytes(b"the good file")
    view = views.ChannelAttribution(np.arange(10.0))

    def boom(*a, **k):
        raise RuntimeError("failed while building the page")

    monkeypatch.setattr(view, "html", boom)
    monkeypatch.setattr(view, "png", boom)
    with pytest.raises(RuntimeError, match="building the page"):
        view.save(str(path))
    assert path.read_bytes() == b"the good file"
    assert sorted(os.listdir(tmp_path)) == ["view" + ext]  # no temporary file left behind
    monkeypatch.undo()
    view.save(str(path))
    assert path.read_bytes() != b"the good file" and path.stat().st_size > 0


def test_save_accepts_bytes_and_pathlike_paths(tmp_path):
    view = views.ChannelAttribution(np.arange(10.0))
    view.save(os.fsencode(str(tmp_path / "a.html")))
    view.save(tmp_path / "b.png")
    assert (tmp_path / "a.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert (tmp_path / "b.png").read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(ValueError, match="path must be"):
        view.save(123)


def test_spatial_attribution_uint8_hint_reads_as_over_255():
    rng = np.random.default_rng(0)
    img = rng.uniform(size=(8, 8, 3)).astype(np.float32)
    hint8 = rng.integers(77, 256, size=(2, 2, 3)).astype(np.uint8)  # before: "got range [77, 255]"
    view = views.SpatialAttribution(img, np.ones((2, 2, 2, 2)), hint1=hint8)
    np.testing.assert_allclose(view.hint1, hint8.astype(np.float32) / 255.0, atol=1e-6)
    ref = views.SpatialAttribution(img, np.ones((2, 2, 2, 2)), hint1=hint8.astype(np.float32) / 255.0)
    np.testing.assert_allclose(view.hint1, ref.hint1, atol=1e-6)
    with pytest.raises(ValueError, match="hint1 has shape"):
        views.SpatialAttribution(img, np.ones((2, 2, 2, 2)), hint1=np.zeros((3, 3, 3), np.uint8))


@pytest.mark.parametrize("make, name", [
    (lambda img: views.ActivationGrid(img, np.zeros((0, 0, 8, 8, 3), np.float32)), "cells"),
    (lambda img: views.ChannelAttribution(np.zeros((0,), np.float32)), "attr"),
    (lambda img: views.NeuronGroups(img, np.zeros((0, 4, 4), np.float32)), "spatial_factors"),
    (lambda img: views.SemanticDictionary(img, np.zeros((0, 0, 8), np.float32)), "acts"),
    (lambda img: views.SpatialAttribution(img, np.zeros((0, 0, 0, 0), np.float32)), "attr"),
])
def test_empty_arrays_are_refused_by_name(make, name):
    """An empty array is a ValueError naming the argument, not numpy's "zero-size array to reduction" (issue 23)."""
    img = np.random.default_rng(0).random((32, 32, 3)).astype(np.float32)
    with pytest.raises(ValueError, match=f"{name} is empty"):
        make(img)
