"""A small PIL canvas for the views' static images (the default state, for viewers that do not run scripts)."""
from __future__ import annotations

import colorsys

import numpy as np

from lucid_fast.misc.image import to_uint8
from lucid_fast.views._base import resize

HIGHLIGHT = (255, 106, 0)  # hsl(24, 100%, 50%): the views' highlight colour (Lucid's widgets used it)
TEXT = (40, 40, 40)


def hue_rgb(k, n, saturation=0.8, lightness=0.5):
    """The k-th of n evenly spaced hues, ``hsl(k * 360 / n, 80%, 50%)`` as in the pages, as RGB floats."""
    return colorsys.hls_to_rgb((k / max(n, 1)) % 1.0, lightness, saturation)


class Canvas:
    def __init__(self, width, height, background=255):
        from PIL import Image, ImageDraw, ImageFont  # noqa: PLC0415

        self.image = Image.new("RGB", (int(width), int(height)), (background,) * 3)
        self.draw = ImageDraw.Draw(self.image)
        self.font = ImageFont.load_default()

    def paste(self, img, x, y, size=None, nearest=False):
        """Pastes an (h, w, 3) float/uint8 image at (x, y), resized to ``size`` = (h, w) if given."""
        from PIL import Image  # noqa: PLC0415

        arr = np.asarray(img)
        if size is not None and tuple(arr.shape[:2]) != tuple(size):
            arr = resize(arr, size, nearest=nearest)
        arr = to_uint8(arr)
        if arr.ndim == 2:
            arr = np.repeat(arr[..., None], 3, -1)
        self.image.paste(Image.fromarray(arr[..., :3]), (int(x), int(y)))

    def rect(self, x, y, w, h, color=HIGHLIGHT, width=2):
        self.draw.rectangle([int(x), int(y), int(x + w) - 1, int(y + h) - 1], outline=tuple(color), width=width)

    def fill(self, x, y, w, h, color):
        self.draw.rectangle([int(x), int(y), int(x + w) - 1, int(y + h) - 1], fill=tuple(color))

    def text(self, x, y, s, color=TEXT):
        self.draw.text((int(x), int(y)), str(s), fill=tuple(color), font=self.font)

    def array(self):
        return np.asarray(self.image, np.float32) / 255.0


def blend(base, over, alpha):
    """``base * (1 - alpha) + over * alpha`` for float images of the same size."""
    return np.asarray(base, np.float32) * (1.0 - alpha) + np.asarray(over, np.float32) * alpha


def gray_map_rgb(values, vmax):
    """Lucid's attribution overlay colours: positive values grey to white, negative values blue, zero black."""
    v = np.asarray(values, np.float32) / max(float(vmax), 1e-12)
    pos, neg = np.clip(v, 0, 1), np.clip(-v, 0, 1)
    return np.stack([pos, pos, np.maximum(pos, neg)], -1)
