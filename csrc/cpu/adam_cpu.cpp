// CPU driver for adam.h: an OpenMP loop over the element function, no math here.
#include "lucid_fast/adam.h"
#include "adam_cpu.h"

void adam_update_cpu(const AdamParams& p, float* param, const float* grad, float* m, float* v, lf_idx n) {
#pragma omp parallel for schedule(static)
    for (lf_idx i = 0; i < n; ++i) adam_update_elem(p, param, grad, m, v, i);
}
