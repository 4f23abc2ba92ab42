// CUDA kernels for color.h: grid-stride loops over the element functions, no math here. n = b*h*w pixels.
#include "lucid_fast/color.h"

extern "C" __global__ void lf_color_fwd(const ColorParams p, const float* __restrict__ x, float* __restrict__ y,
                                        lf_idx n) {
    for (lf_idx i = blockIdx.x * (lf_idx)blockDim.x + threadIdx.x; i < n; i += (lf_idx)gridDim.x * blockDim.x)
        color_fwd_elem(p, x, y, i);
}

extern "C" __global__ void lf_color_adj(const ColorParams p, const float* __restrict__ x,
                                        const float* __restrict__ grad_y, float* __restrict__ grad_x, lf_idx n) {
    for (lf_idx i = blockIdx.x * (lf_idx)blockDim.x + threadIdx.x; i < n; i += (lf_idx)gridDim.x * blockDim.x)
        color_adj_elem(p, x, grad_y, grad_x, i);
}
