// CPU driver for adam.h: an OpenMP loop over the element function, no math here.
#include "lucid_fast/adam.h"
#include "adam_cpu.h"

void adam_update_cpu(const AdamParams& p, float* param, const float* grad, float* m, float* v, lf_idx n) {
#pragma omp parallel for schedule(static)
    for (lf_idx i = 0; i < n; ++i) adam_update_elem(p, param, grad, m, v, i);
}

// AdamParams, field by field, for the checks of its Python mirrors (lf_param_layout.h).
LfLayout adam_params_layout_cpu() {
    using S = AdamParams;
    static constexpr LfField fields[] = {LF_FIELD(S, alpha), LF_FIELD(S, one_minus_beta_1),
                                         LF_FIELD(S, one_minus_beta_2), LF_FIELD(S, epsilon),
                                         LF_FIELD(S, grad_sign)};
    static_assert(lf_fields_tile(fields, sizeof(S)), "AdamParams: list every field, in declaration order");
    return lf_layout("AdamParams", sizeof(S), fields);
}
