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
// practice): 64-bit integer division is several times slower on x86 hosts.
LF_HD void warp_unravel(lf_idx pix, int ho, int wo, lf_idx* b, lf_idx* i, lf_idx* j) {
    if (pix <= 0xffffffffLL) {
        const unsigned p32 = (unsigned)pix, t = p32 / (unsigned)wo, bb = t / (unsigned)ho;
        *j = p32 - t * (unsigned)wo;
        *i = t - bb * (unsigned)ho;
        *b = bb;
    } else {
        const lf_idx t = pix / wo;
        *j = pix - t * wo;
        *b = t / ho;
        *i = t - *b * ho;
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

// The two taps of continuous index coordinate u on one axis: indices *i0, *i1 (-1 = outside, constant mode)
// with weights 1 - *frac and *frac.
LF_HD void warp_axis_taps(float u, int size, int mode, int* i0, int* i1, float* frac) {
    u = u < WARP_COORD_LIMIT ? u : WARP_COORD_LIMIT;    // compares, not fminf/fmaxf (libm calls on the host)
    u = u > -WARP_COORD_LIMIT ? u : -WARP_COORD_LIMIT;  // a NaN fails both compares and ends at -LIMIT
    int k = (int)u;      // truncation, exact for |u| <= 2^24, then floor (branch-free, no libm call)
    k -= (float)k > u ? 1 : 0;
    *frac = u - (float)k;
    *i0 = warp_pad_index(k, size, mode);
    *i1 = warp_pad_index(k + 1, size, mode);
}

// The 4 bilinear taps of output pixel `pix` (flat index over n x ho x wo): element offsets into the input
// (-1 = outside, reads the fill) and weights, in the order (y0,x0), (y0,x1), (y1,x0), (y1,x1).
LF_HD void warp_taps(const WarpParams& p, const float* mats, lf_idx pix, lf_idx off[4], float wt[4]) {
    lf_idx b, i, j;
    warp_unravel(pix, p.ho, p.wo, &b, &i, &j);
    const float* m = mats + 6 * b;
    const float x = (float)j, y = (float)i;
    int x0, x1, y0, y1;
    float fx, fy;
    warp_axis_taps(m[0] * x + m[1] * y + m[2], p.w, p.pad_mode, &x0, &x1, &fx);
    warp_axis_taps(m[3] * x + m[4] * y + m[5], p.h, p.pad_mode, &y0, &y1, &fy);
    const lf_idx row0 = y0 < 0 ? -1 : (b * p.h + y0) * p.w;
    const lf_idx row1 = y1 < 0 ? -1 : (b * p.h + y1) * p.w;
    off[0] = (row0 < 0 || x0 < 0) ? -1 : (row0 + x0) * p.c;
    off[1] = (row0 < 0 || x1 < 0) ? -1 : (row0 + x1) * p.c;
    off[2] = (row1 < 0 || x0 < 0) ? -1 : (row1 + x0) * p.c;
    off[3] = (row1 < 0 || x1 < 0) ? -1 : (row1 + x1) * p.c;
    wt[0] = (1.0f - fy) * (1.0f - fx);
    wt[1] = (1.0f - fy) * fx;
    wt[2] = fy * (1.0f - fx);
    wt[3] = fy * fx;
}

//------------------------------------------------------------------------
// Forward (gather): y[pix, ch] = sum_k wt_k * (off_k >= 0 ? x[off_k + ch] : fill[ch]), for all channels.

LF_HD void warp_fwd_elem(const WarpParams& p, const float* mats, const float* x, float* y, lf_idx pix) {
    lf_idx off[4];
    float wt[4];
    warp_taps(p, mats, pix, off, wt);
    float* yp = y + pix * p.c;
    for (int ch = 0; ch < p.c; ++ch) {
        const float fill = p.fill[p.fill_per_channel ? ch : 0];
        float acc = 0.0f;
        for (int k = 0; k < 4; ++k) acc += wt[k] * (off[k] >= 0 ? x[off[k] + ch] : fill);
        yp[ch] = acc;
    }
}

// Adjoint of warp_fwd_elem w.r.t. x (matrices and fill fixed), through the same warp_taps():
// grad_x[off_k + ch] += wt_k * grad_y[pix, ch] for the in-image taps. grad_x must be zeroed first.
LF_HD void warp_adj_elem(const WarpParams& p, const float* mats, const float* grad_y, float* grad_x, lf_idx pix) {
    lf_idx off[4];
    float wt[4];
    warp_taps(p, mats, pix, off, wt);
    const float* gp = grad_y + pix * p.c;
    for (int k = 0; k < 4; ++k) {
        if (off[k] < 0 || wt[k] == 0.0f) continue;  // outside (the fill is a constant) or a zero-weight tap
        for (int ch = 0; ch < p.c; ++ch) lf_atomic_add(grad_x + off[k] + ch, wt[k] * gp[ch]);
    }
}
