"""Many channels to RGB, for looking at activations (Lucid's ``misc.io.collapse_channels``).

Channel ``i`` of ``K`` gets the hue ``360 * i / K``; a pixel's colour is the activation-weighted mix of its
channels' hues, brightened where several channels are active, with the length of its activation vector as
brightness. Negative values get their own hues (``collapse_channels`` doubles the channels into positive and
negative parts).
"""
import math

import numpy as np

_PRIMARIES = np.asarray([[1, 0, 0], [1, 1, 0], [0, 1, 0], [0, 1, 1], [0, 0, 1], [1, 0, 1]], np.float64)
_PRIMARIES = _PRIMARIES / np.linalg.norm(_PRIMARIES, axis=1, keepdims=True)


def hue_to_rgb(ang, warp=True):
    """A unit RGB vector for the hue ``ang`` in degrees, blended between the six primary and secondary colours;
    ``warp`` bends the blend away from the pure colours, so evenly spaced hues look more evenly spaced."""
    ang = ang - 360 * (ang // 360)
    sector = 360 / len(_PRIMARIES)
    n = int(math.floor(ang / sector))
    d = (ang - n * sector) / sector
    if warp:
        bend = math.sin(d * math.pi / 2) if n % 2 == 0 else 1 - math.sin((1 - d) * math.pi / 2)
        d = bend
    v = (1 - d) * _PRIMARIES[n] + d * _PRIMARIES[(n + 1) % len(_PRIMARIES)]
    return v / np.linalg.norm(v)


def sparse_channels_to_rgb(X):
    """``(..., K)`` non-negative values to ``(..., 3)`` colours (see the module docstring)."""
    X = np.asarray(X, np.float64)
    if (X < 0).any():
        raise ValueError("sparse_channels_to_rgb: values must be >= 0 (use collapse_channels for signed values)")
    K = X.shape[-1]
    rgb = np.zeros(X.shape[:-1] + (3,))
    for i in range(K):
        rgb += X[..., i, None] * hue_to_rgb(360 * i / K)
    rgb += (X.sum(-1) - X.max(-1))[..., None]  # several active channels: towards white
    rgb /= 1e-4 + np.linalg.norm(rgb, axis=-1, keepdims=True)
    rgb *= np.linalg.norm(X, axis=-1, keepdims=True)
    return rgb


def collapse_channels(X):
    """``(..., K)`` values of any sign to ``(..., 3)`` colours: negative parts become channels of their own."""
    X = np.asarray(X)
    if (X < 0).any():
        X = np.concatenate([np.maximum(0, X), np.maximum(0, -X)], axis=-1)
    return sparse_channels_to_rgb(X)


__all__ = ["collapse_channels", "hue_to_rgb", "sparse_channels_to_rgb"]
