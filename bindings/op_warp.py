"""Affine bilinear warp: validation and CPU/GPU dispatch for csrc/include/lucid_fast/warp.h.

Imported as ``lucid_fast._bindings.op_warp`` (source: bindings/op_warp.py), public through lucid_fast.ops.
The op's other files (header, CPU and CUDA drivers, binding, tests): bindings/README.md.
"""
import numpy as np

from . import checks

# WarpParams of csrc/include/lucid_fast/warp.h, the record CuPy passes to the kernels by value; checked field
# by field against the compiled struct (names, offsets, sizes, types): tests/ops/test_param_layouts.py.
WARP_PARAMS_DTYPE = np.dtype([("n", np.int32), ("h", np.int32), ("w", np.int32), ("c", np.int32),
                              ("ho", np.int32), ("wo", np.int32), ("pad_mode", np.int32),
                              ("fill_per_channel", np.int32), ("fill", np.float32, (4,))])

# The WarpPadMode values of warp.h.
PAD_MODES = {"constant": 0, "reflect": 1, "symmetric": 2, "edge": 3}
MAX_FILL_CHANNELS = 4  # WarpParams.fill holds this many per-channel fill values

# Edge convention (pixel k centred at k + 0.5) <-> index convention (pixel k at k): x_edge = x_index + 0.5.
_EDGE_FROM_INDEX = np.array([[1.0, 0.0, 0.5], [0.0, 1.0, 0.5], [0.0, 0.0, 1.0]])
_INDEX_FROM_EDGE = np.array([[1.0, 0.0, -0.5], [0.0, 1.0, -0.5], [0.0, 0.0, 1.0]])


def _check_pad_mode(op, pad_mode):
    if not isinstance(pad_mode, str) or pad_mode not in PAD_MODES:
        raise ValueError(f"{op}: pad_mode must be one of {sorted(PAD_MODES)}, got {pad_mode!r}")
    return PAD_MODES[pad_mode]


def _index_matrices(op, matrices, n):
    """Validates edge-convention matrices ((n, 2, 3) or (2, 3)) and returns them in the kernels' index
    convention as a C-contiguous float32 (n, 2, 3) numpy array (computed in float64)."""
    if checks.is_cupy(matrices):
        matrices = matrices.get()
    if isinstance(matrices, np.ndarray):
        matrices = np.ascontiguousarray(matrices)  # tiny; accept any layout
    dtype = np.float64 if getattr(matrices, "dtype", None) == np.float64 else np.float32
    if getattr(matrices, "ndim", None) == 2:
        checks.check_array(op, "matrices", matrices, shape=(2, 3), dtype=dtype, finite=True)
        matrices = matrices[None]
    else:
        checks.check_array(op, "matrices", matrices, shape=(n, 2, 3), dtype=dtype, finite=True)
    m3 = np.zeros((matrices.shape[0], 3, 3))
    m3[:, :2] = matrices
    m3[:, 2, 2] = 1.0
    idx = (_INDEX_FROM_EDGE @ m3 @ _EDGE_FROM_INDEX)[:, :2]
    return np.ascontiguousarray(np.broadcast_to(idx, (n, 2, 3)), dtype=np.float32)


def _fill_values(op, fill_value, c):
    """(fill as 4 floats, per_channel flag) from a scalar or a sequence of c floats."""
    if np.ndim(fill_value) == 0:
        f = checks.check_finite_scalar(op, "fill_value", fill_value)
        return (f, f, f, f), False
    values = list(np.asarray(fill_value, dtype=object).ravel()) if np.ndim(fill_value) == 1 else None
    if values is None or len(values) != c:
        raise ValueError(f"{op}: fill_value must be a float or a sequence of C={c} floats, got {fill_value!r}")
    values = [checks.check_finite_scalar(op, f"fill_value[{k}]", v) for k, v in enumerate(values)]
    if all(v == values[0] for v in values):
        return (values[0],) * 4, False
    if c > MAX_FILL_CHANNELS:
        raise ValueError(f"{op}: a per-channel fill_value supports C <= {MAX_FILL_CHANNELS} channels, got C={c} "
                         f"(use a scalar fill_value)")
    return tuple(values) + (0.0,) * (4 - c), True


def affine_warp(images, matrices, out_hw=None, pad_mode="constant", fill_value=0.0):
    """Warps each image of an NHWC batch by its own affine matrix, with bilinear sampling.

    One such warp stands in for Lucid's pad -> jitter -> random_scale -> random_rotate chain: build the
    matrices with ``warp_matrices`` (``standard_transform_matrices`` or ``compose_affine`` of primitives).

    Args:
        images: float32 array (N, H, W, C), numpy (CPU) or cupy (GPU), C-contiguous, any C >= 1.
        matrices: float32 (or float64) array (N, 2, 3), or (2, 3) for all items; numpy or cupy; finite.
            Each maps OUTPUT pixel coordinates to INPUT pixel coordinates (see Convention).
        out_hw: (Ho, Wo) of the output; defaults to (H, W).
        pad_mode: how taps outside the input are read: "constant" (read ``fill_value``), "reflect" (tf.pad
            REFLECT: index -1 reads 1, edges not repeated), "symmetric" (tf.pad SYMMETRIC: -1 reads 0) or
            "edge" (clamp to the nearest edge pixel). reflect/symmetric repeat periodically for far taps.
        fill_value: a float, or a sequence of C floats (per channel, C <= 4 unless all equal); used only by
            "constant" (Lucid's standard transforms pad with 0.5).

    Returns:
        float32 array (N, Ho, Wo, C) on the images' device (64-byte aligned on the CPU).

    Shape:
        images (N, H, W, C), matrices (N, 2, 3) or (2, 3) -> (N, Ho, Wo, C).

    Convention:
        - NHWC float32, origin at the top-left, x along W (columns), y along H (rows).
        - Matrices are output->input ("destination->source") affine maps in pixel units, edge convention:
          output pixel (row i, col j) has its centre at (x, y) = (j + 0.5, i + 0.5) and samples the input at
          (u, v) = (a00 x + a01 y + a02, a10 x + a11 y + a12).
        - Input pixel (row r, col k) has its centre at (k + 0.5, r + 0.5), so the input is interpolated at
          the continuous index coordinates (u - 0.5, v - 0.5). The identity matrix copies the image.
        - Bilinear interpolation of the 4 integer taps around that point, each outside tap mapped by
          ``pad_mode``; with "constant", the image edge blends into the fill over one pixel, exactly as
          TensorFlow's ImageProjectiveTransformV3 (BILINEAR, CONSTANT) does.
        - TF's projective transforms use index coordinates; an edge-convention matrix A corresponds to
          T(-0.5) A T(0.5) there.
    """
    op = "affine_warp"
    xp_name = checks.backend_of(op, images=images)
    checks.check_nhwc(op, "images", images)
    n, h, w, c = images.shape
    ho, wo = (h, w) if out_hw is None else checks.check_hw(op, "out_hw", out_hw)
    mode = _check_pad_mode(op, pad_mode)
    fill, per_channel = _fill_values(op, fill_value, c)
    mats_np = _index_matrices(op, matrices, n)
    if xp_name == "numpy":
        from . import _cpu

        out = checks.empty_aligned((n, ho, wo, c))
        _cpu.warp_fwd(images, mats_np, out, mode, fill, per_channel)
        return out
    import cupy

    from . import cupy_module

    out = cupy.empty((n, ho, wo, c), dtype=cupy.float32)
    p = cupy_module.params_struct(WARP_PARAMS_DTYPE, n=n, h=h, w=w, c=c, ho=ho, wo=wo, pad_mode=mode,
                                  fill_per_channel=int(per_channel), fill=fill)
    npix = n * ho * wo
    cupy_module.launch("lf_warp_fwd", npix, (p, cupy.asarray(mats_np), images, out, np.int64(npix)))
    return out


def affine_warp_adjoint(grad_out, matrices, in_hw, pad_mode="constant"):
    """The adjoint (transpose) of ``affine_warp`` with respect to the images, for the same matrices.

    Args:
        grad_out: float32 array (N, Ho, Wo, C), numpy or cupy, C-contiguous: the cotangent of the warp output.
        matrices: the matrices given to ``affine_warp`` ((N, 2, 3) or (2, 3), edge convention).
        in_hw: (H, W) of the warp's input images.
        pad_mode: the pad mode given to ``affine_warp``.

    Returns:
        float32 array (N, H, W, C): the gradient with respect to the images (64-byte aligned on the CPU).

    Shape:
        grad_out (N, Ho, Wo, C) -> (N, H, W, C).

    Convention:
        As ``affine_warp``. Each output pixel's cotangent is scattered (added: atomically on the GPU; on the
        CPU without atomics, each thread adding into its own batch items or its own buffer, summed at the
        end) onto the same 4 taps, with the same weights, that the forward warp gathered from, so
        <warp(x), g> = <x, adjoint(g)> for any fill of 0. The fill is a constant: cotangent on taps that read
        it is dropped. The float summation order differs between the CPU and GPU (and, on the CPU, with the
        thread count when N < threads), so results agree to rounding, not bit for bit. This is the
        exact transpose of the bilinear warp, not TensorFlow's registered ImageProjectiveTransformV3
        gradient, which warps the cotangent by the inverse matrix (an approximation).
    """
    op = "affine_warp_adjoint"
    xp_name = checks.backend_of(op, grad_out=grad_out)
    checks.check_nhwc(op, "grad_out", grad_out)
    n, ho, wo, c = grad_out.shape
    h, w = checks.check_hw(op, "in_hw", in_hw)
    mode = _check_pad_mode(op, pad_mode)
    mats_np = _index_matrices(op, matrices, n)
    if xp_name == "numpy":
        from . import _cpu

        grad_images = checks.empty_aligned((n, h, w, c))
        _cpu.warp_adj(grad_out, mats_np, grad_images, mode)
        return grad_images
    import cupy

    from . import cupy_module

    grad_images = cupy.zeros((n, h, w, c), dtype=cupy.float32)
    p = cupy_module.params_struct(WARP_PARAMS_DTYPE, n=n, h=h, w=w, c=c, ho=ho, wo=wo, pad_mode=mode,
                                  fill_per_channel=0, fill=(0.0, 0.0, 0.0, 0.0))
    npix = n * ho * wo
    cupy_module.launch("lf_warp_adj", npix, (p, cupy.asarray(mats_np), grad_out, grad_images, np.int64(npix)))
    return grad_images
