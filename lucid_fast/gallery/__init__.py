"""Whole-layer and whole-model galleries: every channel of a layer rendered as one resumable job, on this machine
or a Dask cluster, published as a static site; and the sprite sheets other views build on.

    from lucid_fast import gallery

    gallery.run("vgg16_hed", ["block1_conv2"], "out/", size=128, steps=512)        # resumable, writes out/site/
    gallery.run("vgg16_hed", "all", "out/", workers=2)                             # a Dask LocalCluster
    gallery.run("vgg16_hed", "all", "out/", scheduler="tcp://10.0.0.1:8786")        # an existing cluster
    sheet = gallery.channel_sprites("vgg16_hed", "block3_conv1", range(32), size=64)  # cached under ~/.cache

The command line is ``lucid-fast gallery`` (see ``lucid-fast gallery --help``); docs/GALLERY.md has the design,
the measurements and the plan for a cluster of machines.
"""
from .job import GalleryError, GalleryResult, read_log, resolve_layers, run
from .settings import DEFAULT_BATCH, Settings, parse_channels, plan_units
from .sprites import SpriteSheet, channel_sprites, default_cache_dir
from .store import GalleryMismatchError, GalleryStore, atomic_write


def build_site(out):
    """(Re)builds ``out/site/`` from the gallery in ``out``; returns the path of its index.html."""
    from .site import build_site as _build

    return _build(out)


__all__ = ["run", "GalleryResult", "GalleryError", "GalleryMismatchError", "GalleryStore", "Settings",
           "DEFAULT_BATCH", "SpriteSheet", "channel_sprites", "default_cache_dir", "build_site", "parse_channels",
           "plan_units", "read_log", "resolve_layers", "atomic_write"]
