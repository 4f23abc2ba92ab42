"""Lucid's Fourier image parameterization and its exact adjoint, for csrc/include/lucid_fast/spectrum.h.

The FFTs are library calls (``scipy.fft`` on the CPU, ``cupy.fft``/cuFFT on the GPU); the scaling and the
layout around them are the native kernels. Nothing else runs on the hot path.

Imported as ``lucid_fast._bindings.op_spectrum`` (source: bindings/op_spectrum.py), public through lucid_fast.ops.
The op's other files (header, CPU and CUDA drivers, binding, tests): bindings/README.md.
"""
import os

import numpy as np

from . import checks

# Lucid param/spatial.py fft_image ends with `image_t / 4.0` (its own comment asks whether that is a magic
# constant); kept so that a spectrum gives the image Lucid would render from it.
FFT_IMAGE_OUTPUT_SCALE = 0.25

# Narrowest image fft_image accepts: for w = 1 Lucid's spectrum has one column, which leaves irfft2d no
# valid length along the width (2 * (1 - 1) = 0).
MIN_WIDTH = 2

# SpectrumParams of csrc/include/lucid_fast/spectrum.h, the record CuPy passes to the kernels by value; checked field
# by field against the compiled struct (names, offsets, sizes, types): tests/ops/test_param_layouts.py.
SPECTRUM_PARAMS_DTYPE = np.dtype([("b", np.int32), ("c", np.int32), ("h", np.int32), ("w", np.int32),
                                  ("wf", np.int32), ("wp", np.int32), ("decay_power", np.float32),
                                  ("out_scale", np.float32)])


def spectrum_width(w):
    """Columns of the stored half spectrum for an image of width w: w//2+1 (even w), w//2+2 (odd w).

    Lucid keeps one more column than numpy's rfft for odd widths and crops the extra image column.
    """
    return w // 2 + 1 + (w % 2)


def rfft2d_freqs(h, w):
    """Frequency magnitudes of the stored half spectrum, as Lucid's ``param.spatial.rfft2d_freqs``.

    Args:
        h: image height (int >= 1).
        w: image width (int >= 1).

    Returns:
        float64 numpy array (h, spectrum_width(w)): ``sqrt(fx**2 + fy**2)`` with
        ``fy = np.fft.fftfreq(h)[:, None]`` and ``fx = np.fft.fftfreq(w)[:spectrum_width(w)]``.

    Convention:
        For odd w the extra column is ``fftfreq(w)[w//2+1]``, the most negative frequency, whose magnitude
        equals that of the column before it. For w = 1 the slice holds the single frequency 0 (shape (h, 1)),
        as in Lucid; fft_image itself needs w >= 2.
    """
    h = checks.check_positive_int("rfft2d_freqs", "h", h)
    w = checks.check_positive_int("rfft2d_freqs", "w", w)
    fy = np.fft.fftfreq(h)[:, None]
    fx = np.fft.fftfreq(w)[:spectrum_width(w)]
    return np.sqrt(fx * fx + fy * fy)


def _fft_workers():
    """Threads for scipy.fft: the CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _params(b, c, h, w, decay_power):
    """The SpectrumParams fields, as a dict."""
    wf = spectrum_width(w)
    return dict(b=b, c=c, h=h, w=w, wf=wf, wp=2 * (wf - 1), decay_power=decay_power,
                out_scale=FFT_IMAGE_OUTPUT_SCALE)


def fft_image(spectrum, h, w, decay_power=1.0):
    """Image from Fourier coefficients, as Lucid's ``param.spatial.fft_image`` computes it from its variable.

    Args:
        spectrum: float32 array (2, B, C, h, spectrum_width(w)), numpy (CPU) or cupy (GPU), C-contiguous:
            the real parts in ``spectrum[0]``, the imaginary parts in ``spectrum[1]``.
        h: image height (int >= 1).
        w: image width (int >= MIN_WIDTH = 2).
        decay_power: exponent of the frequency falloff (Lucid's ``decay_power``; 1 by default). Values whose
            largest scale ``max(h, w)**decay_power * sqrt(h*w)`` passes checks.MAX_SPECTRUM_SCALE (1e30) raise
            ValueError: float32 would overflow and the image would be NaN.

    Returns:
        float32 array (B, h, w, C) on the spectrum's device (64-byte aligned on the CPU).

    Shape:
        spectrum (2, B, C, h, wf) -> image (B, h, w, C), wf = w//2+1 (even w) or w//2+2 (odd w).

    Convention:
        ``image = FFT_IMAGE_OUTPUT_SCALE * crop(irfft2(scale * (re + i*im)))`` in NHWC, with
        ``scale = sqrt(h*w) / max(rfft2d_freqs(h, w), 1/max(h, w))**decay_power``. irfft2 has length h along
        the height and ``2*(wf-1)`` along the width (w, or w+1 for odd w, whose last column is cropped), as
        ``tf.signal.irfft2d`` infers it. As with any c2r transform, only the Hermitian part of the DC and
        Nyquist columns matters (the imaginary part of Z[0, 0] is ignored, for instance).
    """
    op = "fft_image"
    xp_name = checks.backend_of(op, spectrum=spectrum)
    h = checks.check_positive_int(op, "h", h)
    w = checks.check_positive_int(op, "w", w, minimum=MIN_WIDTH)
    decay_power = checks.check_decay_power(op, decay_power, h, w)
    checks.check_array(op, "spectrum", spectrum, ndim=5, shape=(2, None, None, h, spectrum_width(w)))
    _, b, c, _, wf = spectrum.shape
    params = _params(b, c, h, w, decay_power)
    wp = params["wp"]
    if xp_name == "numpy":
        import scipy.fft

        from . import _cpu

        z_np = checks.empty_aligned((b, c, h, wf), dtype=np.complex64)
        _cpu.spectrum_scale_fwd(spectrum, z_np.view(np.float32), w, decay_power)
        # not overwrite_x: scipy's in-place c2r path measured slower here (2.8 ms vs 1.7 ms at 4x3x224x224)
        planar_np = scipy.fft.irfft2(z_np, s=(h, wp), axes=(-2, -1), workers=_fft_workers())
        image_np = checks.empty_aligned((b, h, w, c))
        _cpu.spectrum_layout_fwd(planar_np, image_np, FFT_IMAGE_OUTPUT_SCALE)
        return image_np
    import cupy

    from . import cupy_module

    p = cupy_module.params_struct(SPECTRUM_PARAMS_DTYPE, **params)
    z_cp = cupy.empty((b, c, h, wf), dtype=cupy.complex64)
    cupy_module.launch("lf_spectrum_scale_fwd", h * wf, (p, spectrum, z_cp, np.int64(h * wf)))
    planar_cp = cupy.ascontiguousarray(cupy.fft.irfft2(z_cp, s=(h, wp), axes=(-2, -1)))
    image_cp = cupy.empty((b, h, w, c), dtype=cupy.float32)
    n = b * h * w
    cupy_module.launch("lf_spectrum_layout_fwd", n, (p, planar_cp, image_cp, np.int64(n)))
    return image_cp


def fft_image_adjoint(grad_image, h, w, decay_power=1.0):
    """Exact transpose of :func:`fft_image`: the gradient w.r.t. the spectrum given one w.r.t. the image.

    Args:
        grad_image: float32 array (B, h, w, C), numpy (CPU) or cupy (GPU), C-contiguous: the cotangent of
            fft_image's output.
        h: image height (int >= 1), must match grad_image.
        w: image width (int >= 2), must match grad_image.
        decay_power: as passed to fft_image.

    Returns:
        float32 array (2, B, C, h, wf) on grad_image's device (64-byte aligned on the CPU), wf as in
        fft_image: the real-part gradient in ``[0]``, the imaginary-part gradient in ``[1]``.

    Shape:
        grad_image (B, h, w, C) -> grad_spectrum (2, B, C, h, wf).

    Convention:
        ``grad_Z = scale * FFT_IMAGE_OUTPUT_SCALE * c_k / (h * wp) * rfft2(zero-padded grad_image)`` with
        c_k = 1 in the DC and Nyquist (last) columns and 2 elsewhere, wp = 2*(wf-1): for the real-linear
        map Z -> irfft2(Z), the transpose of the c2r irfft along the width is c_k/wp * rfft and that of the
        ifft along the height is (1/h) fft. <fft_image(s), g> == <s, fft_image_adjoint(g)> exactly.
    """
    op = "fft_image_adjoint"
    xp_name = checks.backend_of(op, grad_image=grad_image)
    h = checks.check_positive_int(op, "h", h)
    w = checks.check_positive_int(op, "w", w, minimum=MIN_WIDTH)
    decay_power = checks.check_decay_power(op, decay_power, h, w)
    checks.check_array(op, "grad_image", grad_image, ndim=4, shape=(None, h, w, None))
    b, _, _, c = grad_image.shape
    params = _params(b, c, h, w, decay_power)
    wf, wp = params["wf"], params["wp"]
    if xp_name == "numpy":
        import scipy.fft

        from . import _cpu

        planar_np = checks.empty_aligned((b, c, h, wp))
        _cpu.spectrum_layout_adj(grad_image, planar_np, FFT_IMAGE_OUTPUT_SCALE)
        grad_z_np = scipy.fft.rfft2(planar_np, axes=(-2, -1), overwrite_x=True, workers=_fft_workers())
        grad_spectrum_np = checks.empty_aligned((2, b, c, h, wf))
        _cpu.spectrum_scale_adj(grad_z_np.view(np.float32), grad_spectrum_np, w, decay_power)
        return grad_spectrum_np
    import cupy

    from . import cupy_module

    p = cupy_module.params_struct(SPECTRUM_PARAMS_DTYPE, **params)
    planar_cp = cupy.empty((b, c, h, wp), dtype=cupy.float32)
    n = b * c * h * wp
    cupy_module.launch("lf_spectrum_layout_adj", n, (p, grad_image, planar_cp, np.int64(n)))
    grad_z_cp = cupy.ascontiguousarray(cupy.fft.rfft2(planar_cp, axes=(-2, -1)))
    grad_spectrum_cp = cupy.empty((2, b, c, h, wf), dtype=cupy.float32)
    cupy_module.launch("lf_spectrum_scale_adj", h * wf, (p, grad_z_cp, grad_spectrum_cp, np.int64(h * wf)))
    return grad_spectrum_cp
