"""Headless OpenGL rendering of textured meshes (Lucid's ``misc.gl``).

* :mod:`.glrenderer`: ``MeshRenderer((w, h)).render_mesh(position, uv, face, modelview=...)`` -> per-pixel
  (u, v, 0, alpha) fragments, through moderngl and EGL (no display needed);
* :mod:`.meshutil`: camera matrices (``lookat``, ``perspective``), random views (``sample_view``), ``load_obj``,
  ``normalize_mesh``;
* :mod:`.meshes`: meshes with UVs that need no download (torus, sphere, PyVista's globe, ant and airplane);
* :mod:`.turntable`: a turntable animation of a textured mesh (GIF/MP4), rendered with the above.
"""
from . import meshutil  # noqa: F401  (numpy only; the others import their libraries when used)
