"""Spatial attribution between two layers (Lucid's AttrSpatial notebook): the image twice, at the grids of an
earlier and a later layer. Hover a position of the later layer to see which positions of the earlier one it drew
on; hover the earlier layer to see which later positions it fed. With nothing hovered each side shows its class
hints: where two classes are supported (orange: the first, blue: the second)."""
from __future__ import annotations

import numpy as np

from lucid_fast.views import _base, _draw


def orange_blue(a, b, clip=False):
    """Lucid's two-class hint colours: ``a`` in orange, ``b`` in blue, on a dark base; (H, W) maps -> (H, W, 3).

    Both maps are scaled together (by 1.5 / their largest magnitude) and offset by 0.3, as Lucid's AttrSpatial
    notebook; with ``clip`` negative values are dropped first.

    Raises:
        ValueError: maps of different shapes, or not 2-D, or non-finite.
    """
    a = _base.check_array("orange_blue", "a", a, 2)
    b = _base.check_array("orange_blue", "b", b, 2, shape=a.shape)
    if clip:
        a, b = np.maximum(a, 0), np.maximum(b, 0)
    arr = np.stack([a, (a + b) / 2.0, b], -1)
    arr = arr / (1e-2 + np.abs(arr).max() / 1.5)
    return np.clip(arr + 0.3, 0.0, 1.0).astype(np.float32)


def _hint(who, name, hint, shape):
    if hint is None:
        return None
    arr = np.asarray(hint)
    if arr.ndim == 2:
        m = _base.check_array(who, name, arr, 2, shape=shape)
        return orange_blue(m, np.zeros_like(m), clip=True)
    if arr.dtype == np.uint8:  # an 8-bit image: 0..255 is read as [0, 1] (/ 255), as every image of the views
        _base.check_array(who, name, arr, 3, shape=shape + (3,))
        return _base.check_image(who, name, arr)
    return _base.check_image(who, name, _base.check_array(who, name, arr, 3, shape=shape + (3,)))


class SpatialAttribution(_base.View):
    """Spatial attribution between ``layer1`` (earlier) and ``layer2`` (later) on one image.

    Args:
        image: The input image (H, W, 3) in [0, 1].
        attr: ``(H2, W2, H1, W1)`` from :func:`lucid_fast.attribution.spatial_to_spatial`.
        layer1, layer2: The two layers' names (captions).
        hint1, hint2: What each side shows when nothing is hovered: an ``(H1, W1, 3)`` / ``(H2, W2, 3)`` image,
            float in [0, 1] or uint8 (read as value / 255, as the views read every image; e.g. :func:`orange_blue`
            of two classes' spatial attributions), or an ``(h, w)`` map of any numeric dtype (drawn with
            :func:`orange_blue`, which scales it by its own largest value); None: plain.
        size: Each panel's side in pixels, an int in [16, 2048].
        title: A caption (a string, or None).

    Raises:
        ValueError: shapes that do not match (``attr`` against the hints), NaN, a non-4-D ``attr``.
    """

    kind = "spatial_attribution"
    script = "spatial_attribution.js"

    def __init__(self, image, attr, layer1="layer1", layer2="layer2", hint1=None, hint2=None, size=224,
                 title=None):
        who = "SpatialAttribution"
        self.image = _base.check_image(who, "image", image)
        self.attr = _base.check_array(who, "attr", attr, 4)
        h2, w2, h1, w1 = self.attr.shape
        self.hint1 = _hint(who, "hint1", hint1, (h1, w1))
        self.hint2 = _hint(who, "hint2", hint2, (h2, w2))
        self.layer1, self.layer2 = str(layer1), str(layer2)
        self.size = _base.check_size(who, "size", size, 16)
        _base.check_canvas(who, 2 * self.size + 12, self.size + 36, "size")
        self.title = _base.check_title(who, title, f"Spatial attribution: {self.layer1} -> {self.layer2}")

    def _scale(self):
        return float(max(np.abs(self.attr).max(), 1e-12))

    def data(self):
        h2, w2, h1, w1 = self.attr.shape
        s = self.size
        return {"img": _base.jpeg_uri(_base.resize(self.image, (s, s))), "h1": h1, "w1": w1, "h2": h2, "w2": w2,
                "attr": _base.int8_b64(self.attr / self._scale()),
                "hint1": None if self.hint1 is None else _base.png_uri(self.hint1),
                "hint2": None if self.hint2 is None else _base.png_uri(self.hint2),
                "layer1": self.layer1, "layer2": self.layer2, "size": s, "title": self.title}

    def static_image(self):
        s = self.size
        cv = _draw.Canvas(2 * s + 12, s + 36)
        cv.text(0, 0, self.title)
        for k, (hint, name) in enumerate(((self.hint1, self.layer1), (self.hint2, self.layer2))):
            x = k * (s + 12)
            img = self.image if hint is None else _draw.blend(_base.resize(self.image, (s, s)),
                                                               _base.resize(hint, (s, s), nearest=True), 0.6)
            cv.paste(img, x, 16, (s, s))
            cv.text(x, 16 + s + 4, name)
        return cv.array()
