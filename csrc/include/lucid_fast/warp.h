// warp.h — bilinear affine warp of NHWC images and its adjoint.
//
// One warp replaces Lucid's pad + jitter + random_scale + random_rotate chain: the Python side composes the
// stages into one output->input matrix per batch item (bindings/warp_matrices.py).
//
// Coordinates seen by the kernels are INDEX coordinates: output pixel (row i, col j) is mapped by the item's
// row-major 2x3 matrix m to the continuous input index (u, v) = (m0 j + m1 i + m2, m3 j + m4 i + m5), where
// input pixel (row r, col k) sits at (k, r). The public wrapper converts the user's edge-convention matrix
// (pixel centres at k + 0.5) to this form once per call, so the element functions do two FMAs per axis.
//
// The input is sampled bilinearly from the 4 integer taps around (u, v). A tap outside the image is mapped by
// the pad mode: constant (the tap reads fill), reflect (tf.pad REFLECT: -1 -> 1), symmetric (tf.pad
// SYMMETRIC: -1 -> 0) or edge (clamp). reflect and symmetric extend periodically for far taps.
//
// warp_taps() computes the taps once, for both warp_fwd_elem (gather) and warp_adj_elem (scatter), so the
// two are exact transposes of each other by construction (the fill is a constant and gets no gradient).
//
// Element functions address output pixel (b, i, j) as a row, set up once by warp_row(b, i), and a column j:
// the CPU drivers loop over rows with an inner column loop (no integer division per pixel, the row's terms
// computed once); the CUDA kernels unravel their flat index through the *_pix wrappers at the end.
// The channel count is a template argument C (C > 0: a compile-time count the drivers dispatch for the usual
// 1, 3, 4; C = 0: p.c at run time), and the adjoint takes its add policy as a template argument (kAtomic:
// lf_atomic_add for destinations shared between threads; plain adds where the driver gives each thread its
// own destination).
//
// The op's files: this header, csrc/cpu/warp_cpu.{h,cpp}, csrc/cuda/warp.cu, bindings/warp.pxi and
// bindings/op_warp.py (imported as lucid_fast._bindings.op_warp); with its tests: bindings/README.md.
// WarpParams is mirrored in Python (bindings/warp.pxi, WARP_PARAMS_DTYPE in bindings/op_warp.py) and checked
// field by field against this definition (csrc/cpu/lf_param_layout.h): 4-byte int and float fields only.
#pragma once
#include "lucid_fast/lf_defs.h"

enum WarpPadMode { WARP_PAD_CONSTANT = 0, WARP_PAD_REFLECT = 1, WARP_PAD_SYMMETRIC = 2, WARP_PAD_EDGE = 3 };

struct WarpParams {
    int n, h, w, c;        // input NHWC shape (the matrices hold n items)
    int ho, wo;            // output height and width (output is n x ho x wo x c)
    int pad_mode;          // a WarpPadMode
    int fill_per_channel;  // 0: fill[0] for every channel; 1: fill[ch] (then c <= 4)
    float fill[4];         // value read by taps outside the image in WARP_PAD_CONSTANT mode
};

// Continuous coordinates are clamped to +-2^24 before flooring: float32 has no fractional part there, the int
// conversion stays defined for any finite (or overflowed) matrix product, and such taps are far outside anyway.
#define WARP_COORD_LIMIT 16777216.0f

//------------------------------------------------------------------------
// Shared tap geometry (also used by upsample.h with WARP_PAD_EDGE).

// (b, i, j) of flat index pix over (*, ho, wo). Uses 32-bit unsigned division whenever pix fits (always, in
// practice): 64-bit integer division is several times slower. Used by the CUDA kernels' flat loops only.
LF_HD void warp_unravel(lf_idx pix, int ho, int wo, lf_idx* b, int* i, int* j) {
    if (pix <= 0xffffffffLL) {
        const unsigned p32 = (unsigned)pix, t = p32 / (unsigned)wo, bb = t / (unsigned)ho;
        *j = (int)(p32 - t * (unsigned)wo);
        *i = (int)(t - bb * (unsigned)ho);
        *b = bb;
    } else {
        const lf_idx t = pix / wo;
        *j = (int)(pix - t * wo);
        *b = t / ho;
        *i = (int)(t - *b * ho);
    }
}

// The in-image index of integer tap k on an axis of `size` pixels, or -1 (constant mode, outside).
LF_HD int warp_pad_index(int k, int size, int mode) {
    if (k >= 0 && k < size) return k;
    if (mode == WARP_PAD_CONSTANT) return -1;
    if (mode == WARP_PAD_EDGE || size == 1) return k < 0 ? 0 : size - 1;
    if (mode == WARP_PAD_REFLECT) {  // period 2(size-1), mirror about 0 and size-1 without repeating them
        const int period = 2 * (size - 1);
        int r = k % period;
        if (r < 0) r += period;
        return r < size ? r : period - r;
    }
    const int period = 2 * size;  // WARP_PAD_SYMMETRIC: mirror about -0.5 and size-0.5, edges repeated
    int r = k % period;
    if (r < 0) r += period;
    return r < size ? r : period - 1 - r;
}

// floor(u) for u clamped to +-WARP_COORD_LIMIT, with *frac = u - floor(u) in [0, 1).
LF_HD int warp_floor(float u, float* frac) {
    u = u < WARP_COORD_LIMIT ? u : WARP_COORD_LIMIT;    // compares, not fminf/fmaxf (libm calls on the host)
    u = u > -WARP_COORD_LIMIT ? u : -WARP_COORD_LIMIT;  // a NaN fails both compares and ends at -LIMIT
    int k = (int)u;      // truncation, exact for |u| <= 2^24, then floor (branch-free, no libm call)
    k -= (float)k > u ? 1 : 0;
    *frac = u - (float)k;
    return k;
}

// The two taps of continuous index coordinate u on one axis: indices *i0, *i1 (-1 = outside, constant mode)
// with weights 1 - *frac and *frac.
LF_HD void warp_axis_taps(float u, int size, int mode, int* i0, int* i1, float* frac) {
    const int k = warp_floor(u, frac);
    *i0 = warp_pad_index(k, size, mode);
    *i1 = warp_pad_index(k + 1, size, mode);
}

// What every pixel of output row (b, i) shares: its item's matrix entries m0, m2, m3, m5, the row's terms
// m1 i and m4 i of the two coordinates, the pixel index of column 0 and the item's first input pixel. (Values,
// not a pointer to the matrix, so loops keep them in registers while they store outputs.)
struct WarpRow {
    float m0, m1y, m2, m3, m4y, m5;
    lf_idx pix0, in0;
};

LF_HD WarpRow warp_row(const WarpParams& p, const float* mats, lf_idx b, int i) {
    const float* m = mats + 6 * b;
    WarpRow r;
    r.m0 = m[0];
    r.m1y = m[1] * (float)i;
    r.m2 = m[2];
    r.m3 = m[3];
    r.m4y = m[4] * (float)i;
    r.m5 = m[5];
    r.pix0 = (b * p.ho + i) * p.wo;
    r.in0 = b * p.h * p.w;
    return r;
}

// The 4 bilinear taps of output pixel (row r, column j) for C channels (0: p.c), in the order (y0,x0), (y0,x1), (y1,x0), (y1,x1): the
// weights wt, and the taps' element offsets into the input. The coordinates are u = m0 j + m1 i + m2 and
// v = m3 j + m4 i + m5, summed in that order.
// Returns true when all 4 taps are inside the image (the common case: no pad mapping, all offsets >= 0).
// Otherwise the offsets come through the pad mode, -1 for a tap outside (constant mode: it reads the fill).
// *ahead is set to the offset of the pixel two rows below tap (y0,x0) when that row exists, else -1: for
// near-identity matrices (m4 ~ 1) the next output row's new taps are there, so the CPU loops prefetch it (the
// taps walk diagonally through the input and the hardware prefetchers miss that pattern).
template <int C>
LF_HD bool warp_taps(const WarpParams& p, const WarpRow& r, int j, lf_idx off[4], float wt[4], lf_idx* ahead) {
    const int c = C > 0 ? C : p.c;
    const float x = (float)j;
    float fx, fy;
    const int kx = warp_floor(r.m0 * x + r.m1y + r.m2, &fx);
    const int ky = warp_floor(r.m3 * x + r.m4y + r.m5, &fy);
    wt[0] = (1.0f - fy) * (1.0f - fx);
    wt[1] = (1.0f - fy) * fx;
    wt[2] = fy * (1.0f - fx);
    wt[3] = fy * fx;
    if ((unsigned)kx < (unsigned)(p.w - 1) && (unsigned)ky < (unsigned)(p.h - 1)) {  // 0 <= k, k + 1 < size
        const lf_idx row = (lf_idx)p.w * c;
        off[0] = (r.in0 + (lf_idx)ky * p.w + kx) * c;
        off[1] = off[0] + c;
        off[2] = off[0] + row;
        off[3] = off[2] + c;
        *ahead = ky + 2 < p.h ? off[2] + row : -1;
        return true;
    }
    *ahead = -1;
    const int x0 = warp_pad_index(kx, p.w, p.pad_mode), x1 = warp_pad_index(kx + 1, p.w, p.pad_mode);
    const int y0 = warp_pad_index(ky, p.h, p.pad_mode), y1 = warp_pad_index(ky + 1, p.h, p.pad_mode);
    const lf_idx row0 = y0 < 0 ? -1 : r.in0 + (lf_idx)y0 * p.w;
    const lf_idx row1 = y1 < 0 ? -1 : r.in0 + (lf_idx)y1 * p.w;
    off[0] = (row0 < 0 || x0 < 0) ? -1 : (row0 + x0) * c;
    off[1] = (row0 < 0 || x1 < 0) ? -1 : (row0 + x1) * c;
    off[2] = (row1 < 0 || x0 < 0) ? -1 : (row1 + x0) * c;
    off[3] = (row1 < 0 || x1 < 0) ? -1 : (row1 + x1) * c;
    return false;
}

//------------------------------------------------------------------------
// Forward (gather): y[pix, ch] = sum_k wt_k * (off_k >= 0 ? x[off_k + ch] : fill[ch]), for all channels, summed
// in tap order on both paths of warp_taps.

template <int C>
LF_HD void warp_fwd_elem(const WarpParams& p, const WarpRow& r, const float* x, float* y, int j) {
    const int c = C > 0 ? C : p.c;
    lf_idx off[4];
    float wt[4];
    float* yp = y + (r.pix0 + j) * c;
    lf_idx ahead;
    if (warp_taps<C>(p, r, j, off, wt, &ahead)) {
        if (ahead >= 0) lf_prefetch(x + ahead);
        for (int ch = 0; ch < c; ++ch)
            yp[ch] = wt[0] * x[off[0] + ch] + wt[1] * x[off[1] + ch] + wt[2] * x[off[2] + ch] + wt[3] * x[off[3] + ch];
        return;
    }
    for (int ch = 0; ch < c; ++ch) {
        const float fill = p.fill[p.fill_per_channel ? ch : 0];
        yp[ch] = wt[0] * (off[0] >= 0 ? x[off[0] + ch] : fill) + wt[1] * (off[1] >= 0 ? x[off[1] + ch] : fill) +
                 wt[2] * (off[2] >= 0 ? x[off[2] + ch] : fill) + wt[3] * (off[3] >= 0 ? x[off[3] + ch] : fill);
    }
}

// Adjoint of warp_fwd_elem w.r.t. x (matrices and fill fixed), through the same warp_taps():
// grad_x[off_k + ch] += wt_k * grad_y[pix, ch] for the in-image taps, with lf_scatter_add<kAtomic>. Like the
// forward, which reads all 4 taps, it adds to in-image taps of zero weight too (zero, for finite cotangents).
// grad_x must be zeroed first.
template <bool kAtomic, int C>
LF_HD void warp_adj_elem(const WarpParams& p, const WarpRow& r, const float* grad_y, float* grad_x, int j) {
    const int c = C > 0 ? C : p.c;
    lf_idx off[4];
    float wt[4];
    const float* gp = grad_y + (r.pix0 + j) * c;
    lf_idx ahead;
    if (warp_taps<C>(p, r, j, off, wt, &ahead)) {
        if (ahead >= 0) lf_prefetch_w(grad_x + ahead);
        float* g0 = grad_x + off[0];  // the in-image layout, as pointers (cheaper addressing than off[1..3])
        float* g2 = g0 + (lf_idx)p.w * c;
        for (int ch = 0; ch < c; ++ch) {
            const float g = gp[ch];
            lf_scatter_add<kAtomic>(g0 + ch, wt[0] * g);
            lf_scatter_add<kAtomic>(g0 + c + ch, wt[1] * g);
            lf_scatter_add<kAtomic>(g2 + ch, wt[2] * g);
            lf_scatter_add<kAtomic>(g2 + c + ch, wt[3] * g);
        }
        return;
    }
    for (int k = 0; k < 4; ++k) {
        if (off[k] < 0) continue;  // outside: the fill is a constant
        for (int ch = 0; ch < c; ++ch) lf_scatter_add<kAtomic>(grad_x + off[k] + ch, wt[k] * gp[ch]);
    }
}

//------------------------------------------------------------------------
// Flat-index forms for the CUDA kernels: pixel pix over n x ho x wo, any channel count, atomic adjoint.

LF_HD void warp_fwd_pix(const WarpParams& p, const float* mats, const float* x, float* y, lf_idx pix) {
    lf_idx b;
    int i, j;
    warp_unravel(pix, p.ho, p.wo, &b, &i, &j);
    warp_fwd_elem<0>(p, warp_row(p, mats, b, i), x, y, j);
}

LF_HD void warp_adj_pix(const WarpParams& p, const float* mats, const float* grad_y, float* grad_x, lf_idx pix) {
    lf_idx b;
    int i, j;
    warp_unravel(pix, p.ho, p.wo, &b, &i, &j);
    warp_adj_elem<true, 0>(p, warp_row(p, mats, b, i), grad_y, grad_x, j);
}
