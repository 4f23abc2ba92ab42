"""The machinery every view shares: self-contained HTML (data inline, no network), Jupyter display, saving, the
static PNG of the default state, encoders and input checks."""
from __future__ import annotations

import base64
import hashlib
import html as html_mod
import io
import json
import numbers
import os

import numpy as np

from lucid_fast.misc.image import encode_png, to_uint8

_HERE = os.path.dirname(os.path.abspath(__file__))
STATIC_MAX_WIDTH = 900  # px: the static PNG's width is capped so notebook outputs stay small
MAX_SIDE = 2048  # px: the largest size / sprite_size / icon_size / detail_size a view accepts
MAX_CANVAS_PIXELS = 1 << 26  # the largest static image (64 Mpx, about 1 GB while drawn); larger: a ValueError
CANVAS_BYTES_PER_PIXEL = 24  # PIL's RGB canvas (4 B) + its float32 copy (12 B) + the uint8 encode (4 B) and slack


def _read(name):
    with open(os.path.join(_HERE, "js", name), encoding="utf-8") as fh:
        return fh.read()


# ---------------------------------------------------------------------------------------------------------------
# encoders
# ---------------------------------------------------------------------------------------------------------------

# Images reach the encoders as float32 in [0, 1] (check_image, check_array, resize and the canvas make them so)
# or uint8: lucid_fast.misc.image.to_uint8 converts both. PNGs are written with PIL's optimize=True (smaller pages).

def png_uri(img):
    """A ``data:image/png;base64,...`` URI of an image."""
    return "data:image/png;base64," + base64.b64encode(encode_png(img, optimize=True)).decode("ascii")


JPEG_QUALITY = 90  # photos and the static figure: a fifth of the PNG's size, which keeps notebooks small


def jpeg_bytes(img, quality=JPEG_QUALITY):
    """JPEG bytes of an (H, W[, 1|3]) image (float in [0, 1] or uint8)."""
    from PIL import Image  # noqa: PLC0415

    arr = to_uint8(img)
    if arr.ndim == 3 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    buf = io.BytesIO()
    Image.fromarray(arr[..., :3] if arr.ndim == 3 else arr).save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


def jpeg_uri(img):
    """A ``data:image/jpeg;base64,...`` URI of a photo-like image."""
    return "data:image/jpeg;base64," + base64.b64encode(jpeg_bytes(img)).decode("ascii")


def int8_b64(values):
    """Values in [-1, 1] quantized to int8 (x127), base64: a compact way to ship maps to the page's canvases."""
    q = np.clip(np.round(np.asarray(values, np.float64) * 127.0), -127, 127).astype(np.int8)
    return base64.b64encode(q.tobytes()).decode("ascii")


def uint8_b64(values):
    """Values in [0, 1] quantized to uint8 (x255), base64."""
    q = np.clip(np.round(np.asarray(values, np.float64) * 255.0), 0, 255).astype(np.uint8)
    return base64.b64encode(q.tobytes()).decode("ascii")


def resize(img, hw, nearest=False):
    """An image resized to ``hw`` (h, w) with PIL (bilinear, or nearest for maps), float32 in [0, 1]."""
    from PIL import Image  # noqa: PLC0415

    arr = to_uint8(img)
    squeeze = arr.ndim == 3 and arr.shape[-1] == 1
    if squeeze:
        arr = arr[..., 0]
    out = Image.fromarray(arr).resize((int(hw[1]), int(hw[0])), Image.NEAREST if nearest else Image.BILINEAR)
    out = np.asarray(out, np.float32) / 255.0
    return out[..., None] if squeeze else out


def as_rgb(img):
    arr = np.asarray(img, np.float32) if np.asarray(img).dtype != np.uint8 else np.asarray(img, np.float32) / 255
    if arr.ndim == 2:
        arr = arr[..., None]
    if arr.shape[-1] == 1:
        arr = np.repeat(arr, 3, -1)
    return arr[..., :3]


# ---------------------------------------------------------------------------------------------------------------
# input checks (a ValueError that names the argument)
# ---------------------------------------------------------------------------------------------------------------

def _host(value):
    """A framework tensor as numpy: a PyTorch tensor detached and copied to the CPU (``.numpy()`` refuses one that
    requires grad or lives on a GPU), a TensorFlow tensor by ``.numpy()``; anything else as it is."""
    if hasattr(value, "detach") and hasattr(value, "cpu"):
        value = value.detach().cpu()
    return value.numpy() if hasattr(value, "numpy") else value


def check_image(view, name, img):
    """An (H, W, 1|3) image (float in [0, 1] or uint8) as float32 RGB (numpy, or a TensorFlow or PyTorch tensor)."""
    arr = np.asarray(_host(img))
    if arr.ndim == 4 and arr.shape[0] == 1:
        arr = arr[0]
    if arr.ndim == 2:
        arr = arr[..., None]
    if arr.ndim != 3 or arr.shape[-1] not in (1, 3, 4) or min(arr.shape[:2]) < 1:
        raise ValueError(f"{view}: {name} must be an image (H, W, 3) or (H, W, 1), got shape {np.shape(img)}")
    if arr.dtype != np.uint8:
        if not np.issubdtype(arr.dtype, np.number):
            raise ValueError(f"{view}: {name} must be numeric, got dtype {arr.dtype}")
        arr = arr.astype(np.float32)
        if not np.isfinite(arr).all():
            raise ValueError(f"{view}: {name} contains NaN or infinite values")
        if arr.min() < -1e-3 or arr.max() > 1 + 1e-3:
            raise ValueError(f"{view}: {name} must hold values in [0, 1] (or uint8), got range "
                             f"[{arr.min():.4g}, {arr.max():.4g}]")
    return as_rgb(arr)


def check_array(view, name, arr, ndim, finite=True, shape=None):
    """A float array of ``ndim`` dimensions (a leading batch of 1 is dropped), finite; ``shape`` entries that are
    not None must match (numpy, or a TensorFlow or PyTorch tensor)."""
    out = np.asarray(_host(arr))
    if out.ndim == ndim + 1 and out.shape[0] == 1:
        out = out[0]
    if out.ndim != ndim or not np.issubdtype(out.dtype, np.number):
        raise ValueError(f"{view}: {name} must be a {ndim}-D numeric array, got shape {np.shape(arr)} "
                         f"dtype {out.dtype}")
    if out.size == 0:
        raise ValueError(f"{view}: {name} is empty (shape {out.shape}): every axis needs at least one entry")
    out = out.astype(np.float32)
    if finite and not np.isfinite(out).all():
        bad = int(out.size - np.count_nonzero(np.isfinite(out)))
        raise ValueError(f"{view}: {name} contains {bad} NaN or infinite values (shape {out.shape})")
    if shape is not None:
        for axis, (got, want) in enumerate(zip(out.shape, shape)):
            if want is not None and got != want:
                raise ValueError(f"{view}: {name} has shape {out.shape} but axis {axis} must be {want} "
                                 f"(expected {tuple('?' if s is None else s for s in shape)})")
    return out


def check_size(view, name, value, lo):
    """A size in pixels: an int in [lo, MAX_SIDE] (not a bool, not a float: nothing is rounded)."""
    return check_int(view, name, value, lo, MAX_SIDE)


def check_title(view, title, default):
    """``title`` if it is a string, ``default`` for None; anything else is a ValueError (at construction, so that
    a later save cannot fail on it)."""
    if title is None:
        return default
    if not isinstance(title, str):
        raise ValueError(f"{view}: title must be a string or None, got {type(title).__name__} {title!r}")
    return title or default


def check_canvas(view, width, height, what):
    """Refuses a static image of ``width`` x ``height`` pixels that is larger than MAX_CANVAS_PIXELS or does
    not fit in the available memory (``what``: the arguments that set its size, for the message)."""
    from lucid_fast.misc.memory import check_fits  # noqa: PLC0415

    pixels = int(width) * int(height)
    if pixels > MAX_CANVAS_PIXELS:
        raise ValueError(f"{view}: the static image would be {int(width)}x{int(height)} pixels, more than "
                         f"{MAX_CANVAS_PIXELS} ({what}); reduce them")
    check_fits(pixels * CANVAS_BYTES_PER_PIXEL, f"{view}: a {int(width)}x{int(height)} static image",
               f"reduce {what}")


def check_int(view, name, value, lo=1, hi=None):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < lo or (hi is not None
                                                                                            and value > hi):
        rng = f">= {lo}" if hi is None else f"in [{lo}, {hi}]"
        raise ValueError(f"{view}: {name} must be an int {rng}, got {value!r}")
    return int(value)


# ---------------------------------------------------------------------------------------------------------------
# sprites
# ---------------------------------------------------------------------------------------------------------------

def sprite_images(view, sprites, channels):
    """``{channel: (t, t, 3) float32}`` for ``channels`` from a sprite source, or None without one.

    A source is a :class:`lucid_fast.gallery.SpriteSheet`-like object (``.image(channel)``), a dict
    ``{channel: image}`` or an array ``(C, t, t, 3)`` indexed by channel.
    """
    if sprites is None:
        return None
    channels = sorted({int(c) for c in channels})
    out = {}
    missing = []
    for c in channels:
        img = None
        if hasattr(sprites, "image") and callable(sprites.image):
            available = getattr(sprites, "channels", None)
            if available is not None and c not in set(int(a) for a in available):
                missing.append(c)
                continue
            img = sprites.image(c)
        elif isinstance(sprites, dict):
            img = sprites.get(c)
            if img is None:
                missing.append(c)
                continue
        else:
            arr = np.asarray(sprites)
            if arr.ndim != 4:
                raise ValueError(f"{view}: sprites must be a SpriteSheet, a dict {{channel: image}} or an array "
                                 f"(C, t, t, 3), got shape {arr.shape}")
            if c >= arr.shape[0]:
                missing.append(c)
                continue
            img = arr[c]
        out[c] = check_image(view, f"sprites[{c}]", img)
    if missing:
        raise ValueError(f"{view}: sprites has no image for channels {missing[:12]}"
                         f"{' ...' if len(missing) > 12 else ''}; render them (lucid_fast.gallery.channel_sprites("
                         f"model, layer, channels=[...])) or pass sprites=None")
    shapes = {img.shape for img in out.values()}
    if len(shapes) > 1:
        raise ValueError(f"{view}: sprites must all have the same size, got {sorted(shapes)}")
    return out


def sprite_sheet(images):
    """Tiles ``{channel: image}`` into one sheet: ``{"uri", "tile", "cols", "index": {channel: [row, col]}}``."""
    if not images:
        return None
    channels = sorted(images)
    tile = next(iter(images.values())).shape[0]
    cols = int(np.ceil(np.sqrt(len(channels))))
    rows = int(np.ceil(len(channels) / cols))
    sheet = np.ones((rows * tile, cols * tile, 3), np.float32)
    index = {}
    for k, c in enumerate(channels):
        r, q = divmod(k, cols)
        img = images[c]
        sheet[r * tile:r * tile + img.shape[0], q * tile:q * tile + img.shape[1]] = img
        index[str(c)] = [r, q]
    return {"uri": jpeg_uri(sheet), "tile": int(tile), "cols": cols, "rows": rows, "index": index}


# ---------------------------------------------------------------------------------------------------------------
# the view
# ---------------------------------------------------------------------------------------------------------------

class View:
    """Base class of the interactive views.

    A view is a self-contained HTML fragment: its data (images as PNG or JPEG data URIs, maps as base64 arrays)
    and its script are inline, so it needs no network and no Jupyter extension. In a notebook it displays itself
    (the fragment, plus a JPEG of its default state for viewers that do not run scripts: the fragment shows that
    image until its script replaces it with the interactive view); :meth:`save` writes a standalone ``.html``
    page or the ``.png``.
    """

    kind = "view"
    script = None  # the view's JS file in lucid_fast/views/js/

    def data(self):
        """The JSON-serializable data the page's script reads."""
        raise NotImplementedError

    def static_image(self):
        """The view's default state as an (H, W, 3) float32 image (what a viewer without scripts shows)."""
        raise NotImplementedError

    # -- output -----------------------------------------------------------------------------------------------------
    def _payload(self):
        if getattr(self, "_payload_cache", None) is None:
            text = json.dumps(self.data(), separators=(",", ":"), sort_keys=True)
            self._payload_cache = text
        return self._payload_cache

    @property
    def element_id(self):
        """The id of the view's root element, derived from its data (the same data: the same id)."""
        digest = hashlib.sha1((self.kind + self._payload()).encode("utf-8")).hexdigest()[:12]
        return f"lfv-{self.kind}-{digest}"

    def _static(self):
        if getattr(self, "_static_cache", None) is None:
            img = self.static_image()
            if img.shape[1] > STATIC_MAX_WIDTH:
                scale = STATIC_MAX_WIDTH / img.shape[1]
                img = resize(img, (max(1, round(img.shape[0] * scale)), STATIC_MAX_WIDTH))
            self._static_cache = img
        return self._static_cache

    def png(self):
        """PNG bytes of :meth:`static_image` (what ``save("....png")`` writes)."""
        if getattr(self, "_png_cache", None) is None:
            self._png_cache = encode_png(self._static(), optimize=True)
        return self._png_cache

    def jpeg(self):
        """JPEG bytes of :meth:`static_image` (the fallback a notebook stores: much smaller than the PNG)."""
        if getattr(self, "_jpeg_cache", None) is None:
            self._jpeg_cache = jpeg_bytes(self._static())
        return self._jpeg_cache

    def fragment(self):
        """The HTML fragment: root element, static image, data, style and script (what Jupyter shows)."""
        vid = self.element_id
        payload = self._payload().replace("</", "<\\/")
        static = "data:image/jpeg;base64," + base64.b64encode(self.jpeg()).decode("ascii")
        title = html_mod.escape(getattr(self, "title", None) or self.kind.replace("_", " "))
        script = (f"(function(){{\nvar ROOT_ID = {json.dumps(vid)};\n{_read('common.js')}\n"
                  f"{_read(self.script)}\n}})();")
        return (f'<div class="lfv lfv-{self.kind}" id="{vid}">'
                f'<style>{_read("views.css")}</style>'
                f'<img class="lfv-static" alt="{title} (static image: run the notebook to interact)" src="{static}">'
                f'<script type="application/json" class="lfv-data">{payload}</script>'
                f"<script>{script}</script></div>")

    def html(self):
        """A standalone HTML page of the view."""
        title = html_mod.escape(getattr(self, "title", None) or self.kind.replace("_", " "))
        return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                f"<title>{title}</title></head>\n<body style=\"margin:12px;font-family:sans-serif\">\n"
                f"{self.fragment()}\n</body></html>\n")

    def _repr_html_(self):
        return self.fragment()

    def _repr_mimebundle_(self, include=None, exclude=None):
        return {"text/html": self.fragment(), "image/jpeg": base64.b64encode(self.jpeg()).decode("ascii")}

    def save(self, path):
        """Writes a standalone ``.html`` page, or the static ``.png``; returns the path.

        The whole page (or PNG) is built before the file is touched, and written atomically
        (:func:`lucid_fast.misc.atomic.atomic_write`): a save that fails leaves the file that was there as it was.
        """
        from lucid_fast.misc.atomic import atomic_write  # noqa: PLC0415

        if isinstance(path, bytes):
            path = os.fsdecode(path)
        if not isinstance(path, (str, os.PathLike)):
            raise ValueError(f"{type(self).__name__}.save: path must be a str or os.PathLike ending in .html or "
                             f".png, got {type(path).__name__} {path!r}")
        ext = os.path.splitext(os.fspath(path))[1].lower()
        if ext not in (".html", ".htm", ".png"):
            raise ValueError(f"{type(self).__name__}.save: path must end in .html or .png, got {path!r}")
        data = self.png() if ext == ".png" else self.html().encode("utf-8")
        folder = os.path.dirname(os.path.abspath(path))
        os.makedirs(folder, exist_ok=True)
        with atomic_write(path, "wb") as fh:
            fh.write(data)
        return path

    def __repr__(self):
        return f"<{type(self).__name__} {getattr(self, 'title', '') or ''}>"
