"""The views with real sprite sheets from lucid_fast.gallery.channel_sprites (small models built here), including a
grayscale (1-channel) model like fer_emotion; the pages load in Chromium and show the sprites."""
import numpy as np
import pytest

from lucid_fast import attribution, views
from lucid_fast.models import load_model


def _model(channels_in):
    import keras

    r = np.random.default_rng(4)
    inputs = keras.Input((None, None, channels_in), name="image")
    x = keras.layers.Conv2D(6, 3, padding="same", activation="relu", name="c1")(inputs)
    x = keras.layers.MaxPooling2D(2, name="pool")(x)
    model = keras.Model(inputs, x, name=f"tiny{channels_in}")
    # six oriented edge detectors (distinct channels that can all fire), each with its own colour weights
    sobel_x = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], np.float64)
    angles = np.arange(6) * np.pi / 6
    edges = np.cos(angles) * sobel_x[..., None] + np.sin(angles) * sobel_x.T[..., None]
    kernel = edges[:, :, None, :] * (0.5 + r.uniform(size=(channels_in, 6)))
    model.get_layer("c1").set_weights([kernel.astype(np.float32), np.zeros(6, np.float32)])
    return load_model(model)


@pytest.mark.parametrize("channels_in", [3, 1])
def test_views_show_gallery_sprites(browser, tmp_path, channels_in):
    from browser import open_page

    from lucid_fast.gallery import channel_sprites

    model = _model(channels_in)
    rng = np.random.default_rng(0)
    image = rng.uniform(size=(16, 16, channels_in)).astype(np.float32)
    acts = attribution.activations(model, image, "c1")["c1"][0]
    shown = sorted({int(c) for c in np.unique(np.argsort(-acts, -1)[..., :2])})
    sheet = channel_sprites(model, "c1", channels=shown, size=16, steps=24, cache_dir=str(tmp_path / "cache"))
    assert sheet.channels == shown and sheet.image(shown[0]).shape == (16, 16, 3)
    if channels_in == 1:  # grayscale renders, stored as RGB
        assert np.all(sheet.image(shown[0]) == sheet.image(shown[0])[..., :1])
    # each sprite excites its own channel more than the other sprites do on average
    imgs = np.stack([sheet.image(c)[..., :channels_in] for c in shown])
    means = attribution.activations(model, imgs, "c1")["c1"].mean(axis=(1, 2))[:, shown]
    own = np.diag(means)
    assert np.all(own > (means.sum(0) - own) / (len(own) - 1)), means
    photo = np.repeat(image, 3, -1) if channels_in == 1 else image
    view = views.SemanticDictionary(photo, acts, sheet, n_top=2, layer="c1")
    path = tmp_path / "dict.html"
    view.save(str(path))
    page, errors = open_page(browser, path.as_uri())
    sprites = page.locator(".lfv-sprite")
    assert sprites.count() == 2
    first = sprites.nth(0).get_attribute("data-channel")
    page.locator(".lfv-hit").hover(position={"x": 3, "y": 3})
    a = [sprites.nth(k).get_attribute("data-channel") for k in range(2)]
    page.locator(".lfv-hit").hover(position={"x": 220, "y": 220})
    b = [sprites.nth(k).get_attribute("data-channel") for k in range(2)]
    top = np.argsort(-acts, -1)[..., :2]
    assert a == [str(c) for c in top[0, 0]] and b == [str(c) for c in top[-1, -1]]
    assert first is not None and not errors, errors
    attr = rng.normal(size=6)
    ca = views.ChannelAttribution(attr, sheet if set(np.argsort(attr)[:1]) | set(np.argsort(-attr)[:1]) <=
                                  set(shown) else None, n_show=1)
    assert ca.png()[:4] == b"\x89PNG"
