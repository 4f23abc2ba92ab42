# bindings/upsample.pxi — the CPU entry points of the upsample op, part of the extension lucid_fast._bindings._cpu
# (included by bindings/cpu_ops.pxi). Binds csrc/cpu/upsample_cpu.h over csrc/include/lucid_fast/upsample.h; called by
# bindings/op_upsample.py (lucid_fast._bindings.op_upsample, public as lucid_fast.ops). Op map: bindings/README.md.

cdef extern from "upsample_cpu.h" nogil:
    # UpsampleParams of lucid_fast/upsample.h, field for field (checked: tests/ops/test_param_layouts.py)
    ctypedef struct UpsampleParams:
        int n, ho, wo, c
        int n_low, h_low, w_low, c_low
        float scale_y, scale_x
    void upsample_fwd_cpu(const UpsampleParams& p, const float* x_low, float* y)
    void upsample_adj_cpu(const UpsampleParams& p, const float* grad_y, float* grad_low)
    LfLayout upsample_params_layout_cpu()


def upsample_params_layout():
    """UpsampleParams as the C++ compiler lays it out (see bindings/param_layout.pxi)."""
    return _layout_dict(upsample_params_layout_cpu())


cdef UpsampleParams _upsample_params(const float[:, :, :, ::1] low, const float[:, :, :, ::1] high,
                                     float scale_y, float scale_x):
    cdef UpsampleParams p
    p.n = high.shape[0]; p.ho = high.shape[1]; p.wo = high.shape[2]; p.c = high.shape[3]
    p.n_low = low.shape[0]; p.h_low = low.shape[1]; p.w_low = low.shape[2]; p.c_low = low.shape[3]
    p.scale_y = scale_y; p.scale_x = scale_x
    return p


def upsample_fwd(const float[:, :, :, ::1] x_low, float[:, :, :, ::1] y, float scale_y, float scale_x):
    """y = resize(x_low) with the batch/channel broadcasts implied by the shapes."""
    cdef UpsampleParams p = _upsample_params(x_low, y, scale_y, scale_x)
    with nogil:
        upsample_fwd_cpu(p, &x_low[0, 0, 0, 0], &y[0, 0, 0, 0])


def upsample_adj(const float[:, :, :, ::1] grad_y, float[:, :, :, ::1] grad_low, float scale_y, float scale_x):
    """grad_low = resize^T(grad_y) (grad_low is overwritten)."""
    cdef UpsampleParams p = _upsample_params(grad_low, grad_y, scale_y, scale_x)
    with nogil:
        upsample_adj_cpu(p, &grad_y[0, 0, 0, 0], &grad_low[0, 0, 0, 0])
