"""The semantic dictionary (Lucid's SemanticDictionary notebook): hover a position of the image to see the
channels most active there, each as its feature visualization with a bar for its activation."""
from __future__ import annotations

import numbers

import numpy as np

from lucid_fast.views import _base, _draw


class SemanticDictionary(_base.View):
    """Semantic dictionary of one image at one layer.

    Args:
        image: The input image (H, W, 3) in [0, 1] (or uint8).
        acts: The layer's activations on it, ``(h, w, C)`` (or ``(1, h, w, C)``).
        sprites: Feature visualizations of the channels: a ``lucid_fast.gallery`` SpriteSheet, a dict
            ``{channel: image}`` or an array ``(C, t, t, 3)``; it must cover every channel in a top list.
            None shows channel numbers instead.
        n_top: How many channels to show per position (Lucid: 4).
        layer: The layer's name (for the caption).
        pos: The position shown first, ``(row, col)`` (two ints); default: where the largest activation is (as
            Lucid).
        size: The image panel's side in pixels, an int in [16, 2048].
        sprite_size: The sprites' side in pixels, an int in [8, 2048].
        title: A caption (a string, or None).

    Raises:
        ValueError: an argument of the wrong shape or type, NaN in ``acts``, ``n_top`` larger than the channels,
            sprites missing a channel that is shown.
    """

    kind = "semantic_dictionary"
    script = "semantic_dictionary.js"

    def __init__(self, image, acts, sprites=None, n_top=4, layer=None, pos=None, size=224, sprite_size=96,
                 title=None):
        who = "SemanticDictionary"
        self.image = _base.check_image(who, "image", image)
        self.acts = _base.check_array(who, "acts", acts, 3)
        h, w, c = self.acts.shape
        self.n_top = _base.check_int(who, "n_top", n_top, 1, c)
        self.size = _base.check_size(who, "size", size, 16)
        self.sprite_size = _base.check_size(who, "sprite_size", sprite_size, 8)
        _base.check_canvas(who, *self._canvas_size(), "size, sprite_size and n_top")
        order = np.argsort(-self.acts, axis=-1, kind="stable")[..., :self.n_top]
        self.top_channels = order  # (h, w, n_top)
        self.top_values = np.take_along_axis(self.acts, order, -1)
        if pos is None:
            peak = self.acts.max(-1)
            pos = np.unravel_index(int(np.argmax(peak)), peak.shape)
        if (not isinstance(pos, (tuple, list, np.ndarray)) or len(pos) != 2
                or not all(isinstance(q, numbers.Integral) and not isinstance(q, (bool, np.bool_)) for q in pos)
                or not (0 <= int(pos[0]) < h and 0 <= int(pos[1]) < w)):
            raise ValueError(f"{who}: pos must be (row, col), two ints inside the {h}x{w} activation grid, "
                             f"got {pos!r}")
        self.pos = (int(pos[0]), int(pos[1]))
        self.sprites = _base.sprite_images(who, sprites, np.unique(order))
        self.layer = layer
        self.title = _base.check_title(who, title, f"Semantic dictionary of {layer}" if layer
                                       else "Semantic dictionary")

    def _canvas_size(self):
        """(width, height) of the static image."""
        s, t = self.size, self.sprite_size
        return s + 16 + self.n_top * (t + 24) + 8, 16 + s + 22

    def data(self):
        h, w, _ = self.acts.shape
        vmax = float(max(self.top_values.max(), 1e-12))
        top = [[[int(c), round(float(v), 4)] for c, v in zip(self.top_channels[i, j], self.top_values[i, j])]
               for i in range(h) for j in range(w)]
        return {"img": _base.jpeg_uri(_base.resize(self.image, (self.size, self.size))), "h": h, "w": w,
                "top": top, "vmax": round(vmax, 4), "pos": list(self.pos), "size": self.size,
                "spriteSize": self.sprite_size, "sprites": _base.sprite_sheet(self.sprites),
                "layer": self.layer or "", "title": self.title}

    def static_image(self):
        h, w, _ = self.acts.shape
        s, t = self.size, self.sprite_size
        gap = 16
        cv = _draw.Canvas(*self._canvas_size())
        cv.text(0, 0, self.title)
        cv.paste(self.image, 0, 16, (s, s))
        i, j = self.pos
        cv.rect(j * s / w, 16 + i * s / h, s / w, s / h)
        vmax = float(max(self.top_values.max(), 1e-12))
        x = s + gap
        for c, v in zip(self.top_channels[i, j], self.top_values[i, j]):
            top = 16 + s - t - 14
            if self.sprites is not None:
                cv.paste(self.sprites[int(c)], x, top, (t, t))
            else:
                cv.fill(x, top, t, t, (221, 221, 221))
            bar = max(1, int(t * max(float(v), 0.0) / vmax))
            cv.fill(x + t + 4, top + t - bar, 12, bar, (119, 119, 119))
            cv.text(x, top + t + 2, f"{int(c)}: {float(v):.3g}")
            x += t + 24
        cv.text(0, 16 + s + 4, f"position {i}, {j}" + (f" of {self.layer}" if self.layer else ""))
        return cv.array()
