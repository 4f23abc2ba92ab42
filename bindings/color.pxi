cdef extern from "color_cpu.h" nogil:
    ctypedef struct ColorParams:
        int c
        int decorrelate
        int sigmoid
        float matrix[9]
        float offset[3]
    void color_fwd_cpu(const ColorParams& p, const float* x, float* y, long long n)
    void color_adj_cpu(const ColorParams& p, const float* x, const float* grad_y, float* grad_x, long long n)


def sizeof_color_params():
    return sizeof(ColorParams)


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
