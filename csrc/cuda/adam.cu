// CUDA kernel for adam.h: a grid-stride loop over the element function, no math here. n = element count.
#include "lucid_fast/adam.h"

extern "C" __global__ void lf_adam_update(const AdamParams p, float* __restrict__ param, const float* __restrict__ grad,
                                          float* __restrict__ m, float* __restrict__ v, lf_idx n) {
    for (lf_idx i = blockIdx.x * (lf_idx)blockDim.x + threadIdx.x; i < n; i += (lf_idx)gridDim.x * blockDim.x)
        adam_update_elem(p, param, grad, m, v, i);
}
