"""Bilinear upsampling (lowres tensors): validation and CPU/GPU dispatch for csrc/include/lucid_fast/upsample.h.

Imported as ``lucid_fast._bindings.op_upsample`` (source: bindings/op_upsample.py), public through lucid_fast.ops.
The op's other files (header, CPU and CUDA drivers, binding, tests): bindings/README.md.
"""
import numpy as np

from . import checks

# UpsampleParams of csrc/include/lucid_fast/upsample.h, the record CuPy passes to the kernels by value; checked field
# by field against the compiled struct (names, offsets, sizes, types): tests/ops/test_param_layouts.py.
UPSAMPLE_PARAMS_DTYPE = np.dtype([("n", np.int32), ("ho", np.int32), ("wo", np.int32), ("c", np.int32),
                                  ("n_low", np.int32), ("h_low", np.int32), ("w_low", np.int32),
                                  ("c_low", np.int32), ("scale_y", np.float32), ("scale_x", np.float32)])


def _scales(low_hw, out_hw):
    """TF's resize scales: float32(in) / float32(out) per axis."""
    return (float(np.float32(low_hw[0]) / np.float32(out_hw[0])),
            float(np.float32(low_hw[1]) / np.float32(out_hw[1])))


def _broadcast_size(op, name, value, low, what):
    """The full batch/channel count for a low-res count `low`: `value` (None = low) if low is 1 or equal."""
    if value is None:
        return low
    value = checks.check_positive_int(op, name, value)
    if low not in (1, value):
        raise ValueError(f"{op}: {name}={value} needs a low-res {what} of 1 or {value}, got {low}")
    return value


def _low_size(op, name, value, full):
    """The low-res batch/channel count for a full count `full`: `value` (None = full), which must be 1 or full."""
    if value is None:
        return full
    value = checks.check_positive_int(op, name, value)
    if value not in (1, full):
        raise ValueError(f"{op}: {name} must be 1 or {full} (the cotangent's size on that axis), got {value}")
    return value


def _run(direction, xp_name, src, full_shape, low_shape):
    """Runs the forward ("fwd": low -> full, a gather) or the adjoint ("adj": full -> low, a scatter into a
    zeroed buffer on the GPU; the CPU driver owns its output) on the source array's device."""
    n, ho, wo, c = full_shape
    n_low, h_low, w_low, c_low = low_shape
    scale_y, scale_x = _scales((h_low, w_low), (ho, wo))
    dst_shape = full_shape if direction == "fwd" else low_shape
    if xp_name == "numpy":
        from . import _cpu

        dst = checks.empty_aligned(dst_shape)
        getattr(_cpu, "upsample_" + direction)(src, dst, scale_y, scale_x)
        return dst
    import cupy

    from . import cupy_module

    dst = (cupy.empty if direction == "fwd" else cupy.zeros)(dst_shape, dtype=cupy.float32)
    p = cupy_module.params_struct(UPSAMPLE_PARAMS_DTYPE, n=n, ho=ho, wo=wo, c=c, n_low=n_low, h_low=h_low,
                                  w_low=w_low, c_low=c_low, scale_y=scale_y, scale_x=scale_x)
    npix = n * ho * wo
    cupy_module.launch("lf_upsample_" + direction, npix, (p, src, dst, np.int64(npix)))
    return dst


def upsample_bilinear(x_low, out_hw, batch=None, channels=None):
    """Resizes an NHWC tensor bilinearly, as TF2 ``tf.image.resize(x, out_hw, "bilinear")``.

    Lucid's ``lowres_tensor`` parameterization: a low-resolution variable, upsampled to the image size.

    Args:
        x_low: float32 array (Nl, h, w, Cl), numpy (CPU) or cupy (GPU), C-contiguous.
        out_hw: (H, W) of the output, any positive sizes (downsampling uses the same formula, see Convention).
        batch: output batch N; Nl must be 1 (broadcast to every item) or N. Defaults to Nl.
        channels: output channels C; Cl must be 1 (broadcast to every channel) or C. Defaults to Cl.

    Returns:
        float32 array (N, H, W, C) on x_low's device (64-byte aligned on the CPU).

    Shape:
        (Nl, h, w, Cl) -> (N, H, W, C), with Nl in {1, N} and Cl in {1, C}.

    Convention:
        - Half-pixel centres, no antialiasing: output pixel (i, j) samples the input at index coordinates
          ((j + 0.5) * w / W - 0.5, (i + 0.5) * h / H - 0.5), scales rounded to float32, and the bilinear taps
          are clamped to the input (TF's ResizeBilinear with half_pixel_centers=True). When downsampling,
          this samples without low-pass filtering (antialias=False), so it aliases.
        - Lucid resized with TF1's ``tf.image.resize_bilinear`` (no half-pixel centres: it samples at
          j * w / W, shifting the image by up to half a low-res pixel towards the top-left) and resized
          every axis of its n-d tensor: a batch or channel axis of size 1 went to N/C by repetition, which is
          what ``batch``/``channels`` do here. Resizing a batch or channel axis between other sizes is not
          supported. Lucid's ``offset`` (a symmetric pad then a crop) is not part of this op.
    """
    op = "upsample_bilinear"
    xp_name = checks.backend_of(op, x_low=x_low)
    checks.check_nhwc(op, "x_low", x_low)
    n_low, h_low, w_low, c_low = x_low.shape
    ho, wo = checks.check_hw(op, "out_hw", out_hw)
    n = _broadcast_size(op, "batch", batch, n_low, "batch")
    c = _broadcast_size(op, "channels", channels, c_low, "channel count")
    return _run("fwd", xp_name, x_low, (n, ho, wo, c), (n_low, h_low, w_low, c_low))


def upsample_bilinear_adjoint(grad_out, low_hw, low_batch=None, low_channels=None):
    """The adjoint (transpose) of ``upsample_bilinear`` with respect to x_low.

    Args:
        grad_out: float32 array (N, H, W, C), numpy or cupy, C-contiguous: the cotangent of the output.
        low_hw: (h, w) of x_low.
        low_batch: x_low's batch Nl, 1 or N (defaults to N); with 1 the gradient is summed over the batch.
        low_channels: x_low's channel count Cl, 1 or C (defaults to C); with 1 it is summed over channels.

    Returns:
        float32 array (Nl, h, w, Cl): the gradient with respect to x_low (64-byte aligned on the CPU).

    Shape:
        (N, H, W, C) -> (Nl, h, w, Cl).

    Convention:
        As ``upsample_bilinear``; each output pixel's cotangent is scattered onto the same 4 taps, with the
        same weights, that the forward gathered from (TF's ResizeBilinearGrad computes the same transpose).
    """
    op = "upsample_bilinear_adjoint"
    xp_name = checks.backend_of(op, grad_out=grad_out)
    checks.check_nhwc(op, "grad_out", grad_out)
    n, ho, wo, c = grad_out.shape
    h_low, w_low = checks.check_hw(op, "low_hw", low_hw)
    n_low = _low_size(op, "low_batch", low_batch, n)
    c_low = _low_size(op, "low_channels", low_channels, c)
    return _run("adj", xp_name, grad_out, (n, ho, wo, c), (n_low, h_low, w_low, c_low))

