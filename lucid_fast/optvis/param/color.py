"""Colour: Lucid's decorrelated colour space and the map to valid RGB, as one native stage."""
import numpy as np

from lucid_fast import ops

from .core import Node


class ToValidRGB(Node):
    def __init__(self, t, decorrelate, sigmoid):
        self.inputs = (t,)
        self.shape = t.shape
        self.decorrelate, self.sigmoid = bool(decorrelate), bool(sigmoid)

    def forward(self, x):
        return ops.to_valid_rgb(x, decorrelate=self.decorrelate, sigmoid=self.sigmoid)

    def backward(self, grad_out, x):
        return (ops.to_valid_rgb_adjoint(x, np.ascontiguousarray(grad_out), decorrelate=self.decorrelate,
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
