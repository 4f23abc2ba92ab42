"""Bilinear texture sampling at UV coordinates: validation and CPU/GPU dispatch for
csrc/include/lucid_fast/sample.h (the texture side of a rendered mesh, Lucid's ``bilinearly_sampled_image``).

Imported as ``lucid_fast._bindings.op_sample`` (source: bindings/op_sample.py), public through lucid_fast.ops.
The op's other files (header, CPU and CUDA drivers, binding, tests): bindings/README.md.
"""
import numpy as np

from . import checks

# SampleParams of csrc/include/lucid_fast/sample.h, the record CuPy passes to the kernels by value; checked field
# by field against the compiled struct (names, offsets, sizes, types): tests/ops/test_param_layouts.py.
SAMPLE_PARAMS_DTYPE = np.dtype([("n", np.int32), ("uv_n", np.int32), ("th", np.int32), ("tw", np.int32),
                                ("c", np.int32), ("npix", np.int32)])


def _uv_batch(op, uv, n):
    """uv (Nu, ..., 2) of a batched texture of n items: Nu must be 1 or n."""
    checks.check_uv(op, "uv", uv, min_ndim=2)
    if uv.shape[0] not in (1, n):
        raise ValueError(f"{op}: uv of a batch of {n} textures must have a leading axis of 1 (shared) or {n}, "
                         f"got shape {tuple(uv.shape)}")
    return uv.shape[0]


def _run(direction, xp_name, src, uv3, n, th, tw, c, dst_shape):
    """The forward ("fwd": texture -> samples) or the adjoint ("adj": cotangent -> texture gradient, a scatter
    into a zeroed buffer on the GPU; the CPU driver owns its output) on the arrays' device."""
    uv_n, npix = uv3.shape[0], uv3.shape[1]
    if xp_name == "numpy":
        from . import _cpu

        dst = checks.empty_aligned(dst_shape)
        if direction == "fwd":
            _cpu.sample_fwd(src.reshape(n, th, tw, c), uv3, dst.reshape(n, npix, c))
        else:
            _cpu.sample_adj(src.reshape(n, npix, c), uv3, dst.reshape(n, th, tw, c))
        return dst
    import cupy

    from . import cupy_module

    dst = (cupy.empty if direction == "fwd" else cupy.zeros)(dst_shape, dtype=cupy.float32)
    p = cupy_module.params_struct(SAMPLE_PARAMS_DTYPE, n=n, uv_n=uv_n, th=th, tw=tw, c=c, npix=npix)
    total = n * npix
    cupy_module.launch("lf_sample_" + direction, total, (p, src, uv3, dst, np.int64(total)))
    return dst


def sample_bilinear(texture, uv):
    """Samples a texture bilinearly at per-pixel (u, v) coordinates, as OpenGL's GL_REPEAT + GL_LINEAR.

    The texture side of a rendered mesh: a rasterizer gives each pixel the UV of the surface point it sees
    (``lucid_fast.misc.gl.glrenderer.MeshRenderer``), and this op looks the texture up there. It is Lucid's
    ``optvis.param.spatial.bilinearly_sampled_image``.

    Args:
        texture: float32 array (H, W, C), or a batch (N, H, W, C); numpy (CPU) or cupy (GPU), C-contiguous.
        uv: float32 array (..., 2) of (u, v) pairs, any finite values (the texture repeats; a coordinate of
            magnitude >= 2^23, always an integer in float32, reads as 0, up to float32's largest). For a batched
            texture uv is (Nu, ..., 2) with Nu = N (one set per item) or 1 (shared by every item).

    Returns:
        float32 array: ``uv.shape[:-1] + (C,)`` for an (H, W, C) texture, ``(N,) + uv.shape[1:-1] + (C,)`` for a
        batched one; on the inputs' device (64-byte aligned on the CPU).

    Shape:
        (H, W, C), (..., 2) -> (..., C);  (N, H, W, C), (N or 1, ..., 2) -> (N, ..., C).

    Convention:
        v is flipped as in OpenGL (v = 0 is the texture's last row, v = 1 the top edge of row 0) and texel
        centres sit at +0.5: the taps are around x = u * W - 0.5, y = (1 - v) * H - 0.5, each wrapped modulo
        the texture size (GL_REPEAT), weighted by the fractional parts (GL_LINEAR).

    Example:
        >>> import numpy as np
        >>> tex = np.arange(4, dtype=np.float32).reshape(2, 2, 1)      # rows [0, 1] (top), [2, 3]
        >>> float(sample_bilinear(tex, np.float32([[0.25, 0.25]]))[0, 0])  # centre of the bottom-left texel
        2.0
    """
    op = "sample_bilinear"
    xp_name = checks.backend_of(op, texture=texture, uv=uv)
    checks.check_array(op, "texture", texture)
    if texture.ndim == 3:
        checks.check_uv(op, "uv", uv)
        (th, tw, c), n = texture.shape, 1
        uv3 = uv.reshape(1, -1, 2)
        out_shape = tuple(uv.shape[:-1]) + (c,)
    elif texture.ndim == 4:
        n, th, tw, c = texture.shape
        uv_n = _uv_batch(op, uv, n)
        uv3 = uv.reshape(uv_n, -1, 2)
        out_shape = (n,) + tuple(uv.shape[1:-1]) + (c,)
    else:
        raise ValueError(f"{op}: texture must be (H, W, C) or (N, H, W, C), got shape {tuple(texture.shape)}")
    return _run("fwd", xp_name, texture, uv3, n, th, tw, c, out_shape)


def sample_bilinear_adjoint(grad_out, uv, tex_hw, batch=None):
    """The adjoint (transpose) of ``sample_bilinear`` with respect to the texture.

    Args:
        grad_out: float32 array, the cotangent of ``sample_bilinear``'s output (its shape), numpy or cupy.
        uv: the (u, v) coordinates the forward sampled at.
        tex_hw: (H, W) of the texture.
        batch: None for an (H, W, C) texture; N for a batched (N, H, W, C) one.

    Returns:
        float32 array (H, W, C), or (N, H, W, C) with ``batch``: the gradient with respect to the texture
        (64-byte aligned on the CPU).

    Convention:
        As ``sample_bilinear``: each pixel's cotangent is scattered onto the same 4 wrapped taps, with the
        same weights, that the forward gathered from (taps that wrap onto one texel add up).
    """
    op = "sample_bilinear_adjoint"
    xp_name = checks.backend_of(op, grad_out=grad_out, uv=uv)
    checks.check_array(op, "grad_out", grad_out)
    th, tw = checks.check_hw(op, "tex_hw", tex_hw)
    c = grad_out.shape[-1]
    if batch is None:
        checks.check_uv(op, "uv", uv)
        n = 1
        want = tuple(uv.shape[:-1]) + (c,)
        uv3 = uv.reshape(1, -1, 2)
        tex_shape = (th, tw, c)
    else:
        n = checks.check_positive_int(op, "batch", batch)
        uv_n = _uv_batch(op, uv, n)
        want = (n,) + tuple(uv.shape[1:-1]) + (c,)
        uv3 = uv.reshape(uv_n, -1, 2)
        tex_shape = (n, th, tw, c)
    if tuple(grad_out.shape) != want:
        raise ValueError(f"{op}: grad_out must have the forward's output shape {want} for uv of shape "
                         f"{tuple(uv.shape)}" + ("" if batch is None else f" and batch={n}") +
                         f", got {tuple(grad_out.shape)}")
    return _run("adj", xp_name, grad_out, uv3, n, th, tw, c, tex_shape)
