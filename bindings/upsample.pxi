cdef extern from "upsample_cpu.h" nogil:
    ctypedef struct UpsampleParams:
        int n, ho, wo, c
        int n_low, h_low, w_low, c_low
        float scale_y, scale_x
    void upsample_fwd_cpu(const UpsampleParams& p, const float* x_low, float* y)
    void upsample_adj_cpu(const UpsampleParams& p, const float* grad_y, float* grad_low)


def sizeof_upsample_params():
    return sizeof(UpsampleParams)


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
