// CPU driver for upsample.h: OpenMP loops over the element functions, no math here.
#include "lucid_fast/upsample.h"
#include "upsample_cpu.h"

void upsample_fwd_cpu(const UpsampleParams& p, const float* x_low, float* y) {
    const lf_idx n = (lf_idx)p.n * p.ho * p.wo;
#pragma omp parallel for schedule(static)
    for (lf_idx i = 0; i < n; ++i) upsample_fwd_elem(p, x_low, y, i);
}

void upsample_adj_cpu(const UpsampleParams& p, const float* grad_y, float* grad_low) {
    const lf_idx n_low = (lf_idx)p.n_low * p.h_low * p.w_low * p.c_low;
    const lf_idx n = (lf_idx)p.n * p.ho * p.wo;
#pragma omp parallel
    {
#pragma omp for schedule(static)
        for (lf_idx i = 0; i < n_low; ++i) grad_low[i] = 0.0f;
#pragma omp for schedule(static)
        for (lf_idx i = 0; i < n; ++i) upsample_adj_elem(p, grad_y, grad_low, i);
    }
}
