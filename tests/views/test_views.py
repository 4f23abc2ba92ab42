"""The interactive views in a real browser (Debian's Chromium through playwright): each page loads with no
console error, its script replaces the static image, and hovering two different places shows two different
things. Also: two views on one page (as in a notebook) stay independent, the Jupyter mime bundle and the static
PNG, and the input errors."""
import base64
import io

import numpy as np
import pytest

from lucid_fast import views

SPRITE = 24


def _sprites(n):
    """Distinct sprites: channel k is a stripe pattern with its own colour."""
    out = {}
    for k in range(n):
        img = np.zeros((SPRITE, SPRITE, 3), np.float32)
        img[..., k % 3] = 0.3 + 0.7 * (k / n)
        img[(k % 5)::5] = 1.0 - img[(k % 5)::5]
        out[k] = img
    return out


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(3)
    image = rng.uniform(size=(48, 48, 3)).astype(np.float32)
    acts = rng.uniform(size=(6, 6, 12)).astype(np.float32)
    acts[0, 0, 3] = 5.0  # the peak: the default position is (0, 0)
    attr = rng.normal(size=(3, 3, 6, 6)).astype(np.float32)
    return {
        "image": image, "acts": acts, "attr": attr,
        "semantic_dictionary": lambda: views.SemanticDictionary(image, acts, _sprites(12), n_top=3, layer="L"),
        "spatial_attribution": lambda: views.SpatialAttribution(
            image, attr, "L1", "L2", hint1=views.orange_blue(rng.normal(size=(6, 6)), rng.normal(size=(6, 6))),
            hint2=rng.uniform(size=(3, 3))),
        "channel_attribution": lambda: views.ChannelAttribution(rng.normal(size=40), _sprites(40), n_show=3,
                                                                layer="L", score="a - b"),
        "neuron_groups": lambda: views.NeuronGroups(image, rng.uniform(size=(4, 6, 6)),
                                                    icons=rng.uniform(size=(4, 16, 16, 3)),
                                                    attrs={"cat": rng.normal(size=4), "dog": rng.normal(size=4)}),
        "activation_grid": lambda: views.ActivationGrid(image, rng.uniform(size=(4, 4, 10, 10, 3))),
    }


# what to hover (two places) and what must differ, per view
HOVERS = {
    "semantic_dictionary": (".lfv-hit", [(3, 3), (130, 200)], "data-pos"),
    "spatial_attribution": (".lfv-hit >> nth=1", [(10, 10), (200, 200)], None),
    "channel_attribution": (".lfv-entry >> nth=0", None, "data-channel"),
    "neuron_groups": (".lfv-entry >> nth=0", None, "data-group"),
    "activation_grid": (".lfv-hit >> nth=1", [(20, 20), (400, 300)], "data-pos"),
}
SECOND = {"channel_attribution": ".lfv-entry >> nth=4", "neuron_groups": ".lfv-entry >> nth=2"}


def _open(browser, tmp_path, view, name):
    from browser import open_page

    path = tmp_path / f"{name}.html"
    view.save(str(path))
    page, errors = open_page(browser, path.as_uri())
    return page, errors


@pytest.mark.parametrize("name", sorted(HOVERS))
def test_view_loads_and_hover_changes_what_it_shows(browser, tmp_path, data, name):
    view = data[name]()
    page, errors = _open(browser, tmp_path, view, name)
    root = page.locator(".lfv")
    assert "lfv-live" in root.get_attribute("class")
    assert not page.locator(".lfv-static").is_visible()  # the script replaced the static image
    selector, positions, attribute = HOVERS[name]
    states, shots = [], []
    for k in range(2):
        if positions is None:
            page.locator(SECOND[name] if k else selector).hover()
        else:
            page.locator(selector).hover(position={"x": positions[k][0], "y": positions[k][1]})
        page.wait_for_timeout(50)
        states.append((root.get_attribute(attribute) if attribute else None, page.locator(".lfv-detail").inner_text()))
        shots.append(root.screenshot())
    assert states[0] != states[1], states
    assert shots[0] != shots[1]
    assert not errors, errors
    page.close()


def test_spatial_attribution_shows_the_attribution_maps(browser, tmp_path, data):
    """Hovering layer2 position (i, j) draws attr[i, j] over layer1; hovering layer1 draws attr[:, :, i, j]."""
    attr = data["attr"]
    view = views.SpatialAttribution(data["image"], attr, "L1", "L2")
    page, errors = _open(browser, tmp_path, view, "s2s")
    panels = page.locator(".lfv-panel")
    page.locator(".lfv-hit >> nth=1").hover(position={"x": 200, "y": 10})  # layer2 (0, 2)
    assert panels.nth(0).get_attribute("data-showing") == "L2 0,2"

    def canvas_values(k):
        return np.array(page.evaluate(
            f"""() => {{ const c = document.querySelectorAll('.lfv-panel')[{k}].querySelector('canvas');
                     return Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data); }}"""))

    rgba = canvas_values(0).reshape(6, 6, 4)
    expected = attr[0, 2] / np.abs(attr).max()
    got = np.where(expected >= 0, rgba[..., 0], -rgba[..., 2]) / 255.0
    np.testing.assert_allclose(got, expected, atol=0.02)
    page.locator(".lfv-hit >> nth=0").hover(position={"x": 5, "y": 200})  # layer1 (5, 0)
    assert panels.nth(1).get_attribute("data-showing") == "L1 5,0"
    rgba = canvas_values(1).reshape(3, 3, 4)
    expected = attr[:, :, 5, 0] / np.abs(attr).max()
    got = np.where(expected >= 0, rgba[..., 0], -rgba[..., 2]) / 255.0
    np.testing.assert_allclose(got, expected, atol=0.02)
    page.mouse.move(1, 400)
    assert panels.nth(0).get_attribute("data-showing") == "hint"
    assert not errors, errors


def test_two_views_on_one_page_are_independent(browser, tmp_path, data):
    """As in a notebook: fragments side by side, each with its own state."""
    from browser import open_page

    a, b = data["semantic_dictionary"](), data["activation_grid"]()
    c = views.SemanticDictionary(data["image"], data["acts"][::-1], n_top=2)  # no sprites: channel numbers
    page_html = "<html><body>" + a._repr_html_() + b._repr_html_() + c._repr_html_() + "</body></html>"
    path = tmp_path / "notebook.html"
    path.write_text(page_html)
    page, errors = open_page(browser, path.as_uri())
    roots = page.locator(".lfv")
    assert roots.count() == 3 and all("lfv-live" in roots.nth(k).get_attribute("class") for k in range(3))
    before = roots.nth(2).get_attribute("data-pos")
    roots.nth(0).locator(".lfv-hit").hover(position={"x": 200, "y": 200})
    assert roots.nth(0).get_attribute("data-pos") == "5,5"
    assert roots.nth(2).get_attribute("data-pos") == before
    assert roots.nth(2).locator(".lfv-swatch").count() == 2
    assert not errors, errors


def test_mime_bundle_static_png_and_ids(tmp_path, data):
    from PIL import Image

    for name in HOVERS:
        view = data[name]()
        bundle = view._repr_mimebundle_()
        assert set(bundle) == {"text/html", "image/jpeg"}
        img = Image.open(io.BytesIO(base64.b64decode(bundle["image/jpeg"])))
        assert img.format == "JPEG"
        assert img.size[0] > 100 and img.size[1] > 100
        assert view.element_id in bundle["text/html"] and "http" not in bundle["text/html"].replace(
            "http-equiv", "")
        assert data[name]().element_id != views.SemanticDictionary(data["image"], data["acts"][::-1]).element_id
        png = tmp_path / f"{name}.png"
        view.save(str(png))
        assert png.read_bytes() == view.png() and Image.open(png).format == "PNG"
    # the static image shows the default state: the highlight box at the peak position (0, 0)
    static = data["semantic_dictionary"]().static_image()
    box = static[16:16 + 224 // 6, :224 // 6]
    assert np.any(np.all(np.abs(box - np.array([1.0, 106 / 255, 0.0])) < 0.02, axis=-1))
    with pytest.raises(ValueError, match="must end in .html or .png"):
        data["semantic_dictionary"]().save(str(tmp_path / "x.svg"))


def test_views_reject_bad_input(data):
    image, acts, attr = data["image"], data["acts"], data["attr"]
    with pytest.raises(ValueError, match="acts must be a 3-D"):
        views.SemanticDictionary(image, acts[0])
    bad = acts.copy()
    bad[1, 1, 1] = np.nan
    with pytest.raises(ValueError, match="acts contains 1 NaN"):
        views.SemanticDictionary(image, bad)
    with pytest.raises(ValueError, match="n_top must be an int in"):
        views.SemanticDictionary(image, acts, n_top=13)
    with pytest.raises(ValueError, match="no image for channels"):
        views.SemanticDictionary(image, acts, {0: np.zeros((4, 4, 3))})
    with pytest.raises(ValueError, match="image must be an image"):
        views.SemanticDictionary(np.zeros((4, 4, 5)), acts)
    with pytest.raises(ValueError, match="hint1 has shape"):
        views.SpatialAttribution(image, attr, hint1=np.zeros((5, 6, 3)))
    with pytest.raises(ValueError, match="hint2 has shape"):
        views.SpatialAttribution(image, attr, hint2=np.zeros((6, 6)))
    with pytest.raises(ValueError, match="attr must be a 4-D"):
        views.SpatialAttribution(image, attr[0])
    with pytest.raises(ValueError, match="b has shape"):
        views.orange_blue(np.zeros((3, 3)), np.zeros((3, 4)))
    with pytest.raises(ValueError, match="n_show must be an int in"):
        views.ChannelAttribution(np.zeros(3), n_show=4)
    with pytest.raises(ValueError, match="icons must be"):
        views.NeuronGroups(image, np.ones((3, 6, 6)), icons=np.zeros((2, 8, 8, 3)))
    with pytest.raises(ValueError, match="non-negative"):
        views.NeuronGroups(image, -np.ones((3, 6, 6)))
    with pytest.raises(ValueError, match=r"attrs\['cat'\] has shape"):
        views.NeuronGroups(image, np.ones((3, 6, 6)), attrs={"cat": np.zeros(4)})
    with pytest.raises(ValueError, match="cells must"):
        views.ActivationGrid(image, np.zeros((4, 4, 8, 8)))
    with pytest.raises(ValueError, match="values in"):
        views.ActivationGrid(image, np.full((2, 2, 8, 8, 3), 3.0))
