// adam.h — one in-place Adam step, the update of tf.keras.optimizers.Adam (Keras 3, amsgrad=False):
//
//     g = grad_sign * grad
//     m += (g - m) * one_minus_beta_1
//     v += (g^2 - v) * one_minus_beta_2
//     param -= (m * alpha) / (sqrt(v) + epsilon),   alpha = lr * sqrt(1 - beta_2^t) / (1 - beta_1^t)
//
// alpha depends only on the step t and is computed once on the host (bindings/op_adam.py). An optimizer
// step has no adjoint, so there is no adam_adj_elem.
//
// The op's files: this header, csrc/cpu/adam_cpu.{h,cpp}, csrc/cuda/adam.cu, bindings/adam.pxi and
// bindings/op_adam.py (imported as lucid_fast._bindings.op_adam); with its tests: bindings/README.md.
// AdamParams is mirrored in Python (bindings/adam.pxi, ADAM_PARAMS_DTYPE in bindings/op_adam.py) and checked
// field by field against this definition (csrc/cpu/lf_param_layout.h): 4-byte int and float fields only.
#pragma once
#include "lucid_fast/lf_defs.h"

struct AdamParams {
    float alpha;             // bias-corrected learning rate for this step
    float one_minus_beta_1;  // 1 - beta_1
    float one_minus_beta_2;  // 1 - beta_2
    float epsilon;           // added to sqrt(v), as Keras does (not to sqrt(v_hat))
    float grad_sign;         // +1 descends on grad; -1 ascends (maximize)
};

//------------------------------------------------------------------------
// Update of element i of param, m and v, in place.

LF_HD void adam_update_elem(const AdamParams& p, float* param, const float* grad, float* m, float* v, lf_idx i) {
    const float g = p.grad_sign * grad[i];
    const float mi = m[i] + (g - m[i]) * p.one_minus_beta_1;
    const float vi = v[i] + (g * g - v[i]) * p.one_minus_beta_2;
    m[i] = mi;
    v[i] = vi;
    param[i] -= (mi * p.alpha) / (sqrtf(vi) + p.epsilon);
}
