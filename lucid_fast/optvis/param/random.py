"""Random images that are redrawn at every step (Lucid's ``optvis.param.random``).

``image_sample`` is not optimized: it is a fresh random smooth image each time the parameterization runs
forward (every step, and every time the image is read, as Lucid's ``tf.random_normal`` was re-evaluated on every
``sess.run``). Its draws come from the run's generator, so ``render_vis(..., seed=)`` fixes them. Typical use: a
random background that an RGBA image is composited onto (Lucid's transparency notebook).
"""
import numpy as np

from lucid_fast import ops

from .color import to_valid_rgb
from .core import Node

DEFAULT_SD = 0.01  # Lucid's rand_fft_image default


class RandFFTImage(Node):
    """A Fourier image whose spectrum is a new draw of N(0, sd^2) at every forward (no parameters)."""


    def __init__(self, shape, sd, decay_power):
        shape = tuple(shape)
        if len(shape) != 4 or any(isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 1 for s in shape):
            raise ValueError(f"rand_fft_image: shape must be (batch, height, width, channels) of positive ints, got "
                             f"{shape!r}")
        if not (isinstance(sd, (int, float, np.floating)) and np.isfinite(sd) and sd >= 0):
            raise ValueError(f"rand_fft_image: sd must be a finite number >= 0, got {sd!r}")
        self.shape = tuple(int(s) for s in shape)
        self.sd, self.decay_power = float(sd), decay_power
        self.rng = None

    def initialize(self, rng):
        self.rng = rng

    def forward(self):
        if self.rng is None:
            raise RuntimeError("image_sample is not initialized: run it through render_vis / make_vis_T")
        b, h, w, c = self.shape
        wf = ops.rfft2d_freqs(h, w).shape[1]
        spec = ops.empty_aligned((2, b, c, h, wf))
        spec[...] = self.rng.normal(0.0, self.sd, size=spec.shape)
        return ops.fft_image(spec, h, w, decay_power=self.decay_power)

    def backward(self, grad_out):
        return ()


def rand_fft_image(shape, sd=None, decay_power=1):
    """A random smooth image, redrawn every step: Lucid's Fourier image with a random spectrum (raw values, not
    yet mapped to colours). Shape: (batch, height, width, channels)."""
    return RandFFTImage(shape, DEFAULT_SD if sd is None else sd, decay_power)


def image_sample(shape, decorrelate=True, sd=None, decay_power=1):
    """A random smooth image in [0, 1], redrawn every step (:func:`rand_fft_image` through ``to_valid_rgb``).

    Lucid's transparency notebook composites onto ``image_sample([1, h, w, 3], sd=0.2, decay_power=1.5)``.
    """
    return to_valid_rgb(rand_fft_image(shape, sd=sd, decay_power=decay_power), decorrelate=decorrelate)


__all__ = ["image_sample", "rand_fft_image", "RandFFTImage"]
