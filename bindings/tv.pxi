cdef extern from "tv_cpu.h" nogil:
    ctypedef struct TvParams:
        int b, h, w, c
        float weight
        int accumulate
    double tv_value_grad_cpu(const TvParams& p, const float* x, float* grad_out)


def sizeof_tv_params():
    return sizeof(TvParams)


def tv_value_grad(const float[:, :, :, ::1] x, float[:, :, :, ::1] grad_out, float weight, bint accumulate):
    """Returns TV(x) (a Python float); writes weight * dTV/dx into grad_out (added when accumulate)."""
    cdef TvParams p
    p.b = x.shape[0]; p.h = x.shape[1]; p.w = x.shape[2]; p.c = x.shape[3]
    p.weight = weight
    p.accumulate = 1 if accumulate else 0
    cdef double value
    with nogil:
        value = tv_value_grad_cpu(p, &x[0, 0, 0, 0], &grad_out[0, 0, 0, 0])
    return value
