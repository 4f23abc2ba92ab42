# bindings/warp.pxi — the CPU entry points of the warp op, part of the extension lucid_fast._bindings._cpu
# (included by bindings/cpu_ops.pxi). Binds csrc/cpu/warp_cpu.h over csrc/include/lucid_fast/warp.h; called by
# bindings/op_warp.py (lucid_fast._bindings.op_warp, public as lucid_fast.ops). Op map: bindings/README.md.

cdef extern from "warp_cpu.h" nogil:
    # WarpParams of lucid_fast/warp.h, field for field (checked: tests/ops/test_param_layouts.py)
    ctypedef struct WarpParams:
        int n, h, w, c
        int ho, wo
        int pad_mode
        int fill_per_channel
        float fill[4]
    void warp_fwd_cpu(const WarpParams& p, const float* mats, const float* x, float* y)
    void warp_adj_cpu(const WarpParams& p, const float* mats, const float* grad_y, float* grad_x)
    LfLayout warp_params_layout_cpu()


def warp_params_layout():
    """WarpParams as the C++ compiler lays it out (see bindings/param_layout.pxi)."""
    return _layout_dict(warp_params_layout_cpu())


cdef WarpParams _warp_params(Py_ssize_t n, Py_ssize_t h, Py_ssize_t w, Py_ssize_t c, Py_ssize_t ho,
                             Py_ssize_t wo, int pad_mode, fill, bint fill_per_channel):
    cdef WarpParams p
    p.n = n; p.h = h; p.w = w; p.c = c; p.ho = ho; p.wo = wo
    p.pad_mode = pad_mode
    p.fill_per_channel = 1 if fill_per_channel else 0
    for k in range(4):
        p.fill[k] = fill[k]
    return p


def warp_fwd(const float[:, :, :, ::1] x, const float[:, :, ::1] mats, float[:, :, :, ::1] y, int pad_mode,
             fill, bint fill_per_channel):
    """y = warp(x); mats are (n, 2, 3) index-convention matrices; fill is a sequence of 4 floats."""
    cdef WarpParams p = _warp_params(x.shape[0], x.shape[1], x.shape[2], x.shape[3], y.shape[1], y.shape[2],
                                     pad_mode, fill, fill_per_channel)
    with nogil:
        warp_fwd_cpu(p, &mats[0, 0, 0], &x[0, 0, 0, 0], &y[0, 0, 0, 0])


def warp_adj(const float[:, :, :, ::1] grad_y, const float[:, :, ::1] mats, float[:, :, :, ::1] grad_x,
             int pad_mode):
    """grad_x = warp^T(grad_y) (grad_x is overwritten)."""
    cdef WarpParams p = _warp_params(grad_x.shape[0], grad_x.shape[1], grad_x.shape[2], grad_x.shape[3],
                                     grad_y.shape[1], grad_y.shape[2], pad_mode, (0.0, 0.0, 0.0, 0.0), False)
    with nogil:
        warp_adj_cpu(p, &mats[0, 0, 0], &grad_y[0, 0, 0, 0], &grad_x[0, 0, 0, 0])
