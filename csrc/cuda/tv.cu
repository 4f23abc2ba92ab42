// CUDA kernel for tv.h: a grid-stride loop over the element function, no math here.
#include "lucid_fast/tv.h"

// value must be zeroed before the launch; each warp adds its partial sum (blockDim must be a multiple of 32).
extern "C" __global__ void lf_tv_value_grad(const TvParams p, const float* __restrict__ x,
                                           float* __restrict__ grad_out, double* __restrict__ value, lf_idx n) {
    const lf_idx row_len = (lf_idx)p.w * p.c;
    double acc = 0.0;
    for (lf_idx i = blockIdx.x * (lf_idx)blockDim.x + threadIdx.x; i < n; i += (lf_idx)gridDim.x * blockDim.x) {
        const lf_idx row = i / row_len;
        acc += tv_elem(p, x, grad_out, row, (int)(row % p.h), (int)(i - row * row_len));
    }
    for (int off = 16; off > 0; off >>= 1) acc += __shfl_down_sync(0xffffffffu, acc, off);
    if ((threadIdx.x & 31) == 0) atomicAdd(value, acc);
}
