// color.h — Lucid's param.color.to_valid_rgb as one fused per-pixel map on NHWC images, and its adjoint:
//
//     t = x;  t[:3] = matrix @ x[:3] + offset     (only when decorrelate, which needs c >= 3)
//     y = sigmoid(t)                               (sigmoid != 0)
//     y = constrain_L_inf(2 t - 1) / 2 + 0.5       (sigmoid == 0: Lucid's clip into [0, 1])
//
// with constrain_L_inf(u) = u / max(1, |u|). Channels past the third (e.g. alpha) and every channel of a
// 1- or 2-channel image are only squashed. matrix is Lucid's colour-correlation square root normalised by
// its largest column norm and offset is Lucid's colour mean for the clip variant (zero for the sigmoid one);
// both are set by bindings/op_color.py.
//
// The clip's gradient is Lucid's custom one, straight-through (derivative 1 even where clipped) except that
// it is zero where |u| >= 1 and the step would push u further out. The adjoint receives the gradient of the
// MAXIMIZED objective, so "further out" means u * grad_y > 0.
//
// The op's files: this header, csrc/cpu/color_cpu.{h,cpp}, csrc/cuda/color.cu, bindings/color.pxi and
// bindings/op_color.py (imported as lucid_fast._bindings.op_color); with its tests: bindings/README.md.
// ColorParams is mirrored in Python (bindings/color.pxi, COLOR_PARAMS_DTYPE in bindings/op_color.py) and checked
// field by field against this definition (csrc/cpu/lf_param_layout.h): 4-byte int and float fields only.
#pragma once
#include "lucid_fast/lf_defs.h"

struct ColorParams {
    int c;            // channel count of the NHWC image (any c >= 1)
    int decorrelate;  // 1: channels 0..2 go through matrix (the host sets it only when c >= 3)
    int sigmoid;      // 1: sigmoid squash; 0: Lucid's clip
    float matrix[9];  // row-major 3x3: t_j = sum_k matrix[3 j + k] x_k
    float offset[3];  // added to t[:3] after the matrix (COLOR_MEAN for the clip variant, else 0)
};

//------------------------------------------------------------------------
// The linear colour map on one pixel's first three channels, and its transpose.

LF_HD void color_decorrelate_fwd(const ColorParams& p, const float* x, float* t) {
    for (int j = 0; j < 3; ++j) t[j] = p.matrix[3 * j] * x[0] + p.matrix[3 * j + 1] * x[1] + p.matrix[3 * j + 2] * x[2];
}

// Transpose of color_decorrelate_fwd: grad_x = matrix^T grad_t.
LF_HD void color_decorrelate_adj(const ColorParams& p, const float* grad_t, float* grad_x) {
    for (int k = 0; k < 3; ++k)
        grad_x[k] = p.matrix[k] * grad_t[0] + p.matrix[3 + k] * grad_t[1] + p.matrix[6 + k] * grad_t[2];
}

//------------------------------------------------------------------------
// The per-channel squash into [0, 1], and its (custom, for the clip) derivative applied to grad_y.

LF_HD float color_squash_fwd(const ColorParams& p, float t) {
    if (p.sigmoid) return lf_sigmoid(t);
    const float u = 2.0f * t - 1.0f;
    const float a = fabsf(u);
    return u / (a > 1.0f ? a : 1.0f) / 2.0f + 0.5f;  // not fmaxf: on x86 that is a libm call per element
}

// Gradient of color_squash_fwd at t applied to grad_y: sigmoid' = y (1 - y); for the clip, 1 (straight
// through) except 0 where |2t - 1| >= 1 and (2t - 1) * grad_y > 0 (ascent would push further outside).
LF_HD float color_sigmoid_adj(float t, float grad_y) {
    const float y = lf_sigmoid(t);
    return grad_y * (y * (1.0f - y));  // this association vectorizes about twice as fast with GCC 12
}

LF_HD float color_squash_adj(const ColorParams& p, float t, float grad_y) {
    if (p.sigmoid) return color_sigmoid_adj(t, grad_y);
    const float u = 2.0f * t - 1.0f;
    return (fabsf(u) >= 1.0f && u * grad_y > 0.0f) ? 0.0f : grad_y;
}

//------------------------------------------------------------------------
// The two stages of the map, each an element function of its own so that the CPU driver can run the squash
// (the costly part) as a flat vectorized loop over a block of values:
//   linear (per pixel):  t[:3] = matrix @ x[:3] + offset when decorrelating, t[j] = x[j] otherwise;
//   squash (per value):  y = color_squash_fwd(t).
// The GPU kernels and the generic loops compose them pixel by pixel (color_fwd_elem / color_adj_elem).

LF_HD void color_linear_fwd_elem(const ColorParams& p, const float* x, float* t, lf_idx i) {
    const float* xi = x + i * p.c;
    float* ti = t + i * p.c;
    int first = 0;
    if (p.decorrelate) {
        float u[3];
        color_decorrelate_fwd(p, xi, u);
        for (int j = 0; j < 3; ++j) ti[j] = u[j] + p.offset[j];
        first = 3;
    }
    for (int j = first; j < p.c; ++j) ti[j] = xi[j];
}

// Transpose of the linear stage on pixel i: grad_x[:3] = matrix^T grad_t[:3] when decorrelating, the other
// channels copied. grad_t and grad_x may be the same array.
LF_HD void color_linear_adj_elem(const ColorParams& p, const float* grad_t, float* grad_x, lf_idx i) {
    const float* gti = grad_t + i * p.c;
    float* gxi = grad_x + i * p.c;
    int first = 0;
    if (p.decorrelate) {
        const float gt[3] = {gti[0], gti[1], gti[2]};
        color_decorrelate_adj(p, gt, gxi);
        first = 3;
    }
    for (int j = first; j < p.c; ++j) gxi[j] = gti[j];
}

//------------------------------------------------------------------------
// Forward: pixel i of the NHWC image (c channels at x + i*c).

LF_HD void color_fwd_elem(const ColorParams& p, const float* x, float* y, lf_idx i) {
    color_linear_fwd_elem(p, x, y, i);  // y holds t for this pixel until squashed
    float* yi = y + i * p.c;
    for (int j = 0; j < p.c; ++j) yi[j] = color_squash_fwd(p, yi[j]);
}

// Adjoint: transposes the linearisation of color_fwd_elem at x (pixel i): grad_x = J(x)^T grad_y, with
// J = diag(squash'(t)) * linear.
LF_HD void color_adj_elem(const ColorParams& p, const float* x, const float* grad_y, float* grad_x, lf_idx i) {
    color_linear_fwd_elem(p, x, grad_x, i);  // grad_x holds t for this pixel until the squash adjoint
    const float* gyi = grad_y + i * p.c;
    float* gxi = grad_x + i * p.c;
    for (int j = 0; j < p.c; ++j) gxi[j] = color_squash_adj(p, gxi[j], gyi[j]);
    color_linear_adj_elem(p, grad_x, grad_x, i);
}
