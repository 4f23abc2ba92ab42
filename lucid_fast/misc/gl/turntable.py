"""A turntable animation of a textured mesh, rendered with lucid_fast's own rasterizer (GIF, or MP4 with
imageio's ffmpeg plugin): a way to show a 3D result where no script runs (a committed notebook, a report)."""
import io as _io
import numbers
import os

import numpy as np

from lucid_fast.misc.image import to_uint8
from lucid_fast.misc.notebook import in_notebook


MAX_FRAMES = 10000


def _check_int(who, name, value, lo, hi=None):
    if (isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral) or value < lo
            or (hi is not None and value > hi)):
        rng = f">= {lo}" if hi is None else f"in [{lo}, {hi}]"
        raise ValueError(f"{who}: {name} must be an int {rng}, got {value!r}")
    return int(value)


def _check_real(who, name, value, positive=False):
    if (isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real) or not np.isfinite(value)
            or (positive and value <= 0)):
        raise ValueError(f"{who}: {name} must be a finite number{' > 0' if positive else ''}, got {value!r}")
    return float(value)


def _check_fps(who, fps):
    return _check_real(who, "fps", fps, positive=True)


def _check_path(who, path):
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    if not isinstance(path, (str, os.PathLike)) or os.path.splitext(os.fspath(path))[1].lower() not in (".gif",
                                                                                                          ".mp4"):
        raise ValueError(f"{who}: path must end in .gif or .mp4 (save as .gif or .mp4), got "
                         f"{path!r}")
    return path


def turntable_views(frames=36, distance=12.0, elevation_deg=20.0):
    """``frames`` modelview matrices of a camera circling the origin (around +y) at ``elevation_deg`` above the
    equator; the object appears to spin left to right.

    Raises:
        ValueError: ``frames`` not an int in [1, 10000], ``distance`` not a finite number > 0, ``elevation_deg``
            not finite.
    """
    from .meshutil import lookat

    frames = _check_int("turntable", "frames", frames, 1, MAX_FRAMES)
    distance = _check_real("turntable", "distance", distance, positive=True)
    elevation_deg = _check_real("turntable", "elevation_deg", elevation_deg)
    e = np.radians(elevation_deg)
    views = []
    for k in range(int(frames)):
        a = 2 * np.pi * k / frames
        views.append(lookat(distance * np.array([np.sin(a) * np.cos(e), np.sin(e), np.cos(a) * np.cos(e)])))
    return views


def turntable(mesh, texture, size=256, frames=36, distance=12.0, elevation_deg=20.0, background=(1.0, 1.0, 1.0),
              path=None, fps=12, renderer=None):
    """Renders ``frames`` views of a textured mesh around its vertical axis.

    Args:
        mesh: Lucid's mesh dict (``position``, ``uv``, ``face``), with at least one triangle.
        texture: (H, W, C) (or a batch of one) texture, finite, in [0, 1], looked up with ``ops.sample_bilinear``.
        size: frame size in pixels (square, an int), unless ``renderer`` is given.
        frames, distance, elevation_deg: the camera circle (the renderer's 10 degree field of view); ``frames``
            an int in [1, 10000].
        background: the colour around the object: a number or C numbers, finite.
        path: also save the animation there: ``.gif`` (Pillow through imageio) or ``.mp4`` (needs
            ``pip install imageio-ffmpeg``).
        fps: frames per second of the saved animation, a finite number > 0.
        renderer: a ``MeshRenderer`` to use (default: a new one of ``size``).

    Returns:
        float32 array (frames, h, w, C) of the rendered frames in [0, 1].

    Raises:
        ValueError: any argument above out of its range, checked before anything is rendered; the frames not
            fitting in memory.
    """
    from lucid_fast import ops

    from lucid_fast.misc.memory import check_fits

    from .glrenderer import MeshRenderer
    from .meshutil import check_mesh

    who = "turntable"
    check_mesh(who, mesh)
    tex = np.asarray(texture)
    if tex.ndim == 4 and tex.shape[0] == 1:
        tex = tex[0]
    if tex.ndim != 3 or min(tex.shape) < 1 or not np.issubdtype(tex.dtype, np.number):
        raise ValueError(f"turntable: texture must be (H, W, C) or (1, H, W, C) numbers, got shape "
                         f"{np.shape(texture)}")
    tex = np.ascontiguousarray(tex, np.float32)
    if not np.isfinite(tex).all():
        raise ValueError(f"turntable: texture contains {int(tex.size - np.isfinite(tex).sum())} NaN or inf values")
    if tex.min() < -1e-3 or tex.max() > 1 + 1e-3:
        raise ValueError(f"turntable: texture must hold values in [0, 1], got range [{tex.min():.4g}, "
                         f"{tex.max():.4g}]")
    c = tex.shape[-1]
    bg = np.asarray(background, np.float32)
    if bg.ndim > 1 or (bg.ndim == 1 and bg.shape[0] not in (1, c)) or not np.isfinite(bg).all():
        raise ValueError(f"turntable: background must be a finite number or {c} numbers, got {background!r}")
    views = turntable_views(frames, distance, elevation_deg)
    fps = _check_fps(who, fps)
    if path is not None:
        path = _check_path(who, path)
    if renderer is None:
        size = _check_int(who, "size", size, 1)
    w, h = renderer.size if renderer is not None else (size, size)
    check_fits(len(views) * w * h * (c * 8 + 16), f"turntable: {len(views)} frames of {w}x{h}",
               "use fewer frames or a smaller size")
    own = renderer is None
    renderer = renderer or MeshRenderer((size, size))
    try:
        out = []
        for mv in views:
            frags = renderer.render_mesh(modelview=mv, **{k: mesh[k] for k in ("position", "uv", "face") if k in mesh})
            alpha = frags[..., 3:]
            out.append(ops.sample_bilinear(tex, np.ascontiguousarray(frags[..., :2])) * alpha + bg * (1 - alpha))
    finally:
        if own:
            renderer.release()
    out = np.clip(np.stack(out), 0.0, 1.0).astype(np.float32)
    if path is not None:
        save_animation(out, path, fps=fps)
    return out


def _uint8(frames):
    frames = np.asarray(frames)
    if frames.shape[-1] == 1:
        frames = np.repeat(frames, 3, -1)
    return to_uint8(frames[..., :3])


def save_animation(frames, path, fps=12):
    """Writes frames (N, h, w, C) in [0, 1] as an animated GIF (looping) or an MP4, by ``path``'s extension."""
    import imageio.v3 as iio

    fps = _check_fps("save_animation", fps)
    path = _check_path("save_animation", path)
    data = _uint8(frames)
    ext = os.fspath(path).lower().rsplit(".", 1)[-1]
    if ext == "gif":
        iio.imwrite(path, data, extension=".gif", duration=1000.0 / fps, loop=0)
    elif ext == "mp4":
        try:
            iio.imwrite(path, data, extension=".mp4", fps=fps)
        except Exception as err:  # imageio names its missing plugin in several ways
            raise RuntimeError("turntable: writing MP4 needs imageio's ffmpeg plugin: pip install imageio-ffmpeg "
                               f"(or save a .gif) ({err})") from err
    else:
        raise ValueError(f"turntable: save as .gif or .mp4, got {path!r}")
    return path


def gif_bytes(frames, fps=12):
    """The frames as GIF file bytes (for inline display)."""
    import imageio.v3 as iio

    fps = _check_fps("gif_bytes", fps)
    buf = _io.BytesIO()
    iio.imwrite(buf, _uint8(frames), extension=".gif", duration=1000.0 / fps, loop=0)
    return buf.getvalue()


def show_turntable(mesh, texture, fps=12, **kwargs):
    """Renders a :func:`turntable` and shows it inline in a notebook as an animated GIF (elsewhere: saves it to a
    temporary file and prints the path). Returns the frames."""
    frames = turntable(mesh, texture, fps=fps, **kwargs)
    data = gif_bytes(frames, fps=fps)
    if in_notebook():
        from IPython.display import Image, display

        display(Image(data=data, format="gif"))
    else:
        import tempfile

        with tempfile.NamedTemporaryFile(suffix=".gif", prefix="lucid_fast_turntable_", delete=False) as f:
            f.write(data)
        print(f"turntable: {f.name}")
    return frames
