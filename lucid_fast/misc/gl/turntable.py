"""A turntable animation of a textured mesh, rendered with lucid_fast's own rasterizer (GIF, or MP4 with
imageio's ffmpeg plugin): a way to show a 3D result where no script runs (a committed notebook, a report)."""
import io as _io

import numpy as np

from lucid_fast.misc.image import to_uint8
from lucid_fast.misc.notebook import in_notebook


def turntable_views(frames=36, distance=12.0, elevation_deg=20.0):
    """``frames`` modelview matrices of a camera circling the origin (around +y) at ``elevation_deg`` above the
    equator; the object appears to spin left to right."""
    from .meshutil import lookat

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
        mesh: Lucid's mesh dict (``position``, ``uv``, ``face``).
        texture: (H, W, C) (or a batch of one) texture in [0, 1], looked up with ``ops.sample_bilinear``.
        size: frame size in pixels (square), unless ``renderer`` is given.
        frames, distance, elevation_deg: the camera circle (the renderer's 10 degree field of view).
        background: the colour around the object.
        path: also save the animation there: ``.gif`` (Pillow through imageio) or ``.mp4`` (needs
            ``pip install imageio-ffmpeg``).
        fps: frames per second of the saved animation.
        renderer: a ``MeshRenderer`` to use (default: a new one of ``size``).

    Returns:
        float32 array (frames, h, w, C) of the rendered frames in [0, 1].
    """
    from lucid_fast import ops

    from .glrenderer import MeshRenderer

    tex = np.asarray(texture, np.float32)
    if tex.ndim == 4 and tex.shape[0] == 1:
        tex = tex[0]
    if tex.ndim != 3:
        raise ValueError(f"turntable: texture must be (H, W, C) or (1, H, W, C), got shape {tex.shape}")
    tex = np.ascontiguousarray(tex)
    bg = np.asarray(background, np.float32)
    own = renderer is None
    renderer = renderer or MeshRenderer((int(size), int(size)))
    try:
        out = []
        for mv in turntable_views(frames, distance, elevation_deg):
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

    data = _uint8(frames)
    ext = str(path).lower().rsplit(".", 1)[-1]
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
