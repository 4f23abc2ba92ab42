// CUDA kernels for tv.h: grid-stride loops over the element functions, no math here.
#include "lucid_fast/tv.h"

extern "C" __global__ void lf_tv_value(const TvParams p, const float* __restrict__ x, double* __restrict__ value,
                                       lf_idx n) {
    double acc = 0.0;
    for (lf_idx i = blockIdx.x * (lf_idx)blockDim.x + threadIdx.x; i < n; i += (lf_idx)gridDim.x * blockDim.x)
        acc += tv_value_elem(p, x, i);
    for (int off = 16; off > 0; off >>= 1) acc += __shfl_down_sync(0xffffffffu, acc, off);
    if ((threadIdx.x & 31) == 0) atomicAdd(value, acc);
}

extern "C" __global__ void lf_tv_grad(const TvParams p, const float* __restrict__ x, float* __restrict__ grad_out,
                                      lf_idx n) {
    for (lf_idx i = blockIdx.x * (lf_idx)blockDim.x + threadIdx.x; i < n; i += (lf_idx)gridDim.x * blockDim.x)
        tv_grad_elem(p, x, grad_out, i);
}
