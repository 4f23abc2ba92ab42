// Host prototypes of the CPU drivers for color.h. n is the pixel count b*h*w.
#pragma once
#include "lf_param_layout.h"
#include "lucid_fast/color.h"

void color_fwd_cpu(const ColorParams& p, const float* x, float* y, lf_idx n);
void color_adj_cpu(const ColorParams& p, const float* x, const float* grad_y, float* grad_x, lf_idx n);

// ColorParams as this compiler lays it out (lf_param_layout.h): the reference for bindings/color.pxi and
// COLOR_PARAMS_DTYPE in bindings/op_color.py.
LfLayout color_params_layout_cpu();
