// CPU driver for tv.h: an OpenMP loop over the element function, no math here.
#include "tv_cpu.h"

double tv_value_grad_cpu(const TvParams& p, const float* x, float* grad_out) {
    const lf_idx rows = (lf_idx)p.b * p.h;
    const int row_len = p.w * p.c;
    double acc = 0.0;
#pragma omp parallel for schedule(static) reduction(+ : acc)
    for (lf_idx r = 0; r < rows; ++r) {
        const int y = (int)(r % p.h);
        float row_acc = 0.0f;  // one row in float, rows summed in double
        for (int k = 0; k < row_len; ++k) row_acc += tv_elem(p, x, grad_out, r, y, k);
        acc += row_acc;
    }
    return acc;
}

// TvParams, field by field, for the checks of its Python mirrors (lf_param_layout.h).
LfLayout tv_params_layout_cpu() {
    using S = TvParams;
    static constexpr LfField fields[] = {LF_FIELD(S, b), LF_FIELD(S, h), LF_FIELD(S, w), LF_FIELD(S, c),
                                         LF_FIELD(S, weight), LF_FIELD(S, accumulate)};
    static_assert(lf_fields_tile(fields, sizeof(S)), "TvParams: list every field, in declaration order");
    return lf_layout("TvParams", sizeof(S), fields);
}
