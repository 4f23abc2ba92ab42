// CPU driver for warp.h: OpenMP loops over the element functions, no math here. Rows (b, i) are the parallel
// unit with an inner column loop; the channel count is dispatched to a compile-time C for 1, 3 and 4.
#include "lucid_fast/warp.h"
#include "warp_cpu.h"
#include "lf_scatter_rows.h"

template <int C>
static void warp_fwd_rows(const WarpParams& p, const float* mats, const float* x, float* y) {
#pragma omp parallel for collapse(2) schedule(static)
    for (int b = 0; b < p.n; ++b)
        for (int i = 0; i < p.ho; ++i) {
            const WarpRow r = warp_row(p, mats, b, i);
            for (int j = 0; j < p.wo; ++j) warp_fwd_elem<C>(p, r, x, y, j);
        }
}

void warp_fwd_cpu(const WarpParams& p, const float* mats, const float* x, float* y) {
    switch (p.c) {
        case 1: return warp_fwd_rows<1>(p, mats, x, y);
        case 3: return warp_fwd_rows<3>(p, mats, x, y);
        case 4: return warp_fwd_rows<4>(p, mats, x, y);
        default: return warp_fwd_rows<0>(p, mats, x, y);
    }
}

// Item b's output rows scatter into input item b only: per-item scheduling applies (lf_scatter_rows_cpu).
template <int C>
static void warp_adj_rows(const WarpParams& p, const float* mats, const float* grad_y, float* grad_x) {
    const lf_idx item = (lf_idx)p.h * p.w * p.c;
    lf_scatter_rows_cpu(grad_x, item * p.n, p.n, p.ho, true, item, [&](float* dst, lf_idx b, int i) {
        const WarpRow r = warp_row(p, mats, b, i);
        for (int j = 0; j < p.wo; ++j) warp_adj_elem<false, C>(p, r, grad_y, dst, j);
    });
}

void warp_adj_cpu(const WarpParams& p, const float* mats, const float* grad_y, float* grad_x) {
    switch (p.c) {
        case 1: return warp_adj_rows<1>(p, mats, grad_y, grad_x);
        case 3: return warp_adj_rows<3>(p, mats, grad_y, grad_x);
        case 4: return warp_adj_rows<4>(p, mats, grad_y, grad_x);
        default: return warp_adj_rows<0>(p, mats, grad_y, grad_x);
    }
}

// WarpParams, field by field, for the checks of its Python mirrors (lf_param_layout.h).
LfLayout warp_params_layout_cpu() {
    using S = WarpParams;
    static constexpr LfField fields[] = {LF_FIELD(S, n), LF_FIELD(S, h), LF_FIELD(S, w), LF_FIELD(S, c),
                                         LF_FIELD(S, ho), LF_FIELD(S, wo), LF_FIELD(S, pad_mode),
                                         LF_FIELD(S, fill_per_channel), LF_FIELD(S, fill)};
    static_assert(lf_fields_tile(fields, sizeof(S)), "WarpParams: list every field, in declaration order");
    return lf_layout("WarpParams", sizeof(S), fields);
}
