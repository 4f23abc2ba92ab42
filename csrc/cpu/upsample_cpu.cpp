// CPU driver for upsample.h: OpenMP loops over the element functions, no math here. Rows (b, i) are the
// parallel unit with an inner column loop; the channel count is dispatched to a compile-time C for 1, 3, 4.
#include "lucid_fast/upsample.h"
#include "upsample_cpu.h"
#include "lf_scatter_rows.h"

template <int C>
static void upsample_fwd_rows(const UpsampleParams& p, const float* x_low, float* y) {
#pragma omp parallel for collapse(2) schedule(static)
    for (int b = 0; b < p.n; ++b)
        for (int i = 0; i < p.ho; ++i) {
            const UpsampleRow r = upsample_row(p, b, i);
            for (int j = 0; j < p.wo; ++j) upsample_fwd_elem<C>(p, r, x_low, y, j);
        }
}

void upsample_fwd_cpu(const UpsampleParams& p, const float* x_low, float* y) {
    switch (p.c) {
        case 1: return upsample_fwd_rows<1>(p, x_low, y);
        case 3: return upsample_fwd_rows<3>(p, x_low, y);
        case 4: return upsample_fwd_rows<4>(p, x_low, y);
        default: return upsample_fwd_rows<0>(p, x_low, y);
    }
}

// Without the batch broadcast (n_low == n), item b's rows scatter into low-res item b only: per-item
// scheduling applies (lf_scatter_rows_cpu); with it, all items share the one low-res item.
template <int C>
static void upsample_adj_rows(const UpsampleParams& p, const float* grad_y, float* grad_low) {
    const lf_idx item = (lf_idx)p.h_low * p.w_low * p.c_low;
    lf_scatter_rows_cpu(grad_low, item * p.n_low, p.n, p.ho, p.n_low == p.n, item,
                        [&](float* dst, lf_idx b, int i) {
                            const UpsampleRow r = upsample_row(p, b, i);
                            for (int j = 0; j < p.wo; ++j) upsample_adj_elem<false, C>(p, r, grad_y, dst, j);
                        });
}

void upsample_adj_cpu(const UpsampleParams& p, const float* grad_y, float* grad_low) {
    switch (p.c) {
        case 1: return upsample_adj_rows<1>(p, grad_y, grad_low);
        case 3: return upsample_adj_rows<3>(p, grad_y, grad_low);
        case 4: return upsample_adj_rows<4>(p, grad_y, grad_low);
        default: return upsample_adj_rows<0>(p, grad_y, grad_low);
    }
}

// UpsampleParams, field by field, for the checks of its Python mirrors (lf_param_layout.h).
LfLayout upsample_params_layout_cpu() {
    using S = UpsampleParams;
    static constexpr LfField fields[] = {LF_FIELD(S, n), LF_FIELD(S, ho), LF_FIELD(S, wo), LF_FIELD(S, c),
                                         LF_FIELD(S, n_low), LF_FIELD(S, h_low), LF_FIELD(S, w_low),
                                         LF_FIELD(S, c_low), LF_FIELD(S, scale_y), LF_FIELD(S, scale_x)};
    static_assert(lf_fields_tile(fields, sizeof(S)), "UpsampleParams: list every field, in declaration order");
    return lf_layout("UpsampleParams", sizeof(S), fields);
}
