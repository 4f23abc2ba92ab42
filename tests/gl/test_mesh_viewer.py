"""The three.js mesh viewer (misc.mesh_viewer, ``misc.io.show.textured_mesh``) in a real browser: the standalone
page loads offline with no console error, shows the texture on the model, and dragging turns the model."""
import io

import numpy as np
import pytest
from PIL import Image

from browser import open_page
from lucid_fast.misc import io as lf_io
from lucid_fast.misc import mesh_viewer
from lucid_fast.misc.gl import meshes


def _texture():
    """Eight vertical stripes of saturated colours (red, green, blue, yellow, ...) along u: a turn about the
    vertical axis moves every stripe boundary across the view."""
    colours = np.float32([[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0], [1, 0, 1], [0, 1, 1], [1, 0.5, 0], [0.5, 0, 1]])
    return np.ascontiguousarray(np.repeat(colours[None], 64, 0).repeat(16, 1))


def _shot(page):
    return np.asarray(Image.open(io.BytesIO(page.locator("#view").screenshot())).convert("RGB"), np.float32) / 255


def test_viewer_page_loads_and_dragging_turns_the_model(browser, tmp_path):
    path = tmp_path / "globe.html"
    out = lf_io.show.textured_mesh(meshes.uv_sphere(), _texture(), path=str(path), display=False,
                                   texture_format="png")
    assert out == str(path)
    text = path.read_text()
    assert "three.js 0.170.0" in text and "http://" not in text.replace("http://www.w3.org", "")
    page, errors = open_page(browser, path.as_uri())
    page.set_viewport_size({"width": 400, "height": 400})
    page.wait_for_function("document.body.dataset.ready === '1'", timeout=30000)
    before = _shot(page)
    h, w = before.shape[:2]
    # the sphere is in the middle, on the white background, and shows the texture's colours
    assert before[h // 2, w // 2].min() < 0.9 and before[5, 5].min() > 0.95
    centre = before[h // 4:3 * h // 4, w // 4:3 * w // 4].reshape(-1, 3)
    saturated = centre[(centre.max(1) - centre.min(1)) > 0.8]
    assert len(saturated) > 0.5 * len(centre)
    # drag horizontally across half the view: the model turns about the vertical axis
    box = page.locator("#view").bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(cx, cy)
    page.mouse.down()
    page.mouse.move(cx + box["width"] / 3, cy, steps=8)
    page.mouse.up()
    state = page.evaluate("() => window.lucidFastViewer")
    assert state["yaw"] > 0.5 and abs(state["pitch"]) < 1e-6
    after = _shot(page)
    changed = np.abs(after - before).max(-1) > 0.3
    assert changed[h // 4:3 * h // 4, w // 4:3 * w // 4].mean() > 0.2, changed.mean()
    # the silhouette of a sphere does not change when it turns: only the texture moved
    assert np.abs((after.min(-1) < 0.9).mean() - (before.min(-1) < 0.9).mean()) < 0.01
    assert not errors, errors
    page.close()


def test_viewer_bad_input():
    with pytest.raises(ValueError, match="the mesh needs 'uv'"):
        mesh_viewer.page({"position": np.zeros((3, 3)), "face": [0, 1, 2]}, _texture())
    sphere = meshes.uv_sphere(8, 4)
    with pytest.raises(ValueError, match=r"texture must be an \(H, W, 1\|3\|4\) image"):
        mesh_viewer.page(sphere, np.zeros((4, 4)))
    bad = dict(sphere, face=sphere["face"] + 1000)
    with pytest.raises(ValueError, match=r"indices must be in \[0"):
        mesh_viewer.page(bad, _texture())


def test_turntable_gif(tmp_path):
    """The turntable's frames are renders of the model turning: each frame shows the mesh over the background,
    consecutive frames differ, the last frame leads back to the first, and the GIF holds them all."""
    import imageio.v3 as iio

    from lucid_fast.misc.gl import turntable

    path = tmp_path / "spin.gif"
    frames = turntable.turntable(meshes.uv_sphere(), _texture(), size=64, frames=12, path=str(path))
    assert frames.shape == (12, 64, 64, 3)
    assert np.all(frames[:, 0, 0] == 1.0)  # white background in the corners
    assert all((f.min(-1) < 0.9).mean() > 0.3 for f in frames)  # the sphere fills the middle
    diffs = [np.abs(frames[(k + 1) % 12] - frames[k]).mean() for k in range(12)]
    assert min(diffs) > 0.01  # every step turns it, the wrap-around too
    assert np.abs(frames[6] - frames[0]).mean() > max(diffs)  # half a turn away shows the other side
    gif = iio.imread(path, index=None)
    assert gif.shape[0] == 12 and gif.shape[1:3] == (64, 64)
    np.testing.assert_allclose(gif[3, ..., :3] / 255.0, frames[3], atol=0.2)  # GIF palette quantization
    with pytest.raises(ValueError, match="save as .gif or .mp4"):
        turntable.save_animation(frames, str(tmp_path / "spin.avi"))


def test_inline_display_is_an_iframe_holding_the_page(monkeypatch):
    """In a notebook the viewer is displayed inline: an iframe whose srcdoc is the whole (escaped) page."""
    import html

    import IPython.display

    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda obj: shown.append(obj))
    sphere = meshes.uv_sphere(8, 4)
    assert lf_io.show.textured_mesh(sphere, _texture(), display=True, width=300, height=200) is None
    (obj,) = shown
    markup = obj.data
    assert markup.startswith("<div><iframe srcdoc=") and 'width="300" height="200"' in markup
    srcdoc = html.unescape(markup.split('srcdoc="', 1)[1].split('" width=', 1)[0])
    assert srcdoc == mesh_viewer.page(sphere, _texture())
