# bindings/tv.pxi — the CPU entry points of the tv op, part of the extension lucid_fast._bindings._cpu
# (included by bindings/cpu_ops.pxi). Binds csrc/cpu/tv_cpu.h over csrc/include/lucid_fast/tv.h; called by
# bindings/op_tv.py (lucid_fast._bindings.op_tv, public as lucid_fast.ops). Op map: bindings/README.md.

cdef extern from "tv_cpu.h" nogil:
    # TvParams of lucid_fast/tv.h, field for field (checked: tests/ops/test_param_layouts.py)
    ctypedef struct TvParams:
        int b, h, w, c
        float weight
        int accumulate
    double tv_value_grad_cpu(const TvParams& p, const float* x, float* grad_out)
    LfLayout tv_params_layout_cpu()


def tv_params_layout():
    """TvParams as the C++ compiler lays it out (see bindings/param_layout.pxi)."""
    return _layout_dict(tv_params_layout_cpu())


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
