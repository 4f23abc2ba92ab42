"""Utilities: ``misc.io`` (Lucid's load, save, show by extension, for paths and URLs; ``show.textured_mesh``),
``misc.gl`` (headless OpenGL rendering of textured meshes), ``misc.mesh_viewer`` (the three.js viewer),
``misc.tfutil`` (Lucid's session helper, which names the TF2 way), ``misc.notebook`` (run caps)."""
