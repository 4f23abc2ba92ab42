// CPU driver for color.h: OpenMP loops over the element functions, no math here.
#include "lucid_fast/color.h"
#include "color_cpu.h"

void color_fwd_cpu(const ColorParams& p, const float* x, float* y, lf_idx n) {
#pragma omp parallel for schedule(static)
    for (lf_idx i = 0; i < n; ++i) color_fwd_elem(p, x, y, i);
}

void color_adj_cpu(const ColorParams& p, const float* x, const float* grad_y, float* grad_x, lf_idx n) {
#pragma omp parallel for schedule(static)
    for (lf_idx i = 0; i < n; ++i) color_adj_elem(p, x, grad_y, grad_x, i);
}
