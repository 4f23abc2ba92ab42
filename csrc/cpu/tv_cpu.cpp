// CPU driver for tv.h: an OpenMP loop over the element function, no math here.
#include "tv_cpu.h"

double tv_value_grad_cpu(const TvParams& p, const float* x, float* grad_out) {
    const lf_idx rows = (lf_idx)p.b * p.h;
    const int row_len = p.w * p.c;
    double acc = 0.0;
#pragma omp parallel for schedule(static) reduction(+ : acc)
    for (lf_idx r = 0; r < rows; ++r) {
        const int y = (int)(r % p.h);
        float row_acc = 0.0f;  // one row in float, rows summed in double
        for (int k = 0; k < row_len; ++k) row_acc += tv_elem(p, x, grad_out, r, y, k);
        acc += row_acc;
    }
    return acc;
}
