"""Channel attribution (Lucid's AttrChannel notebook): the channels that most supported and most opposed a
score, with their feature visualizations and values, above the distribution of all channels' attributions."""
from __future__ import annotations

import numpy as np

from lucid_fast.views import _base, _draw

POSITIVE = (64, 134, 230)  # Lucid's widget: hsl(210, ...) for positive attributions
NEGATIVE = (230, 72, 64)   # hsl(0, ...) for negative ones


class ChannelAttribution(_base.View):
    """Top positive and negative channels of a per-channel attribution.

    Args:
        attr: ``(C,)`` per-channel attribution (:func:`lucid_fast.attribution.channel`).
        sprites: Feature visualizations of the channels (see :class:`SemanticDictionary`); it must cover the
            channels shown. None shows channel numbers.
        n_show: Channels shown on each side (Lucid: 3 to 30).
        layer: The layer's name; score: what was attributed (captions).
        sprite_size: The sprites' side in pixels, an int in [8, 2048].
        title: A caption (a string; None: one made from ``layer`` and ``score``).

    Raises:
        ValueError: ``attr`` not 1-D or with NaN, ``n_show`` larger than the channels, missing sprites, a size
            that is not an int in range, a static image larger than 64 Mpx or than the free memory, a title that
            is not a string.
    """

    kind = "channel_attribution"
    script = "channel_attribution.js"

    def __init__(self, attr, sprites=None, n_show=4, layer=None, score=None, sprite_size=80, title=None):
        who = "ChannelAttribution"
        self.attr = _base.check_array(who, "attr", attr, 1)
        c = self.attr.shape[0]
        self.n_show = _base.check_int(who, "n_show", n_show, 1, c)
        self.sprite_size = _base.check_size(who, "sprite_size", sprite_size, 8)
        _base.check_canvas(who, *self._canvas_size(), "sprite_size and n_show")
        order = np.argsort(-self.attr, kind="stable")
        self.positive = [int(k) for k in order[:self.n_show]]
        self.negative = [int(k) for k in order[::-1][:self.n_show]]
        self.sprites = _base.sprite_images(who, sprites, self.positive + self.negative)
        self.layer, self.score = layer, score
        what = f" for {score}" if score else ""
        self.title = _base.check_title(who, title, f"Channel attribution of {layer}{what}" if layer
                                       else f"Channel attribution{what}")

    def _canvas_size(self):
        """(width, height) of the static image."""
        t, n = self.sprite_size, self.n_show
        return max(2 * n * (t + 8) + 40, min(2 * len(self.attr), 900)), 16 + 124 + 8 + t + 20

    def data(self):
        order = np.argsort(-self.attr, kind="stable")
        return {"all": [[int(k), round(float(self.attr[k]), 5)] for k in order],
                "pos": self.positive, "neg": self.negative, "vmax": float(max(np.abs(self.attr).max(), 1e-12)),
                "sprites": _base.sprite_sheet(self.sprites), "spriteSize": self.sprite_size,
                "title": self.title, "layer": self.layer or ""}

    def static_image(self):
        t = self.sprite_size
        n = self.n_show
        cv = _draw.Canvas(*self._canvas_size())
        cv.text(0, 0, self.title)
        vmax = float(max(np.abs(self.attr).max(), 1e-12))
        order = np.argsort(-self.attr, kind="stable")
        step = max(1, len(order) // 900 + 1) if 2 * len(order) > 900 else 1
        bw = 2 if step == 1 else 1
        for k, idx in enumerate(order[::step]):
            v = float(self.attr[idx])
            hgt = max(1, int(60 * abs(v) / vmax))
            cv.fill(k * bw, 16 + 60 - hgt if v > 0 else 16 + 60, max(1, bw - (bw > 1)), hgt,
                    POSITIVE if v > 0 else NEGATIVE)
        y = 16 + 124 + 8
        x = 0
        for group in (self.positive, self.negative):
            for c in group:
                if self.sprites is not None:
                    cv.paste(self.sprites[c], x, y, (t, t))
                else:
                    cv.fill(x, y, t, t, (221, 221, 221))
                v = float(self.attr[c])
                cv.fill(x, y + t + 2, t, 14, POSITIVE if v > 0 else NEGATIVE)
                cv.text(x + 3, y + t + 3, f"{c}: {v:+.3g}", (255, 255, 255))
                x += t + 8
            x += 24
        return cv.array()
