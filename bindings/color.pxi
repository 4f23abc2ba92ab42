# bindings/color.pxi — the CPU entry points of the color op, part of the extension lucid_fast._bindings._cpu
# (included by bindings/cpu_ops.pxi). Binds csrc/cpu/color_cpu.h over csrc/include/lucid_fast/color.h; called by
# bindings/op_color.py (lucid_fast._bindings.op_color, public as lucid_fast.ops). Op map: bindings/README.md.

cdef extern from "color_cpu.h" nogil:
    # ColorParams of lucid_fast/color.h, field for field (checked: tests/ops/test_param_layouts.py)
    ctypedef struct ColorParams:
        int c
        int decorrelate
        int sigmoid
        float matrix[9]
        float offset[3]
    void color_fwd_cpu(const ColorParams& p, const float* x, float* y, long long n)
    void color_adj_cpu(const ColorParams& p, const float* x, const float* grad_y, float* grad_x, long long n)
    LfLayout color_params_layout_cpu()


def color_params_layout():
    """ColorParams as the C++ compiler lays it out (see bindings/param_layout.pxi)."""
    return _layout_dict(color_params_layout_cpu())


cdef ColorParams _color_params(int c, bint decorrelate, bint sigmoid, const float[::1] matrix,
                               const float[::1] offset):
    cdef ColorParams p
    cdef int j
    p.c = c
    p.decorrelate = 1 if decorrelate else 0
    p.sigmoid = 1 if sigmoid else 0
    for j in range(9):
        p.matrix[j] = matrix[j]
    for j in range(3):
        p.offset[j] = offset[j]
    return p


def color_fwd(const float[:, :, :, ::1] x, float[:, :, :, ::1] y, bint decorrelate, bint sigmoid,
              const float[::1] matrix, const float[::1] offset):
    """y = to_valid_rgb(x); matrix is the row-major 3x3 colour map, offset the post-matrix shift."""
    cdef ColorParams p = _color_params(x.shape[3], decorrelate, sigmoid, matrix, offset)
    cdef long long n = <long long>x.shape[0] * x.shape[1] * x.shape[2]
    with nogil:
        color_fwd_cpu(p, &x[0, 0, 0, 0], &y[0, 0, 0, 0], n)


def color_adj(const float[:, :, :, ::1] x, const float[:, :, :, ::1] grad_y, float[:, :, :, ::1] grad_x,
              bint decorrelate, bint sigmoid, const float[::1] matrix, const float[::1] offset):
    """grad_x = J(x)^T grad_y for y = to_valid_rgb(x)."""
    cdef ColorParams p = _color_params(x.shape[3], decorrelate, sigmoid, matrix, offset)
    cdef long long n = <long long>x.shape[0] * x.shape[1] * x.shape[2]
    with nogil:
        color_adj_cpu(p, &x[0, 0, 0, 0], &grad_y[0, 0, 0, 0], &grad_x[0, 0, 0, 0], n)
