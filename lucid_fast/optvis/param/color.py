"""Colour: Lucid's decorrelated colour space and the map to valid RGB, as one native stage."""
import numpy as np

from lucid_fast import ops

from .core import Node

# Lucid's names for the colour constants (param/color.py), as used by its notebooks.
#: The square root of ImageNet's colour correlation matrix (from its SVD); to_valid_rgb maps decorrelated
#: colours ``t`` to RGB as ``t @ (color_correlation_svd_sqrt / max_norm_svd_sqrt).T``.
color_correlation_svd_sqrt = ops.COLOR_CORRELATION_SVD_SQRT
#: The largest column norm of color_correlation_svd_sqrt.
max_norm_svd_sqrt = np.float32(np.max(np.linalg.norm(color_correlation_svd_sqrt, axis=0)))
#: ImageNet's mean RGB colour, added before the clip when ``sigmoid=False``.
color_mean = [round(float(v), 6) for v in ops.COLOR_MEAN]  # [0.48, 0.46, 0.41]


class ToValidRGB(Node):
    device_kinds = ("cpu", "cuda")

    def __init__(self, t, decorrelate, sigmoid):
        self.inputs = (t,)
        self.shape = t.shape
        self.decorrelate, self.sigmoid = bool(decorrelate), bool(sigmoid)

    def forward(self, x):
        return ops.device_of(x).ops.to_valid_rgb(x, decorrelate=self.decorrelate, sigmoid=self.sigmoid)

    def backward(self, grad_out, x):
        dev = ops.device_of(x, grad_out)
        return (dev.ops.to_valid_rgb_adjoint(x, dev.xp.ascontiguousarray(grad_out), decorrelate=self.decorrelate,
                                             sigmoid=self.sigmoid),)


def to_valid_rgb(t, decorrelate=False, sigmoid=True):
    """Maps a parameterization to valid colours in [0, 1] (Lucid's to_valid_rgb).

    With ``decorrelate``, the first three channels are read in Lucid's decorrelated ImageNet colour basis
    (its colour-correlation square root, normalized by its largest column norm): optimizing there spreads a
    gradient step over the colour directions natural images use, instead of over raw R, G and B. Then a
    sigmoid (or, with ``sigmoid=False``, Lucid's clip around the ImageNet colour mean) brings every channel
    into [0, 1]. Channels after the third (alpha) skip the decorrelation.
    """
    return ToValidRGB(t, decorrelate, sigmoid)
