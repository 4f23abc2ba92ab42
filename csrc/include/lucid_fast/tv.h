// tv.h — anisotropic total variation on NHWC images, the definition of tf.image.total_variation
// summed over the batch (Lucid's objectives.total_variation):
//     TV(x) = sum_{b,y,x,c} |x[b,y+1,x,c] - x[b,y,x,c]| + |x[b,y,x+1,c] - x[b,y,x,c]|
// Its "adjoint" is the gradient of a scalar, so the pair is tv_value_elem / tv_grad_elem.
// The gradient uses d|d|/dd = sign(d) with sign(0) = 0, as TensorFlow's Abs gradient does.
#pragma once
#include "lucid_fast/lf_defs.h"

struct TvParams {
    int b, h, w, c;   // NHWC shape of the image
    float weight;     // grad_out = weight * dTV/dx (+ grad_out when accumulate != 0)
    int accumulate;   // 0: overwrite grad_out, 1: add to it
};

//------------------------------------------------------------------------
// Value: the contribution of element i (its down and right differences).

LF_HD float tv_value_elem(const TvParams& p, const float* x, lf_idx i) {
    const lf_idx c = p.c;
    const lf_idx row = (lf_idx)p.w * c;
    const lf_idx xi = (i / c) % p.w;
    const lf_idx yi = (i / row) % p.h;
    const float v = x[i];
    float acc = 0.0f;
    if (yi + 1 < p.h) acc += fabsf(x[i + row] - v);
    if (xi + 1 < p.w) acc += fabsf(x[i + c] - v);
    return acc;
}

//------------------------------------------------------------------------
// Gradient of TV with respect to x[i]: every difference that involves element i, gathered (no atomics).

LF_HD void tv_grad_elem(const TvParams& p, const float* x, float* grad_out, lf_idx i) {
    const lf_idx c = p.c;
    const lf_idx row = (lf_idx)p.w * c;
    const lf_idx xi = (i / c) % p.w;
    const lf_idx yi = (i / row) % p.h;
    const float v = x[i];
    float g = 0.0f;
    if (yi + 1 < p.h) g -= lf_sign(x[i + row] - v);  // d|x_down - v|/dv
    if (yi > 0) g += lf_sign(v - x[i - row]);         // d|v - x_up|/dv
    if (xi + 1 < p.w) g -= lf_sign(x[i + c] - v);
    if (xi > 0) g += lf_sign(v - x[i - c]);
    const float out = p.weight * g;
    grad_out[i] = p.accumulate ? grad_out[i] + out : out;
}
