// tv.h — anisotropic total variation on NHWC images, the definition of tf.image.total_variation
// summed over the batch (Lucid's objectives.total_variation):
//     TV(x) = sum_{b,y,x,c} |x[b,y+1,x,c] - x[b,y,x,c]| + |x[b,y,x+1,c] - x[b,y,x,c]|
// Its "adjoint" is the gradient of a scalar, so the pair is tv_value_elem / tv_grad_elem.
// The gradient uses d|d|/dd = sign(d) with sign(0) = 0, as TensorFlow's Abs gradient does.
//
// Elements are addressed by (row, y, k): row = b*h + y indexes an image row, y is its height index and k in
// [0, w*c) the element within it, so CPU drivers loop without integer division (CUDA kernels split their index).
//
// The op's files: this header, csrc/cpu/tv_cpu.{h,cpp}, csrc/cuda/tv.cu, bindings/tv.pxi and
// bindings/op_tv.py (imported as lucid_fast._bindings.op_tv); with its tests: bindings/README.md.
// TvParams is mirrored in Python (bindings/tv.pxi, TV_PARAMS_DTYPE in bindings/op_tv.py) and checked
// field by field against this definition (csrc/cpu/lf_param_layout.h): 4-byte int and float fields only.
#pragma once
#include "lucid_fast/lf_defs.h"

struct TvParams {
    int b, h, w, c;   // NHWC shape of the image
    float weight;     // grad_out = weight * dTV/dx (+ grad_out when accumulate != 0)
    int accumulate;   // 0: overwrite grad_out, 1: add to it
};

//------------------------------------------------------------------------
// Value and gradient in one pass. tv_elem returns element (row, y, k)'s share of the value (its down and right
// differences) and writes weight * dTV/dx at it: every difference that involves it, gathered (no atomics).

LF_HD float tv_elem(const TvParams& p, const float* x, float* grad_out, lf_idx row, int y, int k) {
    const lf_idx stride = (lf_idx)p.w * p.c;
    const lf_idx i = row * stride + k;
    const float v = x[i];
    const float down = (y + 1 < p.h) ? x[i + stride] - v : 0.0f;  // 0 at the border: no term, sign(0) = 0
    const float right = (k + p.c < stride) ? x[i + p.c] - v : 0.0f;
    const float up = (y > 0) ? v - x[i - stride] : 0.0f;
    const float left = (k >= p.c) ? v - x[i - p.c] : 0.0f;
    const float g = lf_sign(up) + lf_sign(left) - lf_sign(down) - lf_sign(right);  // d|x_down - v|/dv = -sign(.)
    const float out = p.weight * g;
    grad_out[i] = p.accumulate ? grad_out[i] + out : out;
    return fabsf(down) + fabsf(right);
}
