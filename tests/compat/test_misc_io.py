"""misc.io with Lucid's signatures: load / save by extension, URLs through a real HTTP server with the download
cache and the offline error, atomic writes, show(domain=) and lists of images, and the helper modules."""
import json
import os
import socket

import numpy as np
import pytest

from lucid_fast.misc import io
from lucid_fast.misc.io import collapse_channels, loading, reading, saving, scoping, serialize_array, showing
from lucid_fast.modelzoo import OfflineError


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---- URLs ------------------------------------------------------------------------------------------------------

def test_load_url_caches_and_works_offline_afterwards(http_files, rng):
    server, root = http_files
    img = rng.uniform(size=(6, 5, 3)).astype(np.float32)
    io.save(img, str(root / "pic.png"), domain=(0, 1))
    np.save(root / "a.npy", np.arange(5))
    (root / "d.json").write_text(json.dumps({"k": [1, 2]}))
    got = io.load(server.url + "/pic.png")
    assert got.shape == (6, 5, 3) and np.abs(got - img).max() <= 0.5 / 255 + 1e-6
    assert np.array_equal(io.load(server.url + "/a.npy"), np.arange(5))
    assert io.load(server.url + "/d.json") == {"k": [1, 2]}
    assert os.path.exists(reading.local_cache_path(server.url + "/pic.png"))
    n = len(server.requests)
    server.stop()  # offline from now on
    assert np.array_equal(io.load(server.url + "/pic.png"), got)  # from the cache
    assert len(server.requests) == n
    assert io.load([server.url + "/a.npy", server.url + "/d.json"])[1] == {"k": [1, 2]}  # lists, in order


def test_uncached_reads_fetch_every_time(http_files):
    server, root = http_files
    (root / "t.txt").write_text("one\ntwo\n")
    assert io.load(server.url + "/t.txt", cache=False, split=True) == ["one", "two"]
    assert io.load(server.url + "/t.txt", cache=False) == "one\ntwo\n"
    assert len(server.requests) == 2
    assert not os.path.exists(reading.local_cache_path(server.url + "/t.txt"))
    assert reading.read(server.url + "/t.txt", encoding="utf-8", cache=False) == "one\ntwo\n"


def test_offline_and_missing_urls_get_clear_errors(http_files, monkeypatch):
    server, _ = http_files
    with pytest.raises(FileNotFoundError, match="404"):
        io.load(server.url + "/missing.png")
    url = f"http://127.0.0.1:{_free_port()}/model/labels.txt"  # nothing listens there
    with pytest.raises(OfflineError) as info:
        io.load(url)
    message = str(info.value)
    assert url in message and reading.local_cache_path(url) in message and "LUCID_FAST_CACHE" in message
    assert not os.path.exists(reading.local_cache_path(url))
    with pytest.raises(OfflineError, match="could not be downloaded"):
        io.load(url, cache=False)


def test_a_corrupt_cached_download_is_fetched_again(http_files):
    server, root = http_files
    np.save(root / "x.npy", np.arange(3))
    url = server.url + "/x.npy"
    io.load(url)
    path = reading.local_cache_path(url)
    with open(path, "wb") as fh:  # the cache copy went bad (and no longer matches its recorded checksum)
        fh.write(b"garbage")
    assert np.array_equal(io.load(url), np.arange(3))
    assert np.array_equal(np.load(path), np.arange(3))


def test_gs_urls_read_the_public_bucket_address():
    assert reading._http_url("gs://modelzoo/labels/x.txt") == "https://storage.googleapis.com/modelzoo/labels/x.txt"


# ---- save / load -----------------------------------------------------------------------------------------------

def test_save_and_load_every_format(tmp_path, rng):
    arr = rng.normal(size=(3, 4)).astype(np.float32)
    cases = [
        ("a.npy", arr, lambda x: np.array_equal(x, arr)),
        ("a.npy.xz", arr, lambda x: np.array_equal(x, arr)),
        ("b.npz", {"w": arr, "i": np.arange(2)}, lambda x: np.array_equal(x["w"], arr) and list(x) == ["w", "i"]),
        ("c.json", {"a": np.float32(1.5), "b": np.arange(3), "t": (1, 2)}, lambda x: x == {"a": 1.5, "b": [0, 1, 2],
                                                                                              "t": [1, 2]}),
        ("d.txt", ["x", "y"], lambda x: x == "x\ny\n"),
        ("e.md", "# title", lambda x: x == "# title"),
    ]
    for name, thing, check in cases:
        result = io.save(thing, str(tmp_path / name))
        assert result["url"] == str(tmp_path / name) and "type" in result
        assert check(io.load(str(tmp_path / name))), name
    with open(tmp_path / "c.json", "rb") as fh:  # an open handle (Lucid's url_or_handle)
        assert io.load(fh)["t"] == [1, 2]
    import tensorflow as tf

    graph = tf.Graph()
    with graph.as_default():
        tf.constant(1.0, name="c")
    io.save(graph.as_graph_def(), str(tmp_path / "g.pb"))
    assert [n.name for n in io.load(str(tmp_path / "g.pb")).node] == ["c"]


def test_images_save_by_lucids_domain_rule(tmp_path):
    img = np.linspace(0.25, 0.75, 4 * 4 * 3, dtype=np.float32).reshape(4, 4, 3)
    io.save(img, str(tmp_path / "stretched.png"))  # domain None: min..max -> 0..255, as Lucid's save
    io.save(img, str(tmp_path / "kept.png"), domain=(0, 1))
    stretched, kept = io.load(str(tmp_path / "stretched.png")), io.load(str(tmp_path / "kept.png"))
    assert stretched.min() == 0 and stretched.max() == 1
    assert np.abs(kept - img).max() <= 0.5 / 255 + 1e-6
    rgba = np.dstack([img, np.full((4, 4, 1), 0.5, np.float32)])
    io.save(rgba, str(tmp_path / "rgba.png"), domain=(0, 1))
    assert io.load(str(tmp_path / "rgba.png")).shape == (4, 4, 4)
    io.save(rgba, str(tmp_path / "q.jpg"), quality=90, domain=(0, 1))  # JPEG drops alpha
    assert io.load(str(tmp_path / "q.jpg")).shape == (4, 4, 3)
    gray = (img[..., 0] * 255).astype(np.uint8)
    io.save(gray, str(tmp_path / "gray.png"))
    assert io.load(str(tmp_path / "gray.png")).shape == (4, 4, 3)  # gray loads as RGB (Lucid)
    assert io.load(str(tmp_path / "gray.png"), size=(8, 2)).shape == (2, 8, 3)
    batch = np.stack([img, img])
    io.save(batch, str(tmp_path / "grid.png"), domain=(0, 1))
    assert io.load(str(tmp_path / "grid.png")).shape == (4, 10, 3)  # a grid of two with a 2-pixel gap


def test_saves_are_atomic(tmp_path, monkeypatch):
    path = tmp_path / "keep.npy"
    io.save(np.arange(4), str(path))

    def broken(thing, handle, **kwargs):
        handle.write(b"half a file")
        raise KeyboardInterrupt  # an interrupt in the middle of writing

    monkeypatch.setitem(saving.savers, ".npy", broken)
    with pytest.raises(KeyboardInterrupt):
        io.save(np.arange(9), str(path))
    assert np.array_equal(np.load(path), np.arange(4)), "the file that was there must survive"
    assert os.listdir(tmp_path) == ["keep.npy"], "no temporary file may be left behind"
    assert oct(os.stat(path).st_mode & 0o777) != "0o600"


def test_unsafe_and_unknown_formats(tmp_path):
    with pytest.raises(ValueError, match="allow_unsafe_formats"):
        io.save({"a": 1}, str(tmp_path / "x.pkl"))
    io.save({"a": 1}, str(tmp_path / "x.pkl"), allow_unsafe_formats=True)
    with pytest.raises(ValueError, match="allow_unsafe_formats"):
        io.load(str(tmp_path / "x.pkl"))
    assert io.load(str(tmp_path / "x.pkl"), allow_unsafe_formats=True) == {"a": 1}
    io.save("free text", str(tmp_path / "x.weird"))  # strings go anywhere, as in Lucid
    with pytest.raises(ValueError, match="unknown extension"):
        io.save(np.zeros(3), str(tmp_path / "x.weird"))
    with pytest.raises(ValueError, match="no extension"):
        io.save(np.zeros(3), str(tmp_path / "noext"))
    with pytest.raises(ValueError, match="not an image either"):
        io.load(str(tmp_path / "x.weird"))
    with pytest.raises(ValueError, match="remote URL"):
        io.save(np.zeros(3), "https://example.com/x.npy")


def test_scopes_contexts_and_batch_save(tmp_path):
    with io.io_scope(str(tmp_path)), io.io_scope("sub"):
        io.save(np.arange(2), "a.npy")
        assert io.scope_url("b.npy") == os.path.join(str(tmp_path), "sub", "b.npy")
        assert io.scope_url("/abs/x") == "/abs/x" and io.scope_url("http://h/x") == "http://h/x"
    assert np.array_equal(np.load(tmp_path / "sub" / "a.npy"), np.arange(2))
    assert scoping.current_io_scopes() == []
    ctx = io.CaptureSaveContext()
    with ctx:
        results = io.batch_save([(np.arange(i), str(tmp_path / f"{i}.npy")) for i in range(5)]
                                + [({"x": 1}, str(tmp_path / "j.json"), {"indent": None})], num_workers=3)
    assert [r["url"] for r in results][:2] == [str(tmp_path / "0.npy"), str(tmp_path / "1.npy")]
    assert len(ctx.captured_saves) == 6
    assert (tmp_path / "j.json").read_text() == '{"x": 1}'
    with pytest.raises(ValueError, match="batch_save"):
        io.batch_save([(1,)])


# ---- show and the array helpers ----------------------------------------------------------------------------------

def test_normalize_array_and_serialize(rng):
    a = np.array([[0.2, 0.6], [1.4, -0.1]], np.float32)
    assert serialize_array._normalize_array(a).tolist() == [[51, 153], [255, 0]]  # clipped to (0, 1)
    assert serialize_array._normalize_array(a, domain=None).tolist() == [[51, 119], [255, 0]]  # own range: (x + 0.1) / 1.5
    assert serialize_array._normalize_array(np.uint8([[3, 250]])).tolist() == [3, 250]
    with pytest.raises(ValueError, match="NaN"):
        serialize_array._normalize_array(np.float32([[np.nan, 1]]))
    png = serialize_array.serialize_array(rng.uniform(size=(4, 4, 3)))
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    js = serialize_array.array_to_jsbuffer(np.arange(3, dtype=np.float32))
    assert "Float32Array" in js
    with pytest.raises(TypeError):
        serialize_array.array_to_jsbuffer(np.zeros((2, 2), np.float32))


def test_collapse_channels():
    hues = np.array([collapse_channels.hue_to_rgb(a) for a in (0, 120, 240)])
    assert np.allclose(hues, np.eye(3), atol=1e-6)  # red, green, blue
    X = np.zeros((1, 1, 6))
    X[0, 0, 2] = 2.0
    rgb = collapse_channels.collapse_channels(X)
    assert rgb.shape == (1, 1, 3) and np.isclose(np.linalg.norm(rgb), 2.0, rtol=1e-3)
    assert collapse_channels.collapse_channels(-X).shape == (1, 1, 3)  # negative values get hues of their own


def test_show_outside_a_notebook_writes_pngs(rng, capsys):
    img = rng.uniform(size=(5, 6, 3)).astype(np.float32)
    path = io.show(img)
    assert os.path.exists(path) and path in capsys.readouterr().out
    assert np.abs(io.load(path) - img).max() <= 0.5 / 255 + 1e-6  # domain (0, 1): as is
    doubled = io.load(io.show(img * 2 + 1, domain=(1, 3)))
    assert np.abs(doubled - img).max() <= 0.5 / 255 + 1e-6
    row = io.show([img, img[..., :1]], labels=["a", "b"])  # a list of images, gray included
    assert io.load(row).shape == (5, 14, 3)
    assert io.load(io.show(np.stack([img, img, img]))).shape == (5, 22, 3)  # rank 4: a row
    assert io.load(io.show(rng.uniform(size=(5, 6, 7)))).shape == (5, 6, 3)  # 7 channels collapsed
    os.remove(path)


def test_textured_mesh_takes_lucids_arguments(tmp_path, rng):
    """showing.textured_mesh(mesh, texture, background='0xffffff') (also io.show.textured_mesh) makes the
    three.js page of lucid_fast.misc.mesh_viewer; Lucid's 0xRRGGBB colour becomes CSS."""
    from lucid_fast.misc.gl import meshes

    page = tmp_path / "mesh.html"
    showing.textured_mesh(meshes.torus(n_major=8, n_minor=4), rng.uniform(size=(8, 8, 3)), "0x102030",
                          path=str(page), display=False)
    assert "#102030" in page.read_text() and io.show.textured_mesh is showing.textured_mesh
    with pytest.raises(ValueError, match="position"):
        showing.textured_mesh({}, rng.uniform(size=(8, 8, 3)))


def test_show_in_a_notebook_displays_html(monkeypatch, rng):
    shown = []
    monkeypatch.setattr(showing, "in_notebook", lambda: True)
    monkeypatch.setattr(showing, "_display_html", shown.append)
    assert io.show([rng.uniform(size=(4, 4, 3))] * 2, labels=["one", "two"], w=64) is None
    assert "one" in shown[-1] and shown[-1].count("<img") == 2 and "width: 64px" in shown[-1]
    showing.image(rng.uniform(size=(4, 4)), domain=None)
    assert shown[-1].startswith("<img") and "data:image/png;base64," in shown[-1]


def test_loaders_table_is_lucids():
    for ext in (".png", ".jpg", ".jpeg", ".npy", ".npz", ".json", ".txt", ".md", ".pb"):
        assert ext in loading.loaders
    assert set(loading.unsafe_loaders) == {".pickle", ".pkl"} and ".xz" in loading.decompressors
    assert set(saving.unsafe_savers) == {".pickle", ".pkl"} and ".xz" in saving.compressors


# ---- issue 23: bad input is a ValueError naming it -------------------------------------------------------------

@pytest.mark.parametrize("shape", [(8,), (8, 8, 5), (2, 8, 8, 5), (0, 8), (0, 8, 8, 3), (8, 8, 3, 2, 1)])
def test_save_image_of_a_non_image_shape(tmp_path, shape):
    # before: (8,) -> IndexError, (8, 8, 5) -> PIL's TypeError, (0, 8, 8, 3) -> ZeroDivisionError
    path = tmp_path / "x.png"
    path.write_bytes(b"old")
    with pytest.raises(ValueError, match=r"must be an array \(h, w\), \(h, w, 1\|2\|3\|4\)"):
        io.save(np.zeros(shape, np.float32), str(path))
    assert path.read_bytes() == b"old"


def test_save_image_keeps_one_pixel_rows(tmp_path):
    """A 1 x w image stays 1 x w (size-1 axes used to be squeezed into a 1-D array PIL could not save)."""
    for shape, want in [((1, 8), (1, 8, 3)), ((1, 1), (1, 1, 3)), ((5, 1, 3), (5, 1, 3)), ((1, 4, 4, 1), (4, 4, 3))]:
        io.save(np.full(shape, 0.5, np.float32), str(tmp_path / "r.png"), domain=(0, 1))
        assert io.load(str(tmp_path / "r.png")).shape == want


def test_bytes_paths_are_decoded_like_os(tmp_path):
    """Decision: bytes paths are accepted and decoded with os.fsdecode, as the os module reads them."""
    p = os.fsencode(str(tmp_path / "b.npy"))
    io.save(np.arange(3), p)  # before: "unknown extension b'.npy'"
    assert np.array_equal(io.load(p), np.arange(3))  # before: TypeError
    with open(p, "rb") as handle:  # a handle opened with a bytes name
        assert np.array_equal(io.load(handle), np.arange(3))
    with pytest.raises(ValueError, match="url_or_handle must be a path"):
        io.load(123)
    with pytest.raises(ValueError, match="url_or_handle must be a path"):
        io.save(np.arange(3), 123)


@pytest.mark.parametrize("size", [(10.7, 5.2), (True, True), (4, 4, 4), (0, 4), "44", 4])
def test_load_image_size_is_two_ints(tmp_path, size):
    # before: (10.7, 5.2) was truncated to (10, 5), (4, 4, 4) to (4, 4), (True, True) gave 1 x 1
    io.save(np.full((6, 6, 3), 0.5, np.float32), str(tmp_path / "s.png"))
    with pytest.raises(ValueError, match=r"size must be \(width, height\), two ints"):
        io.load(str(tmp_path / "s.png"), size=size)
    assert io.load(str(tmp_path / "s.png"), size=(np.int64(8), 4)).shape == (4, 8, 3)


def test_load_image_size_is_bounded(tmp_path):
    # before: PIL tried to allocate the resized image (10^12 pixels: a bare MemoryError)
    io.save(np.full((6, 6, 3), 0.5, np.float32), str(tmp_path / "s.png"))
    with pytest.raises(ValueError, match="decompression-bomb limit"):
        io.load(str(tmp_path / "s.png"), size=(10**6, 10**6))
