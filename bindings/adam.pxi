# bindings/adam.pxi — the CPU entry points of the adam op, part of the extension lucid_fast._bindings._cpu
# (included by bindings/cpu_ops.pxi). Binds csrc/cpu/adam_cpu.h over csrc/include/lucid_fast/adam.h; called by
# bindings/op_adam.py (lucid_fast._bindings.op_adam, public as lucid_fast.ops). Op map: bindings/README.md.

cdef extern from "adam_cpu.h" nogil:
    # AdamParams of lucid_fast/adam.h, field for field (checked: tests/ops/test_param_layouts.py)
    ctypedef struct AdamParams:
        float alpha
        float one_minus_beta_1
        float one_minus_beta_2
        float epsilon
        float grad_sign
    void adam_update_cpu(const AdamParams& p, float* param, const float* grad, float* m, float* v, long long n)
    LfLayout adam_params_layout_cpu()


def adam_params_layout():
    """AdamParams as the C++ compiler lays it out (see bindings/param_layout.pxi)."""
    return _layout_dict(adam_params_layout_cpu())


def adam_update(float[::1] param, const float[::1] grad, float[::1] m, float[::1] v, float alpha,
                float one_minus_beta_1, float one_minus_beta_2, float epsilon, float grad_sign):
    """One in-place Adam step on flat float32 views of param, m and v (alpha already bias-corrected)."""
    cdef AdamParams p
    p.alpha = alpha
    p.one_minus_beta_1 = one_minus_beta_1
    p.one_minus_beta_2 = one_minus_beta_2
    p.epsilon = epsilon
    p.grad_sign = grad_sign
    cdef long long n = param.shape[0]
    with nogil:
        adam_update_cpu(p, &param[0], &grad[0], &m[0], &v[0], n)
