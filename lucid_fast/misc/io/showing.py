"""Showing arrays as images (Lucid's ``misc.io.showing``).

In a notebook, images are displayed inline as HTML ``<img>`` elements (pixelated when scaled up with ``w=``);
anywhere else, each call writes a PNG to a temporary file and prints its path (returned too), so scripts and
terminals get something to open.

``show(thing)`` decides by shape: an ``(h, w)`` or ``(h, w, c)`` array is one image; an ``(n, h, w, c)`` array
or a list of images is a row of labelled images; channel counts other than 1, 3 and 4 are collapsed to RGB
(:func:`~.collapse_channels.collapse_channels`). ``domain=(0, 1)`` (the default) shows values as they are,
clipped; ``domain=None`` stretches each image's own range.
"""
import base64
import html
import logging
import os
import tempfile

import numpy as np

from lucid_fast.misc.image import image_grid
from lucid_fast.misc.notebook import in_notebook

from .collapse_channels import collapse_channels
from .saving import save
from .serialize_array import _normalize_array, serialize_array

log = logging.getLogger(__name__)


def _display_html(html_str):
    from IPython.display import HTML, display

    display(HTML(html_str))


def _image_url(array, fmt="png", mode="data", quality=90, domain=None):
    """A ``data:`` URL of the encoded image."""
    if mode != "data":
        raise ValueError(f"_image_url: only mode='data' is supported, got {mode!r}")
    data = serialize_array(array, fmt=fmt, quality=quality, domain=domain)
    return f"data:image/{fmt.lower()};base64," + base64.b64encode(data).decode("ascii")


def _image_html(array, w=None, domain=None, fmt="png"):
    style = "image-rendering: pixelated; image-rendering: crisp-edges;"
    if w is not None:
        style += f" width: {int(w)}px;"
    return f'<img src="{_image_url(array, fmt=fmt, domain=domain)}" style="{style}">'


def _save_temp(array, domain, title=None):
    """Outside a notebook: the image as a PNG in a temporary file; prints and returns the path."""
    fd, path = tempfile.mkstemp(suffix=".png", prefix="lucid_fast_show_")
    os.close(fd)
    save(array, path, domain=domain)
    print(f"{title + ': ' if title else ''}{path}")
    return path


def _collapse_if_needed(array):
    array = np.asarray(array)
    if array.ndim == 3 and array.shape[-1] not in (1, 3, 4):
        log.debug("collapsing %d channels into RGB", array.shape[-1])
        return collapse_channels(array)
    return array


def image(array, domain=None, w=None, format="png", **kwargs):  # noqa: A002 - Lucid's parameter name
    """Shows one image (``(h, w)`` or ``(h, w, 1|3|4)``); ``domain`` as in the module docstring (None: the
    image's own range); ``w``: display width in pixels (notebooks)."""
    array = np.asarray(array)
    _normalize_array(array, domain=domain)  # checks the array before anything is displayed
    if in_notebook():
        title = kwargs.get("title")
        _display_html((f"<div>{html.escape(str(title))}</div>" if title else "")
                      + _image_html(array, w=w, domain=domain, fmt=format))
        return None
    return _save_temp(array, domain, kwargs.get("title"))


def images(arrays, labels=None, domain=None, w=None, **kwargs):
    """Shows a row of images, each with its label (default: its index; ``labels=[]`` for none)."""
    arrays = [_collapse_if_needed(a) for a in arrays]
    if labels is not None and len(labels) not in (0, len(arrays)):
        raise ValueError(f"images: {len(labels)} labels for {len(arrays)} images")
    for a in arrays:
        _normalize_array(a, domain=domain)
    if in_notebook():
        cells = []
        for i, a in enumerate(arrays):
            label = "" if labels is not None and not labels else (labels[i] if labels else i)
            cells.append(f'<div style="margin-right: 10px; margin-top: 4px;">{html.escape(str(label))}<br/>'
                         f"{_image_html(a, w=w, domain=domain)}</div>")
        title = kwargs.get("title")
        _display_html((f"<div>{html.escape(str(title))}</div>" if title else "")
                      + '<div style="display: flex; flex-direction: row;">' + "".join(cells) + "</div>")
        return None
    normalized = [_normalize_array(a, domain=domain) for a in arrays]
    shapes = {a.shape[:2] for a in normalized}
    if len(shapes) == 1:
        rgb = [np.repeat(a[..., None], 3, -1) if a.ndim == 2 else a for a in normalized]
        if len({a.shape[-1] for a in rgb}) == 1:
            title = kwargs.get("title") or (", ".join(str(x) for x in labels) if labels else None)
            return _save_temp(image_grid(np.stack(rgb), ncols=len(rgb)), (0, 255), title)
    return [_save_temp(a, (0, 255), str(labels[i]) if labels else str(i)) for i, a in enumerate(normalized)]


def show(thing, domain=(0, 1), **kwargs):
    """Shows an array or a list of arrays as images (see the module docstring).

    Args:
        thing: ``(h, w)`` / ``(h, w, c)`` (one image), ``(n, h, w, c)`` or a list (a row of images; items may
            be batches of one, as render_vis returns them); anything else is printed.
        domain: ``(low, high)`` of the values (clipped to it), or None for each image's own range.
        **kwargs: ``w`` (display width), ``labels`` (for several images), ``title`` (a caption, lucid_fast).

    Returns:
        None in a notebook; elsewhere the path(s) of the PNG file(s) written.
    """
    if hasattr(thing, "numpy") and not isinstance(thing, np.ndarray):  # a TF tensor
        thing = thing.numpy()
    if isinstance(thing, np.ndarray):
        if thing.ndim == 4:
            return images(list(thing), domain=domain, **kwargs)
        if thing.ndim in (2, 3):
            return image(_collapse_if_needed(thing), domain=domain, **kwargs)
        log.warning("show: arrays of rank 2 to 4 are shown as images; printing a rank-%d array", thing.ndim)
        print(repr(thing))
        return None
    if isinstance(thing, (list, tuple)) and thing:
        items = [np.asarray(t.numpy() if hasattr(t, "numpy") else t) for t in thing]
        items = [t[0] if t.ndim == 4 and t.shape[0] == 1 else t for t in items]  # render_vis's (1, h, w, c)
        if all(t.ndim in (2, 3) for t in items):
            return images(items, domain=domain, **kwargs)
    print(repr(thing))
    return None


def textured_mesh(mesh, texture, background="0xffffff", **kwargs):
    """An interactive three.js view of a textured mesh (Lucid's ``showing.textured_mesh``): inline in a notebook,
    and saved as a standalone page with ``path=``. ``background`` is a colour as Lucid wrote it (``"0xffffff"``)
    or as CSS (``"#ffffff"``); other keyword arguments: :func:`lucid_fast.misc.mesh_viewer.textured_mesh`."""
    from lucid_fast.misc.mesh_viewer import textured_mesh as viewer

    if isinstance(background, str) and background.lower().startswith("0x"):
        background = "#" + background[2:]
    return viewer(mesh, texture, background=background, **kwargs)


def graph(graph_def, max_const_size=32):
    """Lucid displayed a GraphDef with TensorBoard's web component, which is no longer served; use TensorBoard
    (``tf.summary.graph``) or the model's own summary instead."""
    raise NotImplementedError("graph: Lucid's graph view loaded a TensorBoard web component from "
                              "tensorboard.appspot.com, which no longer exists. Inspect a model with "
                              "lucid_fast.modelzoo.layer_info(model) or TensorBoard (tf.summary.graph)")


# ``show.images(...)``, ``show.textured_mesh(...)``: the module's functions are reachable from ``io.show`` too, for
# code written when ``lucid.misc.io.show`` was the module.
show.image, show.images, show.textured_mesh, show.graph = image, images, textured_mesh, graph

__all__ = ["graph", "image", "image_grid", "images", "show", "textured_mesh"]
