"""Spatial parameterizations: pixels, Lucid's Fourier basis, low-resolution tensors, Laplacian pyramids, and
bilinear texture sampling (Lucid's ``optvis.param.spatial``)."""
import warnings

import numpy as np

from lucid_fast import ops
from lucid_fast._bindings import checks
from lucid_fast._bindings.op_spectrum import MIN_WIDTH

from .core import Node, Param, normal_init
from .lowres import Offset, Upsample, lowres_tensor  # noqa: F401  (Upsample, Offset: their old home)

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

    device_kinds = ("cpu", "cuda")

    def __init__(self, spectrum, h, w, decay_power):
        self.inputs = (spectrum,)
        b, c = spectrum.shape[1], spectrum.shape[2]
        self.h, self.w, self.decay_power = h, w, decay_power
        self.shape = (b, h, w, c)

    def forward(self, spec):
        return ops.device_of(spec).ops.fft_image(spec, self.h, self.w, decay_power=self.decay_power)

    def backward(self, grad_out, spec):
        dev = ops.device_of(spec, grad_out)
        return (dev.ops.fft_image_adjoint(dev.xp.ascontiguousarray(grad_out), self.h, self.w,
                                          decay_power=self.decay_power),)


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


def rfft2d_freqs(h, w):
    """Frequency magnitudes ``sqrt(fx^2 + fy^2)`` of the half spectrum ``fft_image`` optimizes, shape
    ``(h, w // 2 + 1)`` (one more column for odd ``w``, as Lucid keeps it); float64 numpy."""
    return ops.rfft2d_freqs(h, w)


# ---- bilinear texture sampling ----------------------------------------------------------------------------

def _tf_bilinearly_sampled_image(texture_t, uv_t):
    """TensorFlow version (the graph Lucid built): GL_REPEAT wrapping, GL_LINEAR filtering, v flipped."""
    import tensorflow as tf

    texture_t = tf.convert_to_tensor(texture_t, tf.float32)
    uv_t = tf.convert_to_tensor(uv_t, tf.float32)
    if texture_t.shape.rank != 3:
        raise ValueError(f"bilinearly_sampled_image: texture must be (tex_h, tex_w, channels), got shape "
                         f"{texture_t.shape}")
    if uv_t.shape.rank is None or uv_t.shape[-1] != 2:
        raise ValueError(f"bilinearly_sampled_image: uv must be (..., 2) texture coordinates, got shape {uv_t.shape}")
    h = tf.shape(texture_t)[0]
    w = tf.shape(texture_t)[1]
    u = uv_t[..., 0] * tf.cast(w, tf.float32) - 0.5
    v = (1.0 - uv_t[..., 1]) * tf.cast(h, tf.float32) - 0.5  # OpenGL's v runs bottom to top
    u0, v0 = tf.floor(u), tf.floor(v)
    fu, fv = (u - u0)[..., None], (v - v0)[..., None]
    u0, v0 = tf.cast(u0, tf.int32), tf.cast(v0, tf.int32)

    def tap(du, dv):  # GL_REPEAT: indices wrap around (floor modulo, so negative ones too)
        return tf.gather_nd(texture_t, tf.stack([tf.math.floormod(v0 + dv, h), tf.math.floormod(u0 + du, w)], -1))

    top = tap(0, 0) * (1.0 - fu) + tap(1, 0) * fu
    bottom = tap(0, 1) * (1.0 - fu) + tap(1, 1) * fu
    return top * (1.0 - fv) + bottom * fv


def bilinearly_sampled_image(texture, uv):
    """Samples ``texture`` at per-pixel texture coordinates ``uv`` (Lucid's ``bilinearly_sampled_image``).

    Coordinates follow OpenGL: GL_REPEAT wrapping, GL_LINEAR filtering, ``v = 0`` at the bottom row.

    Args:
        texture: ``(tex_h, tex_w, channels)``: a TF tensor or numpy array (the result is a TF tensor, and
            gradients flow to the texture through TensorFlow), or a lucid_fast parameterization (a
            :class:`~lucid_fast.optvis.param.Node`, (H, W, C) or a batch (N, H, W, C); the result is then a
            parameterization stage run by the native ``lucid_fast.ops.sample_bilinear`` kernel).
        uv: ``(..., 2)`` coordinates in [0, 1] (values outside wrap around).

    Returns:
        ``uv.shape[:-1] + (channels,)`` sampled values.
    """
    if isinstance(texture, Node):
        return _native_sampled_image(texture, uv)
    return _tf_bilinearly_sampled_image(texture, uv)


def _native_sampled_image(texture, uv):
    sample = getattr(ops, "sample_bilinear", None)
    if sample is None:
        raise NotImplementedError(
            "bilinearly_sampled_image: sampling a lucid_fast parameterization needs the native op "
            "lucid_fast.ops.sample_bilinear, which this version does not have yet (it comes with the 3D "
            "feature-visualization work). Until then, sample a TF tensor texture: pass a tf.Tensor or numpy "
            "array as `texture` (the TensorFlow path), or build the texture as a param.TFParam stage.")
    return SampleBilinear(texture, uv)


class SampleBilinear(Node):
    """Native stage: a texture parameterization, (H, W, C) or a batch (N, H, W, C), sampled at fixed UV
    coordinates by ``ops.sample_bilinear`` (its adjoint, a scatter-add, on the way back)."""

    def __init__(self, texture, uv):
        uv = np.ascontiguousarray(uv, dtype=np.float32)
        if len(texture.shape) not in (3, 4) or uv.ndim < 1 or uv.shape[-1] != 2:
            raise ValueError(f"bilinearly_sampled_image: texture must be (tex_h, tex_w, channels) or a batch of "
                             f"them and uv (..., 2); got {texture.shape} and {uv.shape}")
        self.inputs = (texture,)
        self.uv = uv
        if len(texture.shape) == 3:
            self.batch, self.tex_hw = None, tuple(texture.shape[:2])
            self.shape = tuple(uv.shape[:-1]) + (texture.shape[-1],)
        else:
            n = texture.shape[0]
            if uv.ndim < 2 or uv.shape[0] not in (1, n):
                raise ValueError(f"bilinearly_sampled_image: uv for a batch of {n} textures must be (1 or {n}, ..., "
                                 f"2), got {uv.shape}")
            self.batch, self.tex_hw = n, tuple(texture.shape[1:3])
            self.shape = (n,) + tuple(uv.shape[1:-1]) + (texture.shape[-1],)

    def forward(self, texture):
        return ops.sample_bilinear(np.ascontiguousarray(texture), self.uv)

    def backward(self, grad_out, texture):
        return (ops.sample_bilinear_adjoint(np.ascontiguousarray(grad_out, dtype=np.float32), self.uv, self.tex_hw,
                                            batch=self.batch),)


# ---- Lucid's deprecated names ------------------------------------------------------------------------------

def naive(shape, sd=None):
    """Deprecated in Lucid: ``pixel_image``."""
    warnings.warn("`naive` has been renamed `pixel_image`", DeprecationWarning, stacklevel=2)
    return pixel_image(shape, sd)


def laplacian_pyramid(shape, n_levels=4, sd=None):
    """Deprecated in Lucid: ``laplacian_pyramid_image``."""
    warnings.warn("`laplacian_pyramid` has been renamed `laplacian_pyramid_image`", DeprecationWarning,
                  stacklevel=2)
    return laplacian_pyramid_image(shape, n_levels=n_levels, sd=sd)


def sample_bilinear(texture, uv):
    """Deprecated in Lucid: ``bilinearly_sampled_image``."""
    warnings.warn("`sample_bilinear` has been renamed `bilinearly_sampled_image`", DeprecationWarning,
                  stacklevel=2)
    return bilinearly_sampled_image(texture, uv)
