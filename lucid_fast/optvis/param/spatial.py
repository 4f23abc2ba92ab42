"""Spatial parameterizations: pixels, Lucid's Fourier basis, low-resolution tensors, Laplacian pyramids."""
import numpy as np

from lucid_fast import ops
from lucid_fast._bindings import checks
from lucid_fast._bindings.op_spectrum import MIN_WIDTH

from .core import Node, Param, normal_init

DEFAULT_SD = 0.01  # Lucid's default init scale for every spatial parameterization


def _check_shape(fn, shape):
    try:
        dims = tuple(shape)
    except TypeError:
        dims = ()
    if len(dims) != 4 or any(isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 1 for s in dims):
        raise ValueError(f"{fn}: shape must be (batch, height, width, channels) of positive ints, got {shape!r}")
    return tuple(checks.check_positive_int(fn, "shape", s) for s in dims)


def _check_sd(fn, sd):
    """The init scale: None (DEFAULT_SD) or a finite number >= 0."""
    if sd is None:
        return DEFAULT_SD
    return checks.check_finite_scalar(fn, "sd", sd, minimum=0.0)


def pixel_image(shape, sd=None, init_val=None):
    """A naive parameterization: the pixels themselves, N(0, sd^2) initialized (sd defaults to 0.01).

    Shape: (batch, height, width, channels). ``init_val`` replaces the random init.
    """
    shape = _check_shape("pixel_image", shape)
    sd = _check_sd("pixel_image", sd)
    return Param(shape, normal_init(shape, sd), init_val, name="pixel_image")


class FFTImage(Node):
    """Native stage: a real/imaginary spectrum (2, B, C, h, wf) to an NHWC image (ops.fft_image)."""

    def __init__(self, spectrum, h, w, decay_power):
        self.inputs = (spectrum,)
        b, c = spectrum.shape[1], spectrum.shape[2]
        self.h, self.w, self.decay_power = h, w, decay_power
        self.shape = (b, h, w, c)

    def forward(self, spec):
        return ops.fft_image(spec, self.h, self.w, decay_power=self.decay_power)

    def backward(self, grad_out, spec):
        return (ops.fft_image_adjoint(np.ascontiguousarray(grad_out), self.h, self.w, decay_power=self.decay_power),)


def fft_image(shape, sd=None, decay_power=1, init_val=None):
    """Lucid's Fourier parameterization: a spectrum scaled by 1/frequency**decay_power, inverse real FFT.

    Shape: (batch, height, width, channels) of the image; the optimized spectrum has shape
    (2, batch, channels, height, wf) with wf = width//2 + 1 (+1 for odd widths, as Lucid).
    """
    b, h, w, c = _check_shape("fft_image", shape)
    if w < MIN_WIDTH:
        raise ValueError(f"fft_image: the width must be >= {MIN_WIDTH} (Lucid's spectrum of a 1-pixel-wide image "
                         f"has no inverse FFT), got shape {shape!r}; use pixel_image for it")
    decay_power = checks.check_decay_power("fft_image", decay_power, h, w)
    wf = ops.rfft2d_freqs(h, w).shape[1]
    spec_shape = (2, b, c, h, wf)
    sd = _check_sd("fft_image", sd)
    spectrum = Param(spec_shape, normal_init(spec_shape, sd), init_val, name="fft_image spectrum")
    return FFTImage(spectrum, h, w, decay_power)


class Upsample(Node):
    """Native stage: bilinear upsampling of a low-resolution (b_low in {1, B}) tensor to (B, H, W, C)."""

    def __init__(self, low, shape):
        self.inputs = (low,)
        self.shape = tuple(shape)
        self.low_shape = low.shape

    def forward(self, low):
        return ops.upsample_bilinear(low, self.shape[1:3], batch=self.shape[0])

    def backward(self, grad_out, low):
        return (ops.upsample_bilinear_adjoint(np.ascontiguousarray(grad_out), self.low_shape[1:3],
                                              low_batch=self.low_shape[0]),)


class Offset(Node):
    """Lucid's lowres_tensor offset: shift each axis by ``pad`` with symmetric edges (pad then crop)."""

    def __init__(self, a, offsets):
        self.inputs = (a,)
        self.shape = a.shape
        self.index = []
        for n, pad in zip(a.shape, offsets):
            i = np.arange(n) - pad
            i = np.where(i < 0, -i - 1, i)  # SYMMETRIC: -1 -> 0, -2 -> 1, ...
            self.index.append(np.clip(i, 0, n - 1))

    def forward(self, a):
        out = ops.empty_aligned(self.shape)
        out[...] = a[np.ix_(*self.index)]
        return out

    def backward(self, grad_out, a):
        g = np.zeros(self.shape, np.float32)
        np.add.at(g, np.ix_(*self.index), grad_out)
        return (g,)


def lowres_tensor(shape, underlying_shape, offset=None, sd=None):
    """A tensor parameterized by a lower-resolution one, bilinearly upsampled (Lucid's lowres_tensor).

    Shape: both (batch, height, width, channels). The underlying batch must be 1 (shared across the batch)
    or equal the batch; channels must match. Unlike Lucid's n-d resize, lucid_fast interpolates only the
    spatial axes (batch and channels are shared or equal, which is how Lucid's notebooks use it), with
    TF2 half-pixel-centre bilinear sampling. ``offset`` follows Lucid: None/False no shift, True half a
    low-res cell, an int or a per-axis list of ints.
    """
    shape = _check_shape("lowres_tensor", shape)
    underlying_shape = _check_shape("lowres_tensor", underlying_shape)
    sd = _check_sd("lowres_tensor", sd)
    if underlying_shape[0] not in (1, shape[0]):
        raise ValueError(f"lowres_tensor: underlying batch must be 1 or {shape[0]}, got {underlying_shape}")
    if underlying_shape[3] != shape[3]:
        raise ValueError(f"lowres_tensor: underlying channels must equal {shape[3]}, got {underlying_shape}")
    low = Param(underlying_shape, normal_init(underlying_shape, sd), name="lowres_tensor")
    t = Upsample(low, shape)
    if offset is not None and offset is not False:
        offs = offset if isinstance(offset, (list, tuple)) else [offset] * 4
        if len(offs) != 4:
            raise ValueError(f"lowres_tensor: offset must be a scalar or 4 entries, got {offset!r}")
        ints = []
        for n, (s, u, o) in enumerate(zip(shape, underlying_shape, offs)):
            if o is True:
                o = int(s / u / 2)  # Lucid: half a low-resolution cell, truncated
            elif o is False or o is None:
                o = 0
            elif isinstance(o, bool) or not isinstance(o, (int, np.integer)):
                raise ValueError(f"lowres_tensor: offset entries must be ints, True, False or None, got {o!r}")
            ints.append(int(o))
        if any(ints):
            t = Offset(t, ints)
    return t


def laplacian_pyramid_image(shape, n_levels=4, sd=None):
    """A sum of lowres_tensors at 1, 1/2, 1/4, ... resolution (Lucid's laplacian_pyramid_image)."""
    b, h, w, c = _check_shape("laplacian_pyramid_image", shape)
    n_levels = checks.check_positive_int("laplacian_pyramid_image", "n_levels", n_levels, maximum=64)
    pyramid = None
    for n in range(n_levels):
        k = 2 ** n
        level = lowres_tensor((b, h, w, c), (b, max(h // k, 1), max(w // k, 1), c), sd=sd)
        pyramid = level if pyramid is None else pyramid + level
    return pyramid
