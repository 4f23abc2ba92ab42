"""Sprite sheets for other views: ``channel_sprites`` renders whatever channels the cache does not hold yet (a
gallery job in ``cache_dir/<model>/<settings>``) and returns a :class:`SpriteSheet`.

:class:`SpriteSheet` and the sheet files of a gallery directory are in :mod:`.spritesheet` (this module re-exports
them); the gallery job imports that module, not this one.
"""
from __future__ import annotations

import hashlib
import os

from .job import check_channel_syntax, check_channels, run, tool_version
from .settings import DEFAULT_BATCH, Settings
from .spritesheet import SPRITES_JSON, SPRITES_PNG, SpriteSheet, sheet_from_store, write_layer_sprites  # noqa: F401
from .store import GalleryStore


def default_cache_dir():
    env = os.environ.get("LUCID_FAST_CACHE")
    base = env if env else os.path.join(os.path.expanduser("~"), ".cache", "lucid_fast")
    return os.path.join(base, "sprites")


def channel_sprites(model, layer, channels=None, *, size=64, steps=256, batch=None, seed=0, cache_dir=None,
                    progress=False):
    """The sprite sheet of ``channels`` of ``layer`` (all when None), rendering only what the cache lacks.

    The cache is a gallery job directory per (model, settings): ``cache_dir/<model>-<weights hash>/<settings
    hash>`` (``cache_dir`` defaults to ``$LUCID_FAST_CACHE/sprites``, else ``~/.cache/lucid_fast/sprites``). A
    later call with more channels renders only the new ones; an interrupted call resumes.

    Args:
        model: a modelzoo name (``"vgg16_hed"``, ``"vgg16_hed_torch"``), a model path, a ``tf.keras.Model``, a
            ``torch.nn.Module`` in eval mode or a ``lucid_fast.models`` adapter.
        layer: the layer name.
        channels: None (the whole layer), or channel numbers (an iterable, or a string like ``"0:64"``).
        size: tile side in pixels (the render size).
        steps, batch, seed: render settings (``batch`` None: the gallery's default K).
        progress: print progress on stderr.

    Returns:
        A :class:`SpriteSheet` with the channels in the order asked (sorted for a range or None).
    """
    from .engine import ChannelBatchRenderer, model_fingerprint

    settings = Settings(size=size, steps=steps, batch=DEFAULT_BATCH if batch is None else batch, seed=seed)
    if channels is not None and not isinstance(channels, str):  # checked before the model loads
        if isinstance(channels, bool) or not (hasattr(channels, "__index__") or hasattr(channels, "__iter__")):
            raise ValueError(f"channel_sprites: channels must be None, an integer, integers or a string like "
                             f"'0:64', got {channels!r}")
        channels = [channels] if hasattr(channels, "__index__") else list(channels)
        for c in channels:
            if isinstance(c, bool) or not hasattr(c, "__index__"):
                raise ValueError(f"channel_sprites: channels must be integers (nothing is rounded), got {c!r}")
    problem = check_channel_syntax(channels)
    if problem:
        raise ValueError(f"channel_sprites: {problem}")
    renderer = ChannelBatchRenderer(model, settings)
    canon = renderer.adapter.resolve(layer)
    n = renderer.layer_channels(canon)
    if channels is None or isinstance(channels, str):
        order = check_channels(channels, n, canon)
    else:
        order = list(dict.fromkeys(c.__index__() for c in channels))
        check_channels(order, n, canon)  # validates the range
    fp = model_fingerprint(renderer.adapter)
    model_dir = f"{_safe(renderer.adapter.name)}-{fp[:12]}"
    version = tool_version()
    root = os.path.join(cache_dir or default_cache_dir(), model_dir, f"{settings.key()}-v{version}")
    run(renderer.adapter, [canon], root, channels=order, settings=settings, site=False, sprites=False,
        progress=progress)
    store = GalleryStore(root, renderer.adapter.name, fp, settings, version, create=False)
    return sheet_from_store(store, canon, order)


def _safe(name):
    s = "".join(ch if ch.isalnum() or ch in "_.-" else "_" for ch in str(name))
    return s or hashlib.sha1(str(name).encode()).hexdigest()[:8]
