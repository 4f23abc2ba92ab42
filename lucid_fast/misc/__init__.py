"""Utilities: ``misc.io`` (load, save, show, image grids; ``show.textured_mesh``), ``misc.gl`` (headless OpenGL
rendering of textured meshes), ``misc.mesh_viewer`` (the three.js viewer), ``misc.notebook`` (run caps)."""
