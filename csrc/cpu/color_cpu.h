// Host prototypes of the CPU drivers for color.h. n is the pixel count b*h*w.
#pragma once
#include "lucid_fast/color.h"

void color_fwd_cpu(const ColorParams& p, const float* x, float* y, lf_idx n);
void color_adj_cpu(const ColorParams& p, const float* x, const float* grad_y, float* grad_x, lf_idx n);
