"""Image arrays, the one implementation every package uses: ``to_uint8`` (a float image in [0, 1] or a uint8 one
as uint8), ``encode_png`` (an image as PNG bytes) and ``image_grid`` (a batch tiled into one image).

This module sits at the bottom of the package: it imports numpy (and PIL inside ``encode_png``) and nothing from
``lucid_fast``, so ``misc.io``, ``misc.mesh_viewer``, ``misc.gl``, ``views``, ``gallery`` and ``optvis`` can all
import it without an import cycle.

Lucid's own conversion, which maps a ``domain`` to [0, 255] with round-half-to-even (and which Lucid's notebooks
import), stays in :func:`lucid_fast.misc.io.serialize_array._normalize_array`.
"""
import io as _io

import numpy as np


def to_uint8(img):
    """An image (any shape) as uint8: uint8 is returned as is; floats in [0, 1] are clipped to [0, 1] and rounded
    half up (``floor(x * 255 + 0.5)``, computed in the array's own float type).

    Raises:
        ValueError: a dtype that is neither floating nor uint8, or NaN / inf values.
    """
    img = np.asarray(img)
    if img.dtype == np.uint8:
        return img
    if not np.issubdtype(img.dtype, np.floating):
        raise ValueError(f"images must be float in [0, 1] or uint8, got dtype {img.dtype}")
    if not np.isfinite(img).all():
        raise ValueError("the image contains NaN or inf")
    return (np.clip(img, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def encode_png(img, optimize=False):
    """PNG bytes of an ``(H, W)`` or ``(H, W, 1|3|4)`` image (float in [0, 1] or uint8, see :func:`to_uint8`).

    One channel is written as a grayscale PNG, 3 as RGB, 4 as RGBA. The same pixels give the same bytes.
    ``optimize=True`` asks PIL for its smallest encoding (slower; other bytes, same pixels).
    """
    from PIL import Image  # noqa: PLC0415 - PIL only when encoding

    arr = to_uint8(img)
    if arr.ndim == 3 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    buf = _io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG", optimize=optimize)
    return buf.getvalue()


def image_grid(images, ncols=None, pad=2, pad_value=1.0):
    """Tiles a batch (N, H, W, C) into one (H', W', C) image; a single (H, W, C) image is returned as is."""
    images = np.asarray(images)
    if images.ndim in (2, 3):
        return images
    if images.ndim != 4:
        raise ValueError(f"image_grid: expected (N, H, W, C), got shape {images.shape}")
    n, h, w, c = images.shape
    if n == 1:
        return images[0]
    ncols = ncols or int(np.ceil(np.sqrt(n)))
    nrows = int(np.ceil(n / ncols))
    fill = pad_value if np.issubdtype(images.dtype, np.floating) else 255
    grid = np.full((nrows * h + (nrows - 1) * pad, ncols * w + (ncols - 1) * pad, c), fill, dtype=images.dtype)
    for i in range(n):
        r, k = divmod(i, ncols)
        grid[r * (h + pad):r * (h + pad) + h, k * (w + pad):k * (w + pad) + w] = images[i]
    return grid


__all__ = ["encode_png", "image_grid", "to_uint8"]
