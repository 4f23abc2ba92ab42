"""Rasterizing meshes into per-pixel texture coordinates, headless, with OpenGL (Lucid's ``misc.gl.glrenderer``).

A :class:`MeshRenderer` draws a triangle mesh from a camera and returns, for every pixel, the interpolated
texture coordinates (u, v) of the surface point it sees and its coverage (alpha): Lucid's "fragments". A texture
is then looked up there with :func:`lucid_fast.ops.sample_bilinear`, which makes the rendered view a
differentiable function of the texture (the rasterization itself is not differentiated).

OpenGL runs through ``moderngl`` in a standalone EGL context, with no window or display: Mesa's llvmpipe on a
machine without a GPU (Debian: ``libegl1 libgl1-mesa-dri libegl-mesa0``), the vendor's EGL driver where there is
one. Without them :class:`MeshRenderer` raises :class:`OpenGLUnavailableError` saying what to install.
"""
import ctypes
import glob
import importlib.util
import os
import sys

import numpy as np

from .meshutil import perspective

APT_PACKAGES = "libegl1 libgl1-mesa-dri libegl-mesa0"
DEFAULT_FOVY_DEG = 10.0        # Lucid's MeshRenderer: a narrow lens, cameras 10-13 units from a unit-sized mesh
DEFAULT_ZNEAR, DEFAULT_ZFAR = 0.01, 100.0
MAX_SIDE = 16384          # px: no side beyond this (and never beyond the context's GL_MAX_* sizes)
MAX_PIXELS = 1 << 26      # width * height: the float32 RGBA colour attachment stays <= 1 GiB (Mesa's llvmpipe
                          # refuses a 16384 x 16384 one, "framebuffer is not complete"; 8192 x 8192 works)
BYTES_PER_PIXEL = 52      # colour (16) + depth (4) + read-back (16) + the flipped copy (16)

_VERTEX_SHADER = """
#version 330
uniform mat4 MVP;
in vec4 position;
in vec4 data;
out vec4 v_data;
void main() {
    v_data = data;
    gl_Position = MVP * position;
}
"""

# Writes the interpolated vertex data: (u, v, 0, 1) for 2-component UVs (OpenGL's fill of missing components).
_FRAGMENT_SHADER = """
#version 330
in vec4 v_data;
out vec4 frag;
void main() {
    frag = v_data;
}
"""


class OpenGLUnavailableError(RuntimeError):
    """No headless OpenGL here (moderngl missing, or no EGL driver); the message says what to install."""


# Mesa's software drivers (llvmpipe's gallium library; Debian 12 names it dri/swrast_dri.so, Mesa >= 24.2
# libgallium-*.so), in the usual library folders and Mesa's LIBGL_DRIVERS_PATH.
_MESA_DRIVER_GLOBS = ("/usr/lib/*/dri/swrast_dri.so", "/usr/lib/*/libgallium*.so", "/usr/lib64/dri/swrast_dri.so",
                      "/usr/lib64/libgallium*.so", "/usr/lib/dri/swrast_dri.so")


def _preload_mesa_drivers():
    """Loads Mesa's llvmpipe driver with RTLD_DEEPBIND before EGL does, so that it calls its own LLVM.

    TensorFlow carries its own copy of LLVM; once it is imported, a driver loaded the ordinary way resolves its
    LLVM calls to TensorFlow's copy (another LLVM version) and crashes on the first draw (measured with Debian 12's
    Mesa 22.3 and TF 2.21, in either import order). With RTLD_DEEPBIND the driver's own dependencies come first;
    EGL's later dlopen of the same file returns this handle. A no-op where no Mesa driver is found (e.g. NVIDIA's
    EGL) or off Linux.
    """
    deepbind = getattr(os, "RTLD_DEEPBIND", None)
    if deepbind is None or not sys.platform.startswith("linux"):
        return
    paths = []
    for folder in os.environ.get("LIBGL_DRIVERS_PATH", "").split(os.pathsep):
        if folder:
            paths += glob.glob(os.path.join(folder, "swrast_dri.so"))
    for pattern in _MESA_DRIVER_GLOBS:
        paths += sorted(glob.glob(pattern))
    for path in paths:
        try:
            ctypes.CDLL(path, mode=os.RTLD_NOW | deepbind)
        except OSError:
            pass  # not loadable here (another architecture's folder): EGL will not use it either


def _load_tensorflow_first():
    """Imports TensorFlow (when installed) before Mesa is loaded: Mesa's loader makes the driver's LLVM global,
    and TensorFlow imported after that crashes while loading (its LLVM symbols bind to Mesa's). TensorFlow first,
    then the driver with RTLD_DEEPBIND (:func:`_preload_mesa_drivers`), works in one process."""
    if "tensorflow" not in sys.modules and importlib.util.find_spec("tensorflow") is not None:
        import tensorflow  # noqa: F401


def create_context(backend="egl", **kwargs):
    """A standalone (headless) moderngl context; ``kwargs`` go to ``moderngl.create_standalone_context``.

    Raises:
        OpenGLUnavailableError: moderngl is not installed or no OpenGL 3.3 context can be created.
    """
    try:
        import moderngl
    except ImportError as err:
        raise OpenGLUnavailableError(
            "lucid_fast.misc.gl needs the moderngl package for headless OpenGL: pip install moderngl "
            "(or pip install \"lucid_fast[mesh]\")") from err
    if backend == "egl":
        _load_tensorflow_first()
        _preload_mesa_drivers()
    try:
        return moderngl.create_standalone_context(backend=backend, **kwargs)
    except Exception as err:  # glcontext raises plain Exceptions for a missing library or driver
        raise OpenGLUnavailableError(
            f"lucid_fast.misc.gl could not create a headless OpenGL context ({backend}: {err}). It needs EGL and "
            f"an OpenGL 3.3 driver; on Debian/Ubuntu: apt-get install {APT_PACKAGES} (Mesa's llvmpipe renders on "
            f"the CPU; a GPU's own EGL driver works too)") from err


def _vertex_array(name, arr, n_vertices, fill):
    """float32 (n, 4) from (n, k) with k in 1..4, missing components from ``fill`` (as OpenGL pads attributes)."""
    arr = np.asarray(arr, dtype=np.float32)
    if arr.ndim != 2 or not 1 <= arr.shape[1] <= 4 or arr.shape[0] != n_vertices:
        raise ValueError(f"render_mesh: {name} must be (n_vertices={n_vertices}, 1..4) floats, got shape "
                         f"{arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"render_mesh: {name} contains NaN or inf")
    out = np.empty((n_vertices, 4), np.float32)
    out[:] = fill
    out[:, :arr.shape[1]] = arr
    return out


def check_size(size):
    """``(width, height)``: two ints (no bools, no floats: nothing is rounded), each in 1..MAX_SIDE, at most
    MAX_PIXELS in all, and what fits in memory. Returns them as a tuple of ints."""
    from lucid_fast.misc.memory import check_fits

    if (not isinstance(size, (tuple, list)) or len(size) != 2
            or not all(isinstance(s, (int, np.integer)) and not isinstance(s, (bool, np.bool_))
                       and 1 <= s <= MAX_SIDE for s in size)):
        raise ValueError(f"MeshRenderer: size must be (width, height), two ints in 1..{MAX_SIDE} pixels, got "
                         f"{size!r}")
    w, h = int(size[0]), int(size[1])
    if w * h > MAX_PIXELS:
        raise ValueError(f"MeshRenderer: size {size!r} is {w * h} pixels; at most {MAX_PIXELS} (e.g. 8192 x 8192: "
                         f"the float32 frame must stay within 1 GiB)")
    check_fits(w * h * BYTES_PER_PIXEL, f"MeshRenderer: a {w}x{h} frame", "use a smaller size")
    return w, h


def _gl_max_side(ctx):
    """The largest framebuffer side the current context allows (its GL_MAX_* sizes; MAX_SIDE where unknown)."""
    info = ctx.info
    limits = [MAX_SIDE]
    for key in ("GL_MAX_TEXTURE_SIZE", "GL_MAX_RENDERBUFFER_SIZE", "GL_MAX_VIEWPORT_DIMS"):
        value = info.get(key)
        for v in (value if isinstance(value, (tuple, list)) else (value,)):
            if isinstance(v, int) and v > 0:
                limits.append(v)
    return min(limits)


class MeshRenderer:
    """Renders meshes into UV fragments (Lucid's ``MeshRenderer``), headless.

    Args:
        size: (width, height) of the frames in pixels: two ints, each at most 16384 and the context's GL_MAX_*
            sizes, width * height at most 2^26 (and what fits in memory).
        context: an existing moderngl context to share (default: a new standalone EGL one).

    Attributes:
        fovy, aspect, znear, zfar: the perspective projection (``proj_matrix()``); Lucid's defaults, a 10 degree
            vertical field of view.

    Example:
        >>> from lucid_fast.misc.gl import glrenderer, meshes, meshutil
        >>> mesh = meshes.torus()
        >>> renderer = glrenderer.MeshRenderer((256, 256))
        >>> frags = renderer.render_mesh(modelview=meshutil.lookat([0, 0, 12]), **mesh)  # (256, 256, 4)
    """

    def __init__(self, size, context=None):
        self.size = check_size(size)
        w, h = self.size
        self.ctx = context if context is not None else create_context()
        ctx = self.ctx
        try:
            with ctx:
                limit = _gl_max_side(ctx)
                if max(w, h) > limit:
                    raise ValueError(f"MeshRenderer: size {size!r} has a side larger than this OpenGL's largest "
                                     f"framebuffer, {limit} px (GL_MAX_TEXTURE_SIZE, GL_MAX_RENDERBUFFER_SIZE, "
                                     f"GL_MAX_VIEWPORT_DIMS); use a smaller size")
                self._color = ctx.texture((w, h), 4, dtype="f4")
                self._depth = ctx.depth_texture((w, h))
                try:
                    self.fbo = ctx.framebuffer(color_attachments=[self._color], depth_attachment=self._depth)
                except Exception as err:  # moderngl.Error: e.g. "framebuffer is not complete"
                    raise ValueError(f"MeshRenderer: OpenGL cannot make a {w}x{h} framebuffer here ({err}); use a "
                                     f"smaller size") from err
                self.program = ctx.program(vertex_shader=_VERTEX_SHADER, fragment_shader=_FRAGMENT_SHADER)
        except Exception:
            if context is None:
                self.ctx.release()
            raise
        self.fovy = DEFAULT_FOVY_DEG
        self.aspect = w / h
        self.znear, self.zfar = DEFAULT_ZNEAR, DEFAULT_ZFAR

    @property
    def gl_info(self):
        """What OpenGL renders here: ``{"GL_RENDERER": "llvmpipe (...)", "GL_VERSION": "4.5 (Core Profile) ...", ...}``."""
        with self.ctx:
            return {k: v for k, v in self.ctx.info.items() if isinstance(v, str)}

    def proj_matrix(self):
        """Lucid's projection matrix (:func:`meshutil.perspective`, in its transposed, row-vector layout)."""
        return perspective(self.fovy, self.aspect, self.znear, self.zfar)

    def render_mesh(self, position, uv, face=None, clear_color=(0.0, 0.0, 0.0, 0.0), modelview=np.eye(4),
                    **unused):
        """Rasterizes a mesh seen through ``modelview`` into per-pixel fragments.

        Args:
            position: (n, 3) (or (n, 4) homogeneous) vertex positions.
            uv: (n, 2) per-vertex texture coordinates (up to 4 components: all are interpolated and written).
            face: (k * 3,) or (k, 3) vertex indices of triangles, k >= 1; None draws consecutive vertex triples.
            clear_color: the fragment of pixels no triangle covers.
            modelview: 4x4 camera matrix (OpenGL's column-vector convention, e.g. :func:`meshutil.lookat`).
            **unused: other mesh entries (e.g. ``normal``), so that ``render_mesh(modelview=..., **mesh)`` works.

        Returns:
            float32 (height, width, 4): (u, v, 0, 1) where the mesh is seen (the nearest surface, with a depth
            test) and ``clear_color`` elsewhere. Row 0 is the top of the image (Lucid's orientation; OpenGL's
            read-back is bottom-up and is flipped here).
        """
        position = np.asarray(position, dtype=np.float32)
        if position.ndim != 2 or position.shape[1] not in (3, 4) or position.shape[0] < 1:
            raise ValueError(f"render_mesh: position must be (n_vertices, 3) or (n_vertices, 4), got shape "
                             f"{position.shape}")
        n = position.shape[0]
        pos4 = _vertex_array("position", position, n, (0.0, 0.0, 0.0, 1.0))
        data4 = _vertex_array("uv", uv, n, (0.0, 0.0, 0.0, 1.0))
        modelview = np.asarray(modelview, dtype=np.float64)
        if modelview.shape != (4, 4) or not np.isfinite(modelview).all():
            raise ValueError(f"render_mesh: modelview must be a finite 4x4 matrix, got shape {modelview.shape}")
        clear = tuple(float(c) for c in clear_color)
        if len(clear) != 4:
            raise ValueError(f"render_mesh: clear_color must have 4 components, got {clear_color!r}")
        index = None
        if face is not None:
            face = np.asarray(face)
            if not np.issubdtype(face.dtype, np.integer) or face.size % 3 or (face.ndim == 2 and face.shape[1] != 3):
                raise ValueError(f"render_mesh: face must be integer triangle indices, (k * 3,) or (k, 3), got "
                                 f"{face.dtype} {face.shape}")
            if face.size == 0:
                raise ValueError("render_mesh: face is empty: a mesh without triangles renders nothing")
            if face.min() < 0 or face.max() >= n:
                raise ValueError(f"render_mesh: face indices must be in [0, {n}), got {face.min()}..{face.max()}")
            index = np.ascontiguousarray(face.ravel(), dtype=np.uint32)
        elif n % 3:
            raise ValueError(f"render_mesh: without face, the vertices are drawn as triples; got {n} vertices")

        # Lucid's layout: its matrices are transposed (row vectors), and OpenGL reads the bytes column-major, so
        # the bytes of modelview^T . proj give OpenGL the matrix proj_gl . modelview.
        mvp = np.ascontiguousarray(modelview.T.dot(self.proj_matrix()), dtype=np.float32)
        with self.ctx:  # make this renderer's context current (another renderer's may be)
            return self._draw(pos4, data4, index, mvp, clear)

    def _draw(self, pos4, data4, index, mvp, clear):
        ctx = self.ctx
        vbo_pos = ctx.buffer(pos4.tobytes())
        vbo_data = ctx.buffer(data4.tobytes())
        ibo = ctx.buffer(index.tobytes()) if index is not None and index.size else None
        vao = ctx.vertex_array(self.program, [(vbo_pos, "4f", "position"), (vbo_data, "4f", "data")],
                               index_buffer=ibo, index_element_size=4)
        try:
            self.program["MVP"].write(mvp.tobytes())
            self.fbo.use()
            ctx.viewport = (0, 0) + self.size
            self.fbo.clear(*clear, depth=1.0)
            ctx.enable(ctx.DEPTH_TEST)
            if index is None or index.size:
                vao.render(ctx.TRIANGLES)
            ctx.disable(ctx.DEPTH_TEST)
            w, h = self.size
            frame = np.frombuffer(self.fbo.read(components=4, dtype="f4"), dtype=np.float32).reshape(h, w, 4)
        finally:
            for obj in (vao, vbo_pos, vbo_data, ibo):
                if obj is not None:
                    obj.release()
        return np.ascontiguousarray(frame[::-1])

    def release(self):
        """Frees the OpenGL objects (the context too, unless it was passed in)."""
        with self.ctx:
            for obj in (self.fbo, self._color, self._depth, self.program):
                obj.release()
