"""Lucid's to_valid_rgb (colour decorrelation + sigmoid or clip), fused, for csrc/include/lucid_fast/color.h.

Imported as ``lucid_fast._bindings.op_color`` (source: bindings/op_color.py), public through lucid_fast.ops.
The op's other files (header, CPU and CUDA drivers, binding, tests): bindings/README.md.
"""
import numpy as np

from . import checks

# Lucid param/color.py `color_correlation_svd_sqrt`: the square root of ImageNet's colour correlation
# matrix (from its SVD). Rows are RGB outputs, columns the decorrelated inputs.
COLOR_CORRELATION_SVD_SQRT = np.asarray([[0.26, 0.09, 0.02],
                                         [0.27, 0.00, -0.05],
                                         [0.27, -0.09, 0.03]], dtype=np.float32)
# Lucid param/color.py `max_norm_svd_sqrt`: the largest column L2 norm; dividing by it makes the map
# non-expanding on every basis direction.
COLOR_CORRELATION_MAX_NORM = np.max(np.linalg.norm(COLOR_CORRELATION_SVD_SQRT, axis=0))
# The matrix to_valid_rgb applies: rgb = x[..., :3] @ COLOR_CORRELATION_NORMALIZED.T (float32, as Lucid).
COLOR_CORRELATION_NORMALIZED = COLOR_CORRELATION_SVD_SQRT / COLOR_CORRELATION_MAX_NORM
# Lucid param/color.py `color_mean`: ImageNet's mean RGB, added before the clip when decorrelating.
COLOR_MEAN = np.asarray([0.48, 0.46, 0.41], dtype=np.float32)

# ColorParams of csrc/include/lucid_fast/color.h, the record CuPy passes to the kernels by value; checked field
# by field against the compiled struct (names, offsets, sizes, types): tests/ops/test_param_layouts.py.
COLOR_PARAMS_DTYPE = np.dtype([("c", np.int32), ("decorrelate", np.int32), ("sigmoid", np.int32),
                               ("matrix", np.float32, (9,)), ("offset", np.float32, (3,))])

_NO_OFFSET = np.zeros(3, dtype=np.float32)


def _constants(c, decorrelate, sigmoid):
    """(decorrelate actually applied, row-major matrix, offset) for a c-channel image."""
    applied = bool(decorrelate) and c >= 3
    matrix = np.ascontiguousarray(COLOR_CORRELATION_NORMALIZED.reshape(9))
    offset = COLOR_MEAN if (applied and not sigmoid) else _NO_OFFSET
    return applied, matrix, offset


def _launch_gpu(kernel, c, decorrelate, sigmoid, arrays):
    from . import cupy_module

    applied, matrix, offset = _constants(c, decorrelate, sigmoid)
    p = cupy_module.params_struct(COLOR_PARAMS_DTYPE, c=c, decorrelate=int(applied), sigmoid=int(bool(sigmoid)),
                                  matrix=matrix, offset=offset)
    n = arrays[0].size // c
    cupy_module.launch(kernel, n, (p, *arrays, np.int64(n)))


def to_valid_rgb(x, decorrelate=True, sigmoid=True):
    """Maps an unconstrained NHWC tensor to valid colours in [0, 1], as Lucid's ``param.color.to_valid_rgb``.

    Args:
        x: float32 array (B, H, W, C), numpy (CPU) or cupy (GPU), C-contiguous, any C >= 1.
        decorrelate: interpret the first three channels as decorrelated colour and map them to RGB with
            ``COLOR_CORRELATION_NORMALIZED`` (applies only when C >= 3).
        sigmoid: squash with a sigmoid (True) or clip (False, Lucid's ``constrain_L_inf`` variant).

    Returns:
        float32 array of x's shape on x's device (64-byte aligned on the CPU).

    Shape:
        (B, H, W, C) -> (B, H, W, C).

    Convention:
        ``t = x``; if decorrelate and C >= 3: ``t[..., :3] = x[..., :3] @ COLOR_CORRELATION_NORMALIZED.T``,
        plus ``COLOR_MEAN`` when sigmoid is False. Then ``y = sigmoid(t)``, or
        ``y = clip(2t - 1, -1, 1) / 2 + 0.5`` (written ``u / max(1, |u|)`` as Lucid does). Channels past the
        third (e.g. alpha), and all channels when C < 3, are only squashed: C in {1, 2} cannot be
        decorrelated and is accepted with decorrelate=True.
    """
    op = "to_valid_rgb"
    xp_name = checks.backend_of(op, x=x)
    checks.check_nhwc(op, "x", x)
    c = x.shape[3]
    if xp_name == "numpy":
        from . import _cpu

        applied, matrix, offset = _constants(c, decorrelate, sigmoid)
        y_np = checks.empty_aligned(x.shape)
        _cpu.color_fwd(x, y_np, applied, bool(sigmoid), matrix, offset)
        return y_np
    import cupy

    y_cp = cupy.empty(x.shape, dtype=cupy.float32)
    _launch_gpu("lf_color_fwd", c, decorrelate, sigmoid, (x, y_cp))
    return y_cp


def to_valid_rgb_adjoint(x, grad_out, decorrelate=True, sigmoid=True):
    """Gradient of :func:`to_valid_rgb` w.r.t. x given the cotangent grad_out (one fused kernel).

    Args:
        x: float32 array (B, H, W, C), the input to_valid_rgb was applied to, numpy or cupy, C-contiguous.
        grad_out: float32 array of x's shape on the same device: the gradient of the MAXIMIZED objective
            w.r.t. to_valid_rgb's output.
        decorrelate: as passed to to_valid_rgb.
        sigmoid: as passed to to_valid_rgb.

    Returns:
        float32 array of x's shape on x's device (64-byte aligned on the CPU): ``J(x)^T grad_out``, except
        for the clip's custom gradient below.

    Shape:
        (B, H, W, C), (B, H, W, C) -> (B, H, W, C).

    Convention:
        Sigmoid: the exact derivative ``y (1 - y)``. Clip (sigmoid=False): Lucid's custom gradient of
        ``constrain_L_inf``, straight-through (derivative 1 even where clipped) except 0 where
        ``|2t - 1| >= 1`` and ``(2t - 1) * grad_out > 0``, i.e. where an ascent step would push further
        outside [0, 1]. lucid_fast maximizes, so grad_out is the ascent direction; Lucid's own code applies
        the same test to the gradient of the minimized loss -objective, which its docstring's intent
        (project out outward steps at the boundary) contradicts — we follow the intent.
    """
    op = "to_valid_rgb_adjoint"
    xp_name = checks.backend_of(op, x=x, grad_out=grad_out)
    checks.check_nhwc(op, "x", x)
    checks.check_array(op, "grad_out", grad_out, ndim=4)
    checks.check_same_shape(op, "x", x, "grad_out", grad_out)
    c = x.shape[3]
    if xp_name == "numpy":
        from . import _cpu

        applied, matrix, offset = _constants(c, decorrelate, sigmoid)
        grad_x_np = checks.empty_aligned(x.shape)
        _cpu.color_adj(x, grad_out, grad_x_np, applied, bool(sigmoid), matrix, offset)
        return grad_x_np
    import cupy

    grad_x_cp = cupy.empty(x.shape, dtype=cupy.float32)
    _launch_gpu("lf_color_adj", c, decorrelate, sigmoid, (x, grad_out, grad_x_cp))
    return grad_x_cp
