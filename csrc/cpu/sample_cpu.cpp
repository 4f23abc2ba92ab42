// CPU driver for sample.h: OpenMP loops over the element functions, no math here. Blocks of SAMPLE_CPU_BLOCK
// UV pairs of one item are the parallel unit; the channel count is dispatched to a compile-time C for 1, 3, 4.
#include "lucid_fast/sample.h"
#include "sample_cpu.h"
#include "lf_scatter_rows.h"

// UV pairs per scheduling block (a "row" for lf_scatter_rows_cpu): large enough to amortize the loop set-up,
// small enough that a frame splits evenly over the threads.
#define SAMPLE_CPU_BLOCK 1024

static int sample_blocks(const SampleParams& p) { return (p.npix + SAMPLE_CPU_BLOCK - 1) / SAMPLE_CPU_BLOCK; }

template <int C>
static void sample_fwd_blocks(const SampleParams& p, const float* tex, const float* uv, float* out) {
    const int nb = sample_blocks(p);
#pragma omp parallel for collapse(2) schedule(static)
    for (int b = 0; b < p.n; ++b)
        for (int blk = 0; blk < nb; ++blk) {
            const float* tex_b = sample_tex_item(p, tex, b);
            const float* uv_b = sample_uv_item(p, uv, b);
            float* out_b = out + (lf_idx)b * p.npix * p.c;
            const lf_idx end = lf_min((lf_idx)(blk + 1) * SAMPLE_CPU_BLOCK, p.npix);
            for (lf_idx i = (lf_idx)blk * SAMPLE_CPU_BLOCK; i < end; ++i) sample_fwd_elem<C>(p, tex_b, uv_b, out_b, i);
        }
}

void sample_fwd_cpu(const SampleParams& p, const float* tex, const float* uv, float* out) {
    switch (p.c) {
        case 1: return sample_fwd_blocks<1>(p, tex, uv, out);
        case 3: return sample_fwd_blocks<3>(p, tex, uv, out);
        case 4: return sample_fwd_blocks<4>(p, tex, uv, out);
        default: return sample_fwd_blocks<0>(p, tex, uv, out);
    }
}

// Item b's pixels scatter into texture item b only: per-item scheduling applies (lf_scatter_rows_cpu); one item
// (the usual single texture) takes private per-thread buffers instead of atomics.
template <int C>
static void sample_adj_blocks(const SampleParams& p, const float* grad_out, const float* uv, float* grad_tex) {
    const lf_idx item = (lf_idx)p.th * p.tw * p.c;
    lf_scatter_rows_cpu(grad_tex, item * p.n, p.n, sample_blocks(p), true, item,
                        [&](float* dst, lf_idx b, int blk) {
                            const float* g_b = grad_out + b * p.npix * p.c;
                            const float* uv_b = sample_uv_item(p, uv, b);
                            float* dst_b = dst + b * item;
                            const lf_idx end = lf_min((lf_idx)(blk + 1) * SAMPLE_CPU_BLOCK, p.npix);
                            for (lf_idx i = (lf_idx)blk * SAMPLE_CPU_BLOCK; i < end; ++i)
                                sample_adj_elem<false, C>(p, g_b, uv_b, dst_b, i);
                        });
}

void sample_adj_cpu(const SampleParams& p, const float* grad_out, const float* uv, float* grad_tex) {
    switch (p.c) {
        case 1: return sample_adj_blocks<1>(p, grad_out, uv, grad_tex);
        case 3: return sample_adj_blocks<3>(p, grad_out, uv, grad_tex);
        case 4: return sample_adj_blocks<4>(p, grad_out, uv, grad_tex);
        default: return sample_adj_blocks<0>(p, grad_out, uv, grad_tex);
    }
}

// SampleParams, field by field, for the checks of its Python mirrors (lf_param_layout.h).
LfLayout sample_params_layout_cpu() {
    using S = SampleParams;
    static constexpr LfField fields[] = {LF_FIELD(S, n), LF_FIELD(S, uv_n), LF_FIELD(S, th), LF_FIELD(S, tw),
                                         LF_FIELD(S, c), LF_FIELD(S, npix)};
    static_assert(lf_fields_tile(fields, sizeof(S)), "SampleParams: list every field, in declaration order");
    return lf_layout("SampleParams", sizeof(S), fields);
}
