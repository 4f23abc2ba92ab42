// CUDA kernels for upsample.h: grid-stride loops over the element functions (flat-index *_pix forms), no math
// here. n = batch x ho x wo output pixels; lf_upsample_adj needs grad_low zeroed by the caller (atomic adds).
#include "lucid_fast/upsample.h"

extern "C" __global__ void lf_upsample_fwd(const UpsampleParams p, const float* __restrict__ x_low,
                                           float* __restrict__ y, lf_idx n) {
    for (lf_idx i = blockIdx.x * (lf_idx)blockDim.x + threadIdx.x; i < n; i += (lf_idx)gridDim.x * blockDim.x)
        upsample_fwd_pix(p, x_low, y, i);
}

extern "C" __global__ void lf_upsample_adj(const UpsampleParams p, const float* __restrict__ grad_y,
                                           float* __restrict__ grad_low, lf_idx n) {
    for (lf_idx i = blockIdx.x * (lf_idx)blockDim.x + threadIdx.x; i < n; i += (lf_idx)gridDim.x * blockDim.x)
        upsample_adj_pix(p, grad_y, grad_low, i);
}
