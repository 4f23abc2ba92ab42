"""The activation grid (Lucid's ActivationGrid notebook): a feature visualization of the activation vector at
every position of a layer, tiled like the image; hover the image or the grid to pair a position with its cell."""
from __future__ import annotations

import numpy as np

from lucid_fast.views import _base, _draw


class ActivationGrid(_base.View):
    """An image next to its activation grid.

    Args:
        image: The input image (H, W, 3) in [0, 1].
        cells: ``(h, w, t, t, 3)``: one visualization per position of the layer (see
            :func:`lucid_fast.recipes.activation_grid.render_activation_grid`).
        layer: The layer's name (caption).
        size: The image panel's side in pixels, an int in [16, 2048] (the grid panel is twice as large);
            detail_size: the hovered cell's, in [8, 2048].
        title: A caption (a string, or None).

    Raises:
        ValueError: ``cells`` not of shape (h, w, t, t, 3), values outside [0, 1] or NaN.
    """

    kind = "activation_grid"
    script = "activation_grid.js"

    def __init__(self, image, cells, layer=None, size=224, detail_size=128, title=None):
        who = "ActivationGrid"
        self.image = _base.check_image(who, "image", image)
        arr = _base.check_array(who, "cells", cells, 5)
        if arr.shape[-1] not in (1, 3):
            raise ValueError(f"{who}: cells must be (h, w, t, t, 3), got shape {arr.shape}")
        if arr.min() < -1e-3 or arr.max() > 1 + 1e-3:
            raise ValueError(f"{who}: cells must hold values in [0, 1], got range [{arr.min():.4g}, {arr.max():.4g}]")
        self.cells = np.clip(arr if arr.shape[-1] == 3 else np.repeat(arr, 3, -1), 0, 1)
        self.size = _base.check_size(who, "size", size, 16)
        self.detail_size = _base.check_size(who, "detail_size", detail_size, 8)
        _base.check_canvas(who, 3 * self.size + 12, 2 * self.size + 20, "size")
        self.layer = layer
        self.title = _base.check_title(who, title, f"Activation grid of {layer}" if layer else "Activation grid")

    def grid_image(self):
        """The cells tiled into one ``(h * t, w * t, 3)`` image."""
        h, w, th, tw, _ = self.cells.shape
        return self.cells.transpose(0, 2, 1, 3, 4).reshape(h * th, w * tw, 3)

    def data(self):
        h, w, th, tw, _ = self.cells.shape
        return {"img": _base.jpeg_uri(_base.resize(self.image, (self.size, self.size))), "h": h, "w": w,
                "cell": [th, tw], "grid": _base.jpeg_uri(self.grid_image()), "size": self.size,
                "detail": self.detail_size, "layer": self.layer or "", "title": self.title}

    def static_image(self):
        s = self.size
        g = 2 * s
        cv = _draw.Canvas(s + 12 + g, 16 + g + 4)
        cv.text(0, 0, self.title)
        cv.paste(self.image, 0, 16, (s, s))
        cv.paste(self.grid_image(), s + 12, 16, (g, g))
        return cv.array()
