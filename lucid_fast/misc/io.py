"""Loading, saving and showing arrays and images (Lucid's ``misc.io``), local files only.

Formats by extension: .png/.jpg/.jpeg (images: float arrays in [0, 1] or uint8), .npy, .npz, .json, .txt.
``show`` displays an image (or a batch, as a grid) inline in a notebook, and elsewhere writes a PNG to a
temporary file and prints its path.
"""
import json
import os
import tempfile

import numpy as np

IMAGE_EXTS = (".png", ".jpg", ".jpeg")
SAVE_EXTS = IMAGE_EXTS + (".npy", ".npz", ".json", ".txt")


def _to_uint8(img):
    img = np.asarray(img)
    if img.dtype == np.uint8:
        return img
    if not np.issubdtype(img.dtype, np.floating):
        raise ValueError(f"images must be float in [0, 1] or uint8, got dtype {img.dtype}")
    if not np.isfinite(img).all():
        raise ValueError("the image contains NaN or inf")
    return (np.clip(img, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def image_grid(images, ncols=None, pad=2, pad_value=1.0):
    """Tiles a batch (N, H, W, C) into one (H', W', C) image; a single (H, W, C) image is returned as is."""
    images = np.asarray(images)
    if images.ndim == 3 or (images.ndim == 2):
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


def _image_for_pil(arr):
    arr = _to_uint8(arr)
    if arr.ndim == 3 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[-1] not in (3, 4)):
        raise ValueError(f"cannot save an array of shape {arr.shape} as an image: need (H, W), (H, W, 1|3|4) "
                         f"or a batch (N, H, W, C)")
    return arr


def save(thing, path, **kwargs):
    """Saves ``thing`` to ``path``, choosing the format from the extension.

    The write is atomic (:func:`lucid_fast.misc.atomic.atomic_write`): an interrupted save leaves the file that
    was at ``path`` as it was, and no partial file.
    """
    from PIL import Image

    from lucid_fast.misc.atomic import atomic_write

    ext = os.path.splitext(path)[1].lower()
    if ext not in SAVE_EXTS:
        raise ValueError(f"save: unknown extension {ext!r}; use one of {SAVE_EXTS}")
    d = os.path.dirname(os.path.abspath(path))
    os.makedirs(d, exist_ok=True)
    if ext in IMAGE_EXTS:
        arr = np.asarray(thing)
        if arr.ndim == 4:
            arr = image_grid(arr)
        arr = _image_for_pil(arr)
        img = Image.fromarray(arr)
        if ext != ".png" and img.mode == "RGBA":
            img = img.convert("RGB")
        with atomic_write(path) as f:
            if ext == ".png":
                img.save(f, format="PNG")
            else:
                img.save(f, format="JPEG", quality=kwargs.get("quality", 95))
    elif ext == ".npy":
        arr = np.asarray(thing)
        with atomic_write(path) as f:
            np.save(f, arr)
    elif ext == ".npz":
        if not isinstance(thing, dict):
            raise ValueError("save: .npz needs a dict of arrays")
        with atomic_write(path) as f:
            np.savez(f, **thing)
    elif ext == ".json":
        text = json.dumps(thing, default=_json_default, indent=kwargs.get("indent"))
        with atomic_write(path, "w") as f:
            f.write(text)
    else:  # .txt
        with atomic_write(path, "w") as f:
            f.write(str(thing))
    return path


def _json_default(o):
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, np.generic):
        return o.item()
    raise TypeError(f"cannot serialize {type(o).__name__} to JSON")


def batch_save(images, pattern):
    """Saves each image of a batch to ``pattern.format(i)`` (e.g. "out/{:03d}.png"); returns the paths."""
    return [save(img, pattern.format(i)) for i, img in enumerate(np.asarray(images))]


def load(path, **kwargs):
    """Loads ``path``: images as float32 (H, W, C) in [0, 1]; .npy/.npz/.json/.txt as saved."""
    from PIL import Image

    if not os.path.exists(path):
        raise FileNotFoundError(f"load: no such file {path!r}")
    ext = os.path.splitext(path)[1].lower()
    if ext in IMAGE_EXTS:
        with Image.open(path) as img:
            img = img.convert("RGBA" if img.mode in ("RGBA", "LA", "P") and "transparency" in img.info
                              or img.mode == "RGBA" else "RGB")
            return np.asarray(img, dtype=np.float32) / 255.0
    if ext == ".npy":
        return np.load(path)
    if ext == ".npz":
        with np.load(path) as z:
            return {k: z[k] for k in z.files}
    if ext == ".json":
        with open(path) as f:
            return json.load(f)
    if ext == ".txt":
        with open(path) as f:
            return f.read()
    raise ValueError(f"load: unknown extension {ext!r}")


def _in_notebook():
    try:
        from IPython import get_ipython

        ip = get_ipython()
        return ip is not None and "IPKernelApp" in ip.config
    except Exception:
        return False


def show(thing, title=None):
    """Shows an image or a batch (as a grid): inline in a notebook, else as a PNG path printed."""
    arr = np.asarray(thing)
    if arr.ndim == 4:
        arr = image_grid(arr)
    if _in_notebook():
        import io as _io

        from IPython.display import Image as IPImage
        from IPython.display import display
        from PIL import Image

        buf = _io.BytesIO()
        Image.fromarray(_image_for_pil(arr)).save(buf, format="PNG")
        if title:
            print(title)
        display(IPImage(data=buf.getvalue(), format="png"))
        return None
    fd, path = tempfile.mkstemp(suffix=".png", prefix="lucid_fast_show_")
    os.close(fd)
    save(arr, path)
    print(f"{title + ': ' if title else ''}{path}")
    return path


def _textured_mesh(mesh, texture, **kwargs):
    from lucid_fast.misc.mesh_viewer import textured_mesh

    return textured_mesh(mesh, texture, **kwargs)


_textured_mesh.__doc__ = "Interactive three.js viewer of a textured mesh: see lucid_fast.misc.mesh_viewer."
show.textured_mesh = _textured_mesh  # Lucid's show.textured_mesh(mesh, texture)
