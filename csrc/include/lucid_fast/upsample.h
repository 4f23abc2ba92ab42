// upsample.h — bilinear resize of NHWC tensors (Lucid's lowres_tensor) and its adjoint.
//
// Semantics of TF2 tf.image.resize(x, (ho, wo), "bilinear") without antialiasing (ResizeBilinear with
// half_pixel_centers): output pixel (i, j) samples the input at index coordinates
//     u = (j + 0.5) * scale_x - 0.5,  v = (i + 0.5) * scale_y - 0.5,  scale = in_size / out_size (float32),
// with taps clamped to the image (warp.h's edge pad mode, which equals TF's clamping of lower/upper).
// Broadcasts: a low-res batch of 1 serves every output item (n_low == 1), and a low-res channel count of 1
// serves every output channel (c_low == 1); the adjoint then sums over the broadcast items/channels.
//
// upsample_taps() is shared by upsample_fwd_elem (gather) and upsample_adj_elem (scatter). As in warp.h, the
// element functions take an output row set up once by upsample_row(b, i) and a column j, a compile-time
// channel count C (0: p.c at run time) and, for the adjoint, the add policy kAtomic; the CUDA kernels use the
// flat-index *_pix wrappers at the end.
//
// The op's files: this header, csrc/cpu/upsample_cpu.{h,cpp}, csrc/cuda/upsample.cu, bindings/upsample.pxi and
// bindings/op_upsample.py (imported as lucid_fast._bindings.op_upsample); with its tests: bindings/README.md.
// UpsampleParams is mirrored in Python (bindings/upsample.pxi, UPSAMPLE_PARAMS_DTYPE in
// bindings/op_upsample.py) and checked field by field against this definition (csrc/cpu/lf_param_layout.h):
// 4-byte int and float fields only.
#pragma once
#include "lucid_fast/lf_defs.h"
#include "lucid_fast/warp.h"

struct UpsampleParams {
    int n, ho, wo, c;                 // output NHWC shape
    int n_low, h_low, w_low, c_low;   // low-res NHWC shape; n_low in {1, n}, c_low in {1, c}
    float scale_y, scale_x;           // h_low / ho and w_low / wo, rounded to float32 as TF does
};

// What every pixel of output row (b, i) shares: the low-res row offsets of the two vertical taps (item
// included, in pixels), their weight fy, and the pixel index of column 0.
struct UpsampleRow {
    lf_idx row0, row1, pix0;
    float fy;
};

LF_HD UpsampleRow upsample_row(const UpsampleParams& p, lf_idx b, int i) {
    UpsampleRow r;
    r.pix0 = (b * p.ho + i) * p.wo;
    if (p.n_low == 1) b = 0;  // batch broadcast
    int y0, y1;
    warp_axis_taps(((float)i + 0.5f) * p.scale_y - 0.5f, p.h_low, WARP_PAD_EDGE, &y0, &y1, &r.fy);
    r.row0 = (b * p.h_low + y0) * p.w_low;
    r.row1 = (b * p.h_low + y1) * p.w_low;
    return r;
}

// The 4 taps of output pixel (row r, column j): element offsets of channel 0 into the low-res tensor and
// bilinear weights, in the order (y0,x0), (y0,x1), (y1,x0), (y1,x1).
LF_HD void upsample_taps(const UpsampleParams& p, const UpsampleRow& r, int j, lf_idx off[4], float wt[4]) {
    int x0, x1;
    float fx;
    warp_axis_taps(((float)j + 0.5f) * p.scale_x - 0.5f, p.w_low, WARP_PAD_EDGE, &x0, &x1, &fx);
    off[0] = (r.row0 + x0) * p.c_low;
    off[1] = (r.row0 + x1) * p.c_low;
    off[2] = (r.row1 + x0) * p.c_low;
    off[3] = (r.row1 + x1) * p.c_low;
    const float fy = r.fy;
    wt[0] = (1.0f - fy) * (1.0f - fx);
    wt[1] = (1.0f - fy) * fx;
    wt[2] = fy * (1.0f - fx);
    wt[3] = fy * fx;
}

//------------------------------------------------------------------------
// Forward (gather): y[pix, ch] = sum_k wt_k * x_low[off_k + (c_low == 1 ? 0 : ch)].

template <int C>
LF_HD void upsample_fwd_elem(const UpsampleParams& p, const UpsampleRow& r, const float* x_low, float* y, int j) {
    const int c = C > 0 ? C : p.c;
    lf_idx off[4];
    float wt[4];
    upsample_taps(p, r, j, off, wt);
    float* yp = y + (r.pix0 + j) * c;
    const int cstep = p.c_low == 1 ? 0 : 1;
    for (int ch = 0; ch < c; ++ch) {
        const int lc = ch * cstep;
        yp[ch] = wt[0] * x_low[off[0] + lc] + wt[1] * x_low[off[1] + lc] + wt[2] * x_low[off[2] + lc] +
                 wt[3] * x_low[off[3] + lc];
    }
}

// Adjoint of upsample_fwd_elem w.r.t. x_low, through the same upsample_taps():
// grad_low[off_k + lc] += wt_k * grad_y[pix, ch] (lc = 0 for all ch when c_low == 1), with
// lf_scatter_add<kAtomic>, for all 4 taps (clamped taps may coincide: each adds its own weight).
// grad_low must be zeroed first.
template <bool kAtomic, int C>
LF_HD void upsample_adj_elem(const UpsampleParams& p, const UpsampleRow& r, const float* grad_y, float* grad_low,
                             int j) {
    const int c = C > 0 ? C : p.c;
    lf_idx off[4];
    float wt[4];
    upsample_taps(p, r, j, off, wt);
    const float* gp = grad_y + (r.pix0 + j) * c;
    if (p.c_low == 1) {  // channel broadcast: the low-res value feeds every channel, sum them first
        float gsum = 0.0f;
        for (int ch = 0; ch < c; ++ch) gsum += gp[ch];
        for (int k = 0; k < 4; ++k) lf_scatter_add<kAtomic>(grad_low + off[k], wt[k] * gsum);
        return;
    }
    for (int ch = 0; ch < c; ++ch) {
        const float g = gp[ch];
        lf_scatter_add<kAtomic>(grad_low + off[0] + ch, wt[0] * g);
        lf_scatter_add<kAtomic>(grad_low + off[1] + ch, wt[1] * g);
        lf_scatter_add<kAtomic>(grad_low + off[2] + ch, wt[2] * g);
        lf_scatter_add<kAtomic>(grad_low + off[3] + ch, wt[3] * g);
    }
}

//------------------------------------------------------------------------
// Flat-index forms for the CUDA kernels: pixel pix over n x ho x wo, any channel count, atomic adjoint.

LF_HD void upsample_fwd_pix(const UpsampleParams& p, const float* x_low, float* y, lf_idx pix) {
    lf_idx b;
    int i, j;
    warp_unravel(pix, p.ho, p.wo, &b, &i, &j);
    upsample_fwd_elem<0>(p, upsample_row(p, b, i), x_low, y, j);
}

LF_HD void upsample_adj_pix(const UpsampleParams& p, const float* grad_y, float* grad_low, lf_idx pix) {
    lf_idx b;
    int i, j;
    warp_unravel(pix, p.ho, p.wo, &b, &i, &j);
    upsample_adj_elem<true, 0>(p, upsample_row(p, b, i), grad_y, grad_low, j);
}
