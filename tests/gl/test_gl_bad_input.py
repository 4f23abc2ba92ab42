"""Issue 23 (bad input and faults) for the 3D side: mesh_view, turntable, MeshRenderer, load_obj. Every bad
argument is a ValueError naming it, raised before anything is rendered; nothing is rounded or padded."""
import io

import numpy as np
import pytest

from lucid_fast.misc.gl import glrenderer, meshes, meshutil, turntable
from lucid_fast.optvis import param


class _NoRender:
    """A renderer that fails the test if anything is rendered: the checks must come first."""

    size = (16, 16)

    def render_mesh(self, **kwargs):
        raise AssertionError("rendered before the arguments were checked")

    def release(self):
        pass


@pytest.fixture(scope="module")
def torus():
    return meshes.torus(n_major=8, n_minor=4)


def _tex():
    return np.full((8, 8, 3), 0.5, np.float32)


# ---- turntable ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs, match", [
    (dict(fps=0), "fps must be a finite number > 0"),            # before: ZeroDivisionError after rendering
    (dict(fps=-1), "fps must be"),
    (dict(fps=float("nan")), "fps must be"),
    (dict(fps=True), "fps must be"),
    (dict(frames=0), r"frames must be an int in \[1, 10000\]"),  # before: numpy's "need at least one array"
    (dict(frames=2.5), "frames must be an int"),
    (dict(frames=10**6), "frames must be an int"),
    (dict(distance=0.0), "distance must be a finite number > 0"),
    (dict(elevation_deg=float("inf")), "elevation_deg must be a finite number"),
    (dict(background=(1.0, 1.0)), "background must be a finite number or 3 numbers"),
    (dict(background=float("nan")), "background must be"),
    (dict(path="spin.avi"), "save as .gif or .mp4"),
])
def test_turntable_checks_before_rendering(torus, kwargs, match):
    with pytest.raises(ValueError, match=match):
        turntable.turntable(torus, _tex(), renderer=_NoRender(), **kwargs)


@pytest.mark.parametrize("size", [16.9, True, 0, "64"])
def test_turntable_size_is_an_int(torus, size, monkeypatch):
    # before: size=16.9 rendered at 16 px, size=True at 1 px
    monkeypatch.setattr(glrenderer, "MeshRenderer", lambda *a, **k: pytest.fail("renderer made"))
    with pytest.raises(ValueError, match="size must be an int"):
        turntable.turntable(torus, _tex(), size=size)


@pytest.mark.parametrize("bad, match", [
    (np.float32(np.nan), "NaN or inf"),   # before: rendered NaN frames (clipped to 0 where they showed)
    (np.float32(np.inf), "NaN or inf"),
    (np.float32(1.5), r"values in \[0, 1\]"),
])
def test_turntable_texture_values(torus, bad, match):
    tex = _tex()
    tex[3, 4, 1] = bad
    with pytest.raises(ValueError, match=match):
        turntable.turntable(torus, tex, renderer=_NoRender())


def test_turntable_mesh_without_faces(torus):
    empty = dict(torus, face=np.zeros((0,), np.int32))
    with pytest.raises(ValueError, match="no faces"):
        turntable.turntable(empty, _tex(), renderer=_NoRender())
    with pytest.raises(ValueError, match="NaN"):
        turntable.turntable(dict(torus, position=torus["position"] * np.nan), _tex(), renderer=_NoRender())


def test_save_animation_and_gif_bytes_check_fps(tmp_path):
    frames = np.zeros((2, 4, 4, 3), np.float32)
    with pytest.raises(ValueError, match="fps"):
        turntable.save_animation(frames, str(tmp_path / "a.gif"), fps=0)
    with pytest.raises(ValueError, match="fps"):
        turntable.gif_bytes(frames, fps=0)
    assert not (tmp_path / "a.gif").exists()


def test_turntable_views_frames():
    with pytest.raises(ValueError, match="frames"):
        turntable.turntable_views(0)
    assert len(turntable.turntable_views(3)) == 3


# ---- mesh_view ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("views, match", [
    ([], "views is empty"),                        # before: ZeroDivisionError inside render_vis
    ([np.eye(3)], r"views\[0\] must be a finite 4x4"),
    ([np.eye(4), np.full((4, 4), np.nan)], r"views\[1\] must be a finite 4x4"),
    (np.eye(4)[None][:0], "views is empty"),
])
def test_mesh_view_views(torus, views, match):
    with pytest.raises(ValueError, match=match):
        param.mesh_view(param.image(8), torus, _NoRender(), views=views)


def test_mesh_view_mesh_without_faces(torus):
    # before: rendered nothing, and the optimization changed nothing
    with pytest.raises(ValueError, match="no faces"):
        param.mesh_view(param.image(8), dict(torus, face=np.zeros((0, 3), np.int32)), _NoRender())
    with pytest.raises(ValueError, match="indices must be in"):
        param.mesh_view(param.image(8), dict(torus, face=np.full(3, 10**6)), _NoRender())


# ---- MeshRenderer ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("size, match", [
    ((16384, 16384), "at most 67108864"),  # before: moderngl's "framebuffer is not complete"
    ((True, True), "two ints"),            # before: a 1 x 1 renderer
    ((16.9, 16), "two ints"),
    ((16385, 1), "two ints in 1..16384"),
    ((64,), "two ints"),
])
def test_renderer_size(size, match, monkeypatch):
    monkeypatch.setattr(glrenderer, "create_context", lambda *a, **k: pytest.fail("context made"))
    with pytest.raises(ValueError, match=match):
        glrenderer.MeshRenderer(size)


def test_renderer_side_beyond_the_gl_limit(monkeypatch):
    shared = glrenderer.MeshRenderer((8, 8))
    try:
        monkeypatch.setattr(glrenderer, "_gl_max_side", lambda ctx: 32)
        with pytest.raises(ValueError, match="larger than this OpenGL's largest framebuffer, 32 px"):
            glrenderer.MeshRenderer((64, 16), context=shared.ctx)
        monkeypatch.undo()
        with shared.ctx:
            assert glrenderer._gl_max_side(shared.ctx) >= 2048  # a real context reports its limits
        frags = shared.render_mesh(modelview=meshutil.lookat([0, 0, 12]), **meshes.torus(n_major=8, n_minor=4))
        assert frags.shape == (8, 8, 4)
        with pytest.raises(ValueError, match="face is empty"):
            shared.render_mesh(position=np.zeros((3, 3)), uv=np.zeros((3, 2)), face=np.zeros(0, np.int32))
    finally:
        shared.release()


# ---- load_obj -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("line, match", [
    ("v 1 2", r"line 2: 'v' needs 3 coordinates"),   # before: padded with z = 0
    ("vn 0 1", r"line 2: 'vn' needs 3 components"),
    ("vt", r"line 2: 'vt' needs 1 to 3"),
])
def test_load_obj_short_lines(line, match):
    text = f"v 0 0 0\n{line}\nv 1 0 0\nv 0 1 0\nf 1 2 3\n"
    with pytest.raises(ValueError, match=match):
        meshutil.load_obj(io.StringIO(text))


def test_load_obj_accepts_w_and_vertex_colours():
    text = "v 0 0 0 1\nv 1 0 0 0.5 0.5 0.5\nv 0 1 0\nvt 0.5\nf 1/1 2/1 3/1\n"
    mesh = meshutil.load_obj(io.StringIO(text))
    np.testing.assert_array_equal(mesh["position"], [[0, 0, 0], [1, 0, 0], [0, 1, 0]])
    np.testing.assert_array_equal(mesh["uv"], [[0.5, 0.0]] * 3)  # vt u: v is 0, as the format says


# ---- the three.js viewer (misc.mesh_viewer) -------------------------------------------------------------------

@pytest.mark.parametrize("kwargs, match", [
    (dict(width=300.7), "width must be an int"),     # before: int() truncated it
    (dict(height=True), "height must be an int"),
    (dict(title=123), "title must be a string"),     # before: TypeError from html.escape
    (dict(distance=float("nan")), "distance must be a finite number"),
    (dict(fovy=0), r"fovy must be a finite number in \(0, 180\)"),
])
def test_textured_mesh_arguments(torus, tmp_path, kwargs, match):
    from lucid_fast.misc import mesh_viewer

    path = tmp_path / "v.html"
    path.write_text("the good page")
    with pytest.raises(ValueError, match=match):
        mesh_viewer.textured_mesh(torus, _tex(), path=str(path), display=False, **kwargs)
    assert path.read_text() == "the good page"


def test_textured_mesh_mesh_and_texture(torus):
    from lucid_fast.misc import mesh_viewer

    with pytest.raises(ValueError, match="no faces"):  # before: an empty page
        mesh_viewer.page(dict(torus, face=np.zeros(0, np.int32)), _tex())
    with pytest.raises(ValueError, match="NaN"):
        mesh_viewer.page(dict(torus, uv=torus["uv"] * np.nan), _tex())
    tex = _tex()
    tex[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="texture: the image contains NaN"):
        mesh_viewer.page(torus, tex)
    with pytest.raises(ValueError, match=r"texture must hold values in \[0, 1\]"):  # before: clipped
        mesh_viewer.page(torus, _tex() * 3)
    assert mesh_viewer.page(torus, (_tex() * 255).astype(np.uint8)).startswith("<!DOCTYPE")
