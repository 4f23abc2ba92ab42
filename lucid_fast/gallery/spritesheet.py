"""Sprite sheets: every rendered channel of a layer tiled in one image, with an index (:class:`SpriteSheet`), read
from and written into a gallery directory.

The gallery job (:mod:`.job`) writes each layer's sheet with :func:`write_layer_sprites`; :mod:`.sprites`
(``channel_sprites``) runs a job and reads the sheet back. Both import this module, and neither imports the other's
caller, so there is no import cycle.
"""
from __future__ import annotations

import json
import math
import os

import numpy as np

from lucid_fast.misc.image import encode_png

from .store import atomic_write, read_png

SPRITES_PNG = "sprites.png"
SPRITES_JSON = "sprites.json"


class SpriteSheet:
    """Channel images of one layer tiled row-major in ``channels`` order.

    Attributes:
        model_name, layer: what was rendered.
        channels: list of int, in tile order.
        tile: pixels per side of one tile.
        sheet: (rows * tile, cols * tile, 3) float32 in [0, 1]; tiles after the last channel are white.
        index: {channel: (row, col)}.
    """

    def __init__(self, model_name, layer, channels, images):
        self.model_name, self.layer = model_name, layer
        self.channels = [int(c) for c in channels]
        if len(images) != len(self.channels) or not self.channels:
            raise ValueError(f"SpriteSheet: need one image per channel and at least one; got {len(images)} image(s) "
                             f"for {len(self.channels)} channel(s)")
        self._images = {c: np.asarray(img, np.float32) for c, img in zip(self.channels, images)}
        shapes = {img.shape for img in self._images.values()}
        if len(shapes) != 1 or len(next(iter(shapes))) != 3 or next(iter(shapes))[0] != next(iter(shapes))[1]:
            raise ValueError(f"SpriteSheet: images must be square (tile, tile, 3) and alike, got {sorted(shapes)}")
        self.tile = next(iter(shapes))[0]
        self.cols = max(1, math.ceil(math.sqrt(len(self.channels))))
        self.rows = math.ceil(len(self.channels) / self.cols)
        self.index = {c: (i // self.cols, i % self.cols) for i, c in enumerate(self.channels)}
        self._sheet = None

    def image(self, channel):
        """Channel ``channel``'s image, (tile, tile, 3) float32 in [0, 1]."""
        try:
            return self._images[int(channel)].copy()
        except KeyError:
            raise KeyError(f"SpriteSheet: channel {channel} is not in this sheet of {self.layer!r} "
                           f"(channels {self.channels[:8]}{'...' if len(self.channels) > 8 else ''})") from None

    @property
    def sheet(self):
        if self._sheet is None:
            t = self.tile
            sheet = np.ones((self.rows * t, self.cols * t, 3), np.float32)
            for c, (r, k) in self.index.items():
                sheet[r * t:(r + 1) * t, k * t:(k + 1) * t] = self._images[c]
            self._sheet = sheet
        return self._sheet

    def index_json(self, image_name=SPRITES_PNG):
        return {"model": self.model_name, "layer": self.layer, "tile": self.tile, "rows": self.rows,
                "cols": self.cols, "image": image_name, "channels": self.channels,
                "index": {str(c): list(rc) for c, rc in self.index.items()}}

    def save(self, path):
        """Writes the sheet as a PNG at ``path`` and its index as JSON next to it (same name, ``.json``)."""
        path = os.fspath(path)
        base, ext = os.path.splitext(path)
        if ext.lower() != ".png":
            raise ValueError(f"SpriteSheet.save: the path must end in .png, got {path!r}")
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        atomic_write(path, encode_png(self.sheet))
        atomic_write(base + ".json", json.dumps(self.index_json(os.path.basename(path)), indent=1))
        return path, base + ".json"

    @classmethod
    def load(cls, path):
        """Reads a sheet written by :meth:`save` (the PNG path; the JSON index next to it)."""
        base = os.path.splitext(os.fspath(path))[0]
        with open(base + ".json") as f:
            idx = json.load(f)
        sheet = read_png(path)
        t = idx["tile"]
        images = [sheet[r * t:(r + 1) * t, k * t:(k + 1) * t] for r, k in (idx["index"][str(c)] for c in idx["channels"])]
        return cls(idx["model"], idx["layer"], idx["channels"], images)

    def __repr__(self):
        return (f"SpriteSheet({self.model_name!r}, {self.layer!r}, {len(self.channels)} channels, "
                f"tile={self.tile}, {self.rows}x{self.cols})")


def sheet_from_store(store, layer, channels=None):
    """A SpriteSheet of the done channels of ``layer`` in a gallery store (``channels``: which, in order)."""
    if channels is None:
        channels = store.layers_on_disk(layer).get(layer, [])
    images = []
    for c in channels:
        if store.read_record(layer, c) is None:
            raise ValueError(f"gallery: channel {c} of {layer!r} is not rendered in {store.root}")
        images.append(read_png(store.image_path(layer, c)))
    return SpriteSheet(store.model_name, layer, channels, images)


def write_layer_sprites(store, layer):
    """Writes ``layers/<layer>/sprites.png`` + ``.json`` from every done channel of the layer (if any)."""
    done = store.layers_on_disk(layer).get(layer, [])
    if not done:
        return None
    sheet = sheet_from_store(store, layer, done)
    return sheet.save(os.path.join(store.layer_dir(layer), SPRITES_PNG))
