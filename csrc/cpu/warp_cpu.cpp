// CPU driver for warp.h: OpenMP loops over the element functions, no math here.
#include "lucid_fast/warp.h"
#include "warp_cpu.h"

void warp_fwd_cpu(const WarpParams& p, const float* mats, const float* x, float* y) {
    const lf_idx n = (lf_idx)p.n * p.ho * p.wo;
#pragma omp parallel for schedule(static)
    for (lf_idx i = 0; i < n; ++i) warp_fwd_elem(p, mats, x, y, i);
}

void warp_adj_cpu(const WarpParams& p, const float* mats, const float* grad_y, float* grad_x) {
    const lf_idx n_in = (lf_idx)p.n * p.h * p.w * p.c;
    const lf_idx n = (lf_idx)p.n * p.ho * p.wo;
#pragma omp parallel
    {
#pragma omp for schedule(static)
        for (lf_idx i = 0; i < n_in; ++i) grad_x[i] = 0.0f;
#pragma omp for schedule(static)
        for (lf_idx i = 0; i < n; ++i) warp_adj_elem(p, mats, grad_y, grad_x, i);
    }
}
