// CPU driver for color.h: OpenMP loops over the element functions, no math here.
//
// Pixels go in blocks (color_fwd_block / color_adj_block): the linear stage pixel by pixel, then the squash
// as one flat `omp simd` loop over the block's values (lf_sigmoid vectorizes on the CPU), then, for the
// adjoint, the transposed linear stage from a per-thread scratch buffer. Each block stays in cache between
// the passes; each output value is written by exactly one thread.
#include "lucid_fast/color.h"
#include "color_cpu.h"

#include <vector>

namespace {
constexpr lf_idx kColorBlockPixels = 1024;  // small enough for a block to stay in L1/L2 between the passes

// Calls f(q) with q = p, except that for RGB with decorrelation the channel count becomes a compile-time
// constant (q.c = 3 after inlining), which lets GCC unroll the channel loops and vectorize across pixels.
template <class F>
void with_rgb_constant(const ColorParams& p, F f) {
    if (p.c == 3 && p.decorrelate) {
        ColorParams q = p;
        q.c = 3;
        q.decorrelate = 1;
        f(q);
    } else {
        f(p);
    }
}

// The per-pixel linear passes over pixels [0, npix).
void linear_fwd_block(const ColorParams& p, const float* x, float* t, lf_idx npix) {
    with_rgb_constant(p, [&](const ColorParams& q) {
        for (lf_idx i = 0; i < npix; ++i) color_linear_fwd_elem(q, x, t, i);
    });
}

void linear_adj_block(const ColorParams& p, const float* grad_t, float* grad_x, lf_idx npix) {
    with_rgb_constant(p, [&](const ColorParams& q) {
        for (lf_idx i = 0; i < npix; ++i) color_linear_adj_elem(q, grad_t, grad_x, i);
    });
}

// One block of npix pixels, run by the calling thread. The adjoint needs scratch for npix * c floats.
void color_fwd_block(const ColorParams& p, const float* x, float* y, lf_idx npix) {
    linear_fwd_block(p, x, y, npix);  // y holds t until squashed
    const lf_idx m = npix * p.c;
    if (p.sigmoid) {
#pragma omp simd
        for (lf_idx k = 0; k < m; ++k) y[k] = lf_sigmoid(y[k]);
    } else {
#pragma omp simd
        for (lf_idx k = 0; k < m; ++k) y[k] = color_squash_fwd(p, y[k]);
    }
}

void color_adj_block(const ColorParams& p, const float* x, const float* grad_y, float* grad_x, lf_idx npix,
                     float* scratch) {
    linear_fwd_block(p, x, scratch, npix);  // scratch holds t, then grad_t
    const lf_idx m = npix * p.c;
    if (p.sigmoid) {
#pragma omp simd
        for (lf_idx k = 0; k < m; ++k) scratch[k] = color_sigmoid_adj(scratch[k], grad_y[k]);
    } else {
#pragma omp simd
        for (lf_idx k = 0; k < m; ++k) scratch[k] = color_squash_adj(p, scratch[k], grad_y[k]);
    }
    linear_adj_block(p, scratch, grad_x, npix);
}

}  // namespace

void color_fwd_cpu(const ColorParams& p, const float* x, float* y, lf_idx n) {
    const lf_idx blocks = (n + kColorBlockPixels - 1) / kColorBlockPixels;
#pragma omp parallel for schedule(static)
    for (lf_idx blk = 0; blk < blocks; ++blk) {
        const lf_idx i0 = blk * kColorBlockPixels;
        color_fwd_block(p, x + i0 * p.c, y + i0 * p.c, lf_min(n, i0 + kColorBlockPixels) - i0);
    }
}

void color_adj_cpu(const ColorParams& p, const float* x, const float* grad_y, float* grad_x, lf_idx n) {
    const lf_idx blocks = (n + kColorBlockPixels - 1) / kColorBlockPixels;
#pragma omp parallel
    {
        std::vector<float> scratch(kColorBlockPixels * p.c);
#pragma omp for schedule(static)
        for (lf_idx blk = 0; blk < blocks; ++blk) {
            const lf_idx i0 = blk * kColorBlockPixels;
            color_adj_block(p, x + i0 * p.c, grad_y + i0 * p.c, grad_x + i0 * p.c,
                            lf_min(n, i0 + kColorBlockPixels) - i0, scratch.data());
        }
    }
}

// ColorParams, field by field, for the checks of its Python mirrors (lf_param_layout.h).
LfLayout color_params_layout_cpu() {
    using S = ColorParams;
    static constexpr LfField fields[] = {LF_FIELD(S, c), LF_FIELD(S, decorrelate), LF_FIELD(S, sigmoid),
                                         LF_FIELD(S, matrix), LF_FIELD(S, offset)};
    static_assert(lf_fields_tile(fields, sizeof(S)), "ColorParams: list every field, in declaration order");
    return lf_layout("ColorParams", sizeof(S), fields);
}
