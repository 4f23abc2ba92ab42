"""Neuron groups (Lucid's NeuronGroups notebook): a layer's neurons factorized into a few groups (NMF), each
shown by a feature visualization (its icon) and by where on the image it fires; hover an icon to see its
spatial factor alone."""
from __future__ import annotations

import numpy as np

from lucid_fast.views import _base, _draw


class NeuronGroups(_base.View):
    """Neuron groups of one image.

    Args:
        image: The input image (H, W, 3) in [0, 1].
        spatial_factors: ``(G, h, w)`` non-negative: where each group fires
            (:func:`lucid_fast.attribution.neuron_groups`).
        icons: ``(G, t, t, 3)`` feature visualizations of the groups (e.g. ``render_vis`` of
            ``objectives.direction(layer, channel_factors[g], batch=g)``), or None.
        attrs: Optional per-group attribution to classes: ``{class name: (G,) values}``.
        size: The image panels' side in pixels (an int in [16, 2048]); icon_size: the icons' side ([8, 2048]).
        title: A caption (a string, or None).

    Raises:
        ValueError: mismatched numbers of groups between the arguments, NaN or negative factors, bad shapes.
    """

    kind = "neuron_groups"
    script = "neuron_groups.js"

    def __init__(self, image, spatial_factors, icons=None, attrs=None, size=224, icon_size=80, title=None):
        who = "NeuronGroups"
        self.image = _base.check_image(who, "image", image)
        self.factors = _base.check_array(who, "spatial_factors", spatial_factors, 3)
        if self.factors.min() < 0:
            raise ValueError(f"{who}: spatial_factors must be non-negative (NMF factors), got values down to "
                             f"{self.factors.min():.4g}")
        g = self.factors.shape[0]
        self.icons = None
        if icons is not None:
            arr = np.asarray(icons)
            if arr.ndim != 4 or arr.shape[0] != g:
                raise ValueError(f"{who}: icons must be (G, t, t, 3) with G = {g} groups (as spatial_factors), "
                                 f"got shape {arr.shape}")
            self.icons = [_base.check_image(who, f"icons[{k}]", arr[k]) for k in range(g)]
        self.attrs = {}
        for name, values in (attrs or {}).items():
            self.attrs[str(name)] = _base.check_array(who, f"attrs[{name!r}]", values, 1, shape=(g,))
        self.size = _base.check_size(who, "size", size, 16)
        self.icon_size = _base.check_size(who, "icon_size", icon_size, 8)
        _base.check_canvas(who, *self._canvas_size(), "size, icon_size and the number of groups")
        self.title = _base.check_title(who, title, f"{g} neuron groups")

    def _canvas_size(self):
        """(width, height) of the static image."""
        s, t, g = self.size, self.icon_size, self.factors.shape[0]
        return max(2 * s + 12, g * (t + 8)), 16 + s + 12 + t + 12 + 14 * (1 + len(self.attrs))

    def _normalized(self):
        scale = float(max(np.percentile(self.factors, 99), 1e-12))  # Lucid: / np.percentile(factors, 99)
        return np.clip(self.factors / scale, 0.0, 1.0)

    def data(self):
        g, h, w = self.factors.shape
        return {"img": _base.jpeg_uri(_base.resize(self.image, (self.size, self.size))), "g": g, "h": h, "w": w,
                "factors": _base.uint8_b64(self._normalized()),
                "icons": None if self.icons is None else [_base.png_uri(i) for i in self.icons],
                "attrs": [[k, [round(float(x), 4) for x in v]] for k, v in self.attrs.items()],
                "size": self.size, "iconSize": self.icon_size, "title": self.title}

    def static_image(self):
        g, h, w = self.factors.shape
        s, t = self.size, self.icon_size
        norm = self._normalized()
        colors = np.array([_draw.hue_rgb(k, g) for k in range(g)], np.float32)
        composite = np.max(norm[..., None] * colors[:, None, None, :], axis=0)
        cv = _draw.Canvas(*self._canvas_size())
        cv.text(0, 0, self.title)
        cv.paste(self.image, 0, 16, (s, s))
        cv.paste(composite, s + 12, 16, (s, s), nearest=True)
        y = 16 + s + 12
        for k in range(g):
            x = k * (t + 8)
            cv.fill(x, y, t, t, tuple(int(255 * c) for c in colors[k]))
            if self.icons is not None:
                cv.paste(self.icons[k], x + 4, y + 4, (t - 8, t - 8))
            for r, (name, values) in enumerate(self.attrs.items()):
                cv.text(x, y + t + 2 + 12 * r, f"{name[:8]} {values[k]:+.2g}")
        return cv.array()
