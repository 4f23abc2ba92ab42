"""Total variation (value and gradient): validation and CPU/GPU dispatch for csrc/include/lucid_fast/tv.h.

Imported as ``lucid_fast._bindings.op_tv`` (source: bindings/op_tv.py), public through lucid_fast.ops.
The op's other files (header, CPU and CUDA drivers, binding, tests): bindings/README.md.
"""
import numpy as np

from . import checks

# TvParams of csrc/include/lucid_fast/tv.h, the record CuPy passes to the kernels by value; checked field
# by field against the compiled struct (names, offsets, sizes, types): tests/ops/test_param_layouts.py.
TV_PARAMS_DTYPE = np.dtype([("b", np.int32), ("h", np.int32), ("w", np.int32), ("c", np.int32),
                            ("weight", np.float32), ("accumulate", np.int32)])


def total_variation(images, weight=1.0, grad_out=None):
    """Anisotropic total variation of an NHWC batch and its gradient, as ``tf.image.total_variation`` summed.

    Args:
        images: float32 array (N, H, W, C), numpy (CPU) or cupy (GPU), C-contiguous.
        weight: scales the returned gradient (not the value); the engine passes the objective's weight.
        grad_out: optional float32 array of the images' shape; when given, ``weight * dTV/dx`` is ADDED to
            it in place and it is returned (used to fuse the TV term into the adjoint chain).

    Returns:
        (value, grad): value is a Python float, TV summed over the batch; grad has the images' shape
        (64-byte aligned on the CPU) and holds ``weight * dTV/dx`` (+ the old grad_out).

    Convention:
        TV = sum |x[:, y+1, x] - x[:, y, x]| + |x[:, y, x+1] - x[:, y, x]| over all pixels and channels;
        the gradient uses sign(0) = 0, as TensorFlow's Abs gradient does.
    """
    op = "total_variation"
    xp_name = checks.backend_of(op, images=images, grad_out=grad_out)
    checks.check_nhwc(op, "images", images)
    weight = checks.check_finite_scalar(op, "weight", weight)
    accumulate = grad_out is not None
    if accumulate:
        checks.check_array(op, "grad_out", grad_out, ndim=4, writable=True)
        checks.check_same_shape(op, "images", images, "grad_out", grad_out)
        checks.check_no_overlap(op, images=images, grad_out=grad_out)
    if xp_name == "numpy":
        from . import _cpu

        if grad_out is None:
            grad_out = checks.empty_aligned(images.shape)
        value = _cpu.tv_value_grad(images, grad_out, weight, accumulate)
        return value, grad_out
    import cupy

    from . import cupy_module

    if grad_out is None:
        grad_out = cupy.empty(images.shape, dtype=cupy.float32)
    n, h, w, c = images.shape
    p = cupy_module.params_struct(TV_PARAMS_DTYPE, b=n, h=h, w=w, c=c, weight=weight, accumulate=int(accumulate))
    value = cupy.zeros((), dtype=cupy.float64)
    size = np.int64(images.size)
    cupy_module.launch("lf_tv_value_grad", images.size, (p, images, grad_out, value, size))
    return float(value.get()), grad_out
