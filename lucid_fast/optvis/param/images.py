"""``image()``: the parameterization render_vis uses by default, as in Lucid."""

from .color import to_valid_rgb
from .core import Node
from .spatial import fft_image, pixel_image


class TileChannels(Node):
    """Repeats a 1-channel parameterization to ``n`` channels (grayscale -> RGB)."""

    device_kinds = ("cpu", "cuda")

    def __init__(self, a, n):
        self.inputs = (a,)
        self.n = n
        self.shape = tuple(a.shape[:-1]) + (n,)

    def forward(self, a):
        from lucid_fast import ops

        out = ops.device_of(a).empty(self.shape)
        out[...] = a
        return out

    def backward(self, grad_out, a):
        return (grad_out.sum(axis=-1, keepdims=True),)


def _check_image_args(w, h, batch, channels):
    """image()'s sizes: w an int >= 1; h, batch and channels None (default) or ints >= 1."""
    from lucid_fast._bindings import checks

    w = checks.check_positive_int("param.image", "w", w)
    h = w if h is None else checks.check_positive_int("param.image", "h", h)
    batch = 1 if batch is None else checks.check_positive_int("param.image", "batch", batch)
    if channels is not None:
        channels = checks.check_positive_int("param.image", "channels", channels)
    return w, h, batch, channels


def image(w, h=None, batch=None, sd=None, decorrelate=True, fft=True, alpha=False, channels=None):
    """A (batch, h, w, channels) image in [0, 1]: Fourier (or pixel) parameterized, decorrelated colour.

    Args:
        w: width in pixels; h defaults to w; batch defaults to 1.
        sd: init scale of the parameters (Lucid's 0.01 by default).
        decorrelate: optimize in Lucid's decorrelated colour space.
        fft: Fourier parameterization (else plain pixels).
        alpha: add a 4th (alpha) channel, sigmoid-mapped, not decorrelated.
        channels: a channel count other than 3/4: all channels just go through a sigmoid (as Lucid).

    Raises:
        ValueError: w, h, batch or channels that are not integers >= 1 (None means the default; unlike Lucid,
            0 is an error, not the default), or a negative or non-finite sd.
    """
    w, h, batch, channels = _check_image_args(w, h, batch, channels)
    ch = channels or (4 if alpha else 3)
    shape = (batch, h, w, ch)
    t = (fft_image if fft else pixel_image)(shape, sd=sd)
    if channels:
        return to_valid_rgb(t, decorrelate=False, sigmoid=True)
    return to_valid_rgb(t, decorrelate=decorrelate, sigmoid=True)


def grayscale_image_rgb(*args, **kwargs):
    """A one-channel image repeated to RGB (takes image()'s arguments)."""
    kwargs.pop("channels", None)
    return TileChannels(image(*args, channels=1, **kwargs), 3)


__all__ = ["image", "grayscale_image_rgb"]
