// sample.h — bilinear texture sampling at per-pixel UV coordinates (3D texture parameterizations) and its adjoint.
//
// Semantics of Lucid's optvis.param.spatial.bilinearly_sampled_image, i.e. OpenGL's GL_REPEAT wrapping with
// GL_LINEAR filtering: for a texture of th x tw texels and a UV pair (u, v), v is flipped (OpenGL's v = 0 is the
// bottom row, the texture's row 0 is its top), texel centres sit at +0.5, so the continuous texel coordinates are
//     x = u * tw - 0.5,   y = (1 - v) * th - 0.5,
// the 4 taps are floor(x) + {0, 1} and floor(y) + {0, 1}, each wrapped into the texture (modulo its size, also
// for negative coordinates), and the weights are the fractional parts. Any finite UV is valid; u = 0 and u = 1
// read the same texels. A coordinate of magnitude >= 2^23 is an integer in float32, so it reads as 0 (the
// texture repeats with period 1): sample_reduce() maps it there before the multiplication by the texture size,
// which for |u| near FLT_MAX would overflow to inf (and NaN weights). Smaller coordinates are not touched.
//
// Layout: the texture is NHWC (n x th x tw x c, n = 1 for an unbatched one); uv is uv_n x npix x 2 (uv_n = 1:
// one set of UVs shared by every item, else uv_n = n); the output is n x npix x c. sample_taps() serves both
// sample_fwd_elem (gather) and sample_adj_elem (scatter), so the two are exact transposes by construction.
// As in warp.h the channel count is a template argument C (0: p.c at run time) and the adjoint takes its add
// policy kAtomic; the CUDA kernels use the flat-index *_pix forms at the end.
//
// The op's files: this header, csrc/cpu/sample_cpu.{h,cpp}, csrc/cuda/sample.cu, bindings/sample.pxi and
// bindings/op_sample.py (imported as lucid_fast._bindings.op_sample); with its tests: bindings/README.md.
// SampleParams is mirrored in Python (bindings/sample.pxi, SAMPLE_PARAMS_DTYPE in bindings/op_sample.py) and checked
// field by field against this definition (csrc/cpu/lf_param_layout.h): 4-byte int and float fields only.
#pragma once
#include "lucid_fast/lf_defs.h"

struct SampleParams {
    int n;           // texture (and output) batch
    int uv_n;        // UV batch: 1 (shared by every item) or n
    int th, tw, c;   // texture height, width, channels
    int npix;        // UV pairs (output pixels) per item
};

//------------------------------------------------------------------------
// Tap geometry.

// The wrapped texel index of integer-valued coordinate k0 (a float from floorf) on an axis of size `size`:
// k0 mod size in [0, size), computed in float so that any finite coordinate is fine; the final guard maps the
// rounding edge (k0 just below a multiple of size) and non-finite input to a valid index.
LF_HD int sample_wrap(float k0, int size) {
    const float fs = (float)size;
    const float q = k0 - fs * floorf(k0 / fs);
    int k = (int)(q >= 0.0f && q < fs ? q : 0.0f);
    return k < size ? k : 0;
}

// u (or v) itself for |u| < 2^23, else 0: every float32 of magnitude >= 2^23 is an integer, which GL_REPEAT
// reads as 0. Keeps u * size finite for any finite u (3e38 * 4 overflows to inf); NaN passes through.
LF_HD float sample_reduce(float t) {
    return fabsf(t) >= 8388608.0f ? 0.0f : t;
}

// Texel offsets (channel 0, within the item's texture) and bilinear weights of the 4 taps of UV pair (u, v), in
// the order (y0, x0), (y0, x1), (y1, x0), (y1, x1).
LF_HD void sample_taps(const SampleParams& p, float u, float v, lf_idx off[4], float wt[4]) {
    const float x = sample_reduce(u) * (float)p.tw - 0.5f;
    const float y = (1.0f - sample_reduce(v)) * (float)p.th - 0.5f;
    const float x0f = floorf(x), y0f = floorf(y);
    const float fx = x - x0f, fy = y - y0f;
    const int x0 = sample_wrap(x0f, p.tw), x1 = sample_wrap(x0f + 1.0f, p.tw);
    const int y0 = sample_wrap(y0f, p.th), y1 = sample_wrap(y0f + 1.0f, p.th);
    const lf_idx r0 = (lf_idx)y0 * p.tw, r1 = (lf_idx)y1 * p.tw;
    off[0] = (r0 + x0) * p.c;
    off[1] = (r0 + x1) * p.c;
    off[2] = (r1 + x0) * p.c;
    off[3] = (r1 + x1) * p.c;
    wt[0] = (1.0f - fy) * (1.0f - fx);
    wt[1] = (1.0f - fy) * fx;
    wt[2] = fy * (1.0f - fx);
    wt[3] = fy * fx;
}

// Pointers of item b: its texture, its UV pairs, its output rows.
LF_HD const float* sample_tex_item(const SampleParams& p, const float* tex, lf_idx b) {
    return tex + b * (lf_idx)p.th * p.tw * p.c;
}

LF_HD const float* sample_uv_item(const SampleParams& p, const float* uv, lf_idx b) {
    return uv + (p.uv_n == 1 ? 0 : b) * (lf_idx)p.npix * 2;
}

//------------------------------------------------------------------------
// Forward (gather): out[b, i, ch] = sum_k wt_k * tex[b, off_k + ch].

template <int C>
LF_HD void sample_fwd_elem(const SampleParams& p, const float* tex_b, const float* uv_b, float* out_b, lf_idx i) {
    const int c = C > 0 ? C : p.c;
    lf_idx off[4];
    float wt[4];
    sample_taps(p, uv_b[2 * i], uv_b[2 * i + 1], off, wt);
    float* op = out_b + i * c;
    for (int ch = 0; ch < c; ++ch)
        op[ch] = wt[0] * tex_b[off[0] + ch] + wt[1] * tex_b[off[1] + ch] + wt[2] * tex_b[off[2] + ch] +
                 wt[3] * tex_b[off[3] + ch];
}

// Adjoint of sample_fwd_elem w.r.t. the texture, through the same sample_taps():
// grad_tex[b, off_k + ch] += wt_k * grad_out[b, i, ch], with lf_scatter_add<kAtomic> (taps that wrap onto the same
// texel each add their own weight). A pixel whose cotangent is zero in every channel (background pixels of a
// rendered view) adds nothing and is skipped. grad_tex must be zeroed first.
template <bool kAtomic, int C>
LF_HD void sample_adj_elem(const SampleParams& p, const float* grad_out_b, const float* uv_b, float* grad_tex_b,
                           lf_idx i) {
    const int c = C > 0 ? C : p.c;
    const float* gp = grad_out_b + i * c;
    bool any = false;
    for (int ch = 0; ch < c; ++ch) any |= gp[ch] != 0.0f;
    if (!any) return;
    lf_idx off[4];
    float wt[4];
    sample_taps(p, uv_b[2 * i], uv_b[2 * i + 1], off, wt);
    for (int ch = 0; ch < c; ++ch) {
        const float g = gp[ch];
        lf_scatter_add<kAtomic>(grad_tex_b + off[0] + ch, wt[0] * g);
        lf_scatter_add<kAtomic>(grad_tex_b + off[1] + ch, wt[1] * g);
        lf_scatter_add<kAtomic>(grad_tex_b + off[2] + ch, wt[2] * g);
        lf_scatter_add<kAtomic>(grad_tex_b + off[3] + ch, wt[3] * g);
    }
}

//------------------------------------------------------------------------
// Flat-index forms for the CUDA kernels: k over n x npix output pixels, any channel count, atomic adjoint.

LF_HD void sample_fwd_pix(const SampleParams& p, const float* tex, const float* uv, float* out, lf_idx k) {
    const lf_idx b = k / p.npix, i = k - b * p.npix;
    sample_fwd_elem<0>(p, sample_tex_item(p, tex, b), sample_uv_item(p, uv, b), out + b * (lf_idx)p.npix * p.c, i);
}

LF_HD void sample_adj_pix(const SampleParams& p, const float* grad_out, const float* uv, float* grad_tex, lf_idx k) {
    const lf_idx b = k / p.npix, i = k - b * p.npix;
    sample_adj_elem<true, 0>(p, grad_out + b * (lf_idx)p.npix * p.c, sample_uv_item(p, uv, b),
                             grad_tex + b * (lf_idx)p.th * p.tw * p.c, i);
}
