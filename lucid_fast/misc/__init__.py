"""Utilities: ``misc.io`` (load, save, show, image grids)."""
