"""Rendered views of a textured mesh as a parameterization (Lucid's 3D feature visualization and style transfer).

The optimized image is a *texture* on a 3D mesh. At every step :class:`MeshView` rasterizes the mesh from a new
random camera into per-pixel texture coordinates and coverage (``lucid_fast.misc.gl``), samples the texture
there (the native ``ops.sample_bilinear``), and composites the result over a background weighted by coverage:
the model sees one rendered view of the object per step, and the texture's gradient is the adjoint lookup
(``ops.sample_bilinear_adjoint``) of the view's gradient. The texture itself can be any parameterization (Lucid's
notebooks use ``param.image(1024)``: Fourier, decorrelated colour), and a batch of textures (e.g. the optimized
one stacked with a constant reference, as in 3D style transfer) is rendered from the same view.

Views come from the render's generator (``render_vis(..., seed=)``): a seed reproduces the run. Each view is used
by exactly one forward/backward pair, so looking at the image between steps (``vis.image()``) shows the view of
the next step and does not change the sequence of views the optimization sees.
"""
import numpy as np

from lucid_fast import ops

from .core import Node

DEFAULT_DIST = (10.0, 12.0)  # Lucid's style_transfer_3d camera distances (texture_synth_3d: 11 to 13)
RANDOM_BACKGROUND_SD = 0.5   # Lucid's collapse_alpha_random spectrum scale


class MeshView(Node):
    """One rendered view of a textured mesh, from a random camera each step. See :func:`mesh_view`."""

    def __init__(self, texture, mesh, renderer, min_dist=DEFAULT_DIST[0], max_dist=DEFAULT_DIST[1],
                 background=0.0, views=None):
        if not isinstance(texture, Node) or len(texture.shape) != 4:
            raise ValueError(f"mesh_view: texture must be an NHWC parameterization (e.g. param.image(1024)), got "
                             f"{texture!r}")
        from lucid_fast.misc.gl.meshutil import check_mesh

        check_mesh("mesh_view", mesh)
        if not (np.isfinite(min_dist) and np.isfinite(max_dist) and 0 < min_dist <= max_dist):
            raise ValueError(f"mesh_view: need 0 < min_dist <= max_dist, got {min_dist!r}, {max_dist!r}")
        self.inputs = (texture,)
        self.mesh = {k: mesh[k] for k in ("position", "uv", "face") if mesh.get(k) is not None}
        self.renderer = renderer
        self.min_dist, self.max_dist = float(min_dist), float(max_dist)
        n, self.tex_h, self.tex_w, c = texture.shape
        w, h = renderer.size
        self.shape = (n, h, w, c)
        self.background = self._check_background(background, c)
        self.views = None if views is None else self._check_views(views)
        self._rng = None
        self._view_index = 0
        self._pending = None   # (modelview, background) drawn for the next step, not yet used by a backward
        self._saved = None     # (uv, alpha) of the last forward, for backward

    @staticmethod
    def _check_views(views):
        if isinstance(views, (str, bytes)) or not hasattr(views, "__len__"):
            raise ValueError(f"mesh_view: views must be a non-empty list of 4x4 modelview matrices or None, got "
                             f"{type(views).__name__}")
        if len(views) == 0:
            raise ValueError("mesh_view: views is empty; pass at least one 4x4 modelview matrix, or views=None for "
                             "random ones")
        out = []
        for k, v in enumerate(views):
            m = np.asarray(v)
            if m.shape != (4, 4) or not np.issubdtype(m.dtype, np.number) or not np.isfinite(m).all():
                raise ValueError(f"mesh_view: views[{k}] must be a finite 4x4 modelview matrix, got shape "
                                 f"{m.shape}")
            out.append(m.astype(np.float64))
        return out

    @staticmethod
    def _check_background(background, c):
        if isinstance(background, str):
            if background != "random":
                raise ValueError(f"mesh_view: background must be a number, a colour of {c} numbers or 'random', "
                                 f"got {background!r}")
            if c != 3:
                raise ValueError(f"mesh_view: a random background needs an RGB texture, got {c} channels")
            return background
        bg = np.asarray(background, np.float32)
        if bg.ndim > 1 or (bg.ndim == 1 and bg.shape[0] != c) or not np.isfinite(bg).all():
            raise ValueError(f"mesh_view: background must be a number, a colour of {c} numbers or 'random', "
                             f"got {background!r}")
        return bg

    # ---- randomness ------------------------------------------------------------------------------------
    def initialize(self, rng):
        """Called by ParamGraph.initialize with the run's generator: the views get their own stream from it."""
        self._rng = rng.spawn(1)[0]
        self._view_index = 0
        self._pending = None

    def _draw(self):
        from lucid_fast.misc.gl import meshutil

        if self._rng is None:
            raise RuntimeError("mesh_view is not initialized: run it through render_vis / make_vis_T")
        if self.views is not None:
            modelview = self.views[self._view_index % len(self.views)]
            self._view_index += 1
        else:
            modelview = meshutil.sample_view(self.min_dist, self.max_dist, rng=self._rng)
        bg = self.background
        if isinstance(bg, str):
            from lucid_fast.optvis.transform import CollapseAlphaRandom

            bg = CollapseAlphaRandom(RANDOM_BACKGROUND_SD).background((1,) + self.shape[1:3] + (3,), self._rng)
        return modelview, bg

    # ---- the stage --------------------------------------------------------------------------------------
    def fragments(self, modelview):
        """The renderer's (h, w, 4) fragments of the mesh seen through ``modelview``."""
        return self.renderer.render_mesh(modelview=modelview, **self.mesh)

    def composite(self, texture, modelview, background):
        """The texture seen through ``modelview`` over ``background``; returns (view, uv, alpha)."""
        frags = self.fragments(modelview)
        uv = np.ascontiguousarray(frags[None, ..., :2])
        alpha = np.ascontiguousarray(frags[None, ..., 3:4])
        sampled = ops.sample_bilinear(np.ascontiguousarray(texture, np.float32), uv)
        out = ops.empty_aligned(self.shape)
        np.subtract(sampled, background, out=out)
        out *= alpha
        out += background
        return out, uv, alpha

    def forward(self, texture):
        if self._pending is None:
            self._pending = self._draw()
        modelview, bg = self._pending
        out, uv, alpha = self.composite(texture, modelview, bg)
        self._saved = (uv, alpha)
        self.last_view = modelview
        return out

    def backward(self, grad_out, texture):
        uv, alpha = self._saved
        self._pending = None  # this view has been used: the next forward draws a new one
        grad_sampled = ops.empty_aligned(self.shape)
        np.multiply(grad_out, alpha, out=grad_sampled)
        return (ops.sample_bilinear_adjoint(grad_sampled, uv, (self.tex_h, self.tex_w), batch=self.shape[0]),)

    # ---- looking at the result --------------------------------------------------------------------------
    def texture(self):
        """The texture parameterization's current value, (N, H, W, C) (a copy)."""
        from .core import ParamGraph

        return np.array(ParamGraph(self.inputs[0]).forward())

    def render(self, modelview, background=None):
        """The current texture seen through ``modelview`` (without drawing from the run's views), over
        ``background`` (default: the node's own; a random one shows as mid grey here)."""
        bg = self.background if background is None else self._check_background(background, self.shape[-1])
        if isinstance(bg, str):
            bg = np.float32(0.5)
        return self.composite(self.texture(), np.asarray(modelview, np.float64), bg)[0]


def mesh_view(texture, mesh, renderer, min_dist=DEFAULT_DIST[0], max_dist=DEFAULT_DIST[1], background=0.0,
              views=None):
    """A parameterization that renders a texture parameterization on a mesh, from a random view each step.

    Args:
        texture: the texture parameterization, NHWC (e.g. ``param.image(1024)``; a batch renders every item
            from the same view, e.g. ``param.concat([param.image(1024), reference[None]], axis=0)``).
        mesh: Lucid's mesh dict with ``position``, ``uv`` and ``face`` (``lucid_fast.misc.gl.meshes``,
            ``meshutil.load_obj``), normalized into [-1, 1]^3 for the default camera distances.
        renderer: a ``lucid_fast.misc.gl.glrenderer.MeshRenderer``; its size is the view's size.
        min_dist, max_dist: camera distance range of the random views (``meshutil.sample_view``; Lucid's
            notebooks: 10-12 and 11-13 with the renderer's 10 degree field of view).
        background: what uncovered pixels show: a number or a colour (Lucid's notebooks: 0, black), or "random":
            a fresh smooth random image every step (as ``transform.collapse_alpha_random``), which keeps the
            optimization from relying on the object's silhouette against a fixed colour.
        views: optional fixed, non-empty list of finite 4x4 modelview matrices used in turn instead of random
            ones.

    Raises:
        ValueError: a texture that is not NHWC, a mesh without position, uv or triangles (or with NaN, or face
            indices out of range), bad distances or background, an empty ``views`` or one that is not 4x4.

    Returns:
        A :class:`MeshView` node of shape (N, h, w, C): ``texture`` sampled at the rasterized UVs,
        ``alpha * sampled + (1 - alpha) * background``. ``node.texture()`` is the current texture and
        ``node.render(modelview)`` a view of it from a given camera.

    Example:
        >>> from lucid_fast.misc.gl import glrenderer, meshes
        >>> view = mesh_view(param.image(512), meshes.torus(), glrenderer.MeshRenderer((224, 224)))
        >>> render.render_vis(model, "block4_conv3:100", view, transforms=[], seed=0)  # doctest: +SKIP
    """
    return MeshView(texture, mesh, renderer, min_dist, max_dist, background, views)
