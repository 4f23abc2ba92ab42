// CPU driver for tv.h: OpenMP loops over the element functions, no math here.
#include "lucid_fast/tv.h"
#include "tv_cpu.h"

double tv_value_cpu(const TvParams& p, const float* x) {
    const lf_idx n = (lf_idx)p.b * p.h * p.w * p.c;
    double acc = 0.0;
#pragma omp parallel for schedule(static) reduction(+ : acc)
    for (lf_idx i = 0; i < n; ++i) acc += tv_value_elem(p, x, i);
    return acc;
}

void tv_grad_cpu(const TvParams& p, const float* x, float* grad_out) {
    const lf_idx n = (lf_idx)p.b * p.h * p.w * p.c;
#pragma omp parallel for schedule(static)
    for (lf_idx i = 0; i < n; ++i) tv_grad_elem(p, x, grad_out, i);
}
