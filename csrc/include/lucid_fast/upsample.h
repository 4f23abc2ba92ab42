// upsample.h — bilinear resize of NHWC tensors (Lucid's lowres_tensor) and its adjoint.
//
// Semantics of TF2 tf.image.resize(x, (ho, wo), "bilinear") without antialiasing (ResizeBilinear with
// half_pixel_centers): output pixel (i, j) samples the input at index coordinates
//     u = (j + 0.5) * scale_x - 0.5,  v = (i + 0.5) * scale_y - 0.5,  scale = in_size / out_size (float32),
// with taps clamped to the image (warp.h's edge pad mode, which equals TF's clamping of lower/upper).
// Broadcasts: a low-res batch of 1 serves every output item (n_low == 1), and a low-res channel count of 1
// serves every output channel (c_low == 1); the adjoint then sums over the broadcast items/channels.
//
// upsample_taps() is shared by upsample_fwd_elem (gather) and upsample_adj_elem (scatter).
#pragma once
#include "lucid_fast/lf_defs.h"
#include "lucid_fast/warp.h"

struct UpsampleParams {
    int n, ho, wo, c;                 // output NHWC shape
    int n_low, h_low, w_low, c_low;   // low-res NHWC shape; n_low in {1, n}, c_low in {1, c}
    float scale_y, scale_x;           // h_low / ho and w_low / wo, rounded to float32 as TF does
};

// The 4 taps of output pixel `pix` (flat index over n x ho x wo): element offsets of channel 0 into the
// low-res tensor and bilinear weights, in the order (y0,x0), (y0,x1), (y1,x0), (y1,x1).
LF_HD void upsample_taps(const UpsampleParams& p, lf_idx pix, lf_idx off[4], float wt[4]) {
    lf_idx b, i, j;
    warp_unravel(pix, p.ho, p.wo, &b, &i, &j);
    if (p.n_low == 1) b = 0;  // batch broadcast
    int x0, x1, y0, y1;
    float fx, fy;
    warp_axis_taps(((float)j + 0.5f) * p.scale_x - 0.5f, p.w_low, WARP_PAD_EDGE, &x0, &x1, &fx);
    warp_axis_taps(((float)i + 0.5f) * p.scale_y - 0.5f, p.h_low, WARP_PAD_EDGE, &y0, &y1, &fy);
    const lf_idx row0 = (b * p.h_low + y0) * p.w_low;
    const lf_idx row1 = (b * p.h_low + y1) * p.w_low;
    off[0] = (row0 + x0) * p.c_low;
    off[1] = (row0 + x1) * p.c_low;
    off[2] = (row1 + x0) * p.c_low;
    off[3] = (row1 + x1) * p.c_low;
    wt[0] = (1.0f - fy) * (1.0f - fx);
    wt[1] = (1.0f - fy) * fx;
    wt[2] = fy * (1.0f - fx);
    wt[3] = fy * fx;
}

//------------------------------------------------------------------------
// Forward (gather): y[pix, ch] = sum_k wt_k * x_low[off_k + (c_low == 1 ? 0 : ch)].

LF_HD void upsample_fwd_elem(const UpsampleParams& p, const float* x_low, float* y, lf_idx pix) {
    lf_idx off[4];
    float wt[4];
    upsample_taps(p, pix, off, wt);
    float* yp = y + pix * p.c;
    const int cstep = p.c_low == 1 ? 0 : 1;
    for (int ch = 0; ch < p.c; ++ch) {
        const int lc = ch * cstep;
        yp[ch] = wt[0] * x_low[off[0] + lc] + wt[1] * x_low[off[1] + lc] + wt[2] * x_low[off[2] + lc] +
                 wt[3] * x_low[off[3] + lc];
    }
}

// Adjoint of upsample_fwd_elem w.r.t. x_low, through the same upsample_taps():
// grad_low[off_k + lc] += wt_k * grad_y[pix, ch] (lc = 0 for all ch when c_low == 1). grad_low must be
// zeroed first.
LF_HD void upsample_adj_elem(const UpsampleParams& p, const float* grad_y, float* grad_low, lf_idx pix) {
    lf_idx off[4];
    float wt[4];
    upsample_taps(p, pix, off, wt);
    const float* gp = grad_y + pix * p.c;
    if (p.c_low == 1) {  // channel broadcast: the low-res value feeds every channel, sum them first
        float gsum = 0.0f;
        for (int ch = 0; ch < p.c; ++ch) gsum += gp[ch];
        for (int k = 0; k < 4; ++k)
            if (wt[k] != 0.0f) lf_atomic_add(grad_low + off[k], wt[k] * gsum);
        return;
    }
    for (int k = 0; k < 4; ++k) {
        if (wt[k] == 0.0f) continue;
        for (int ch = 0; ch < p.c; ++ch) lf_atomic_add(grad_low + off[k] + ch, wt[k] * gp[ch]);
    }
}
