// CUDA kernels for warp.h: grid-stride loops over the element functions (flat-index *_pix forms), no math here.
// n = batch x ho x wo output pixels; lf_warp_adj needs grad_x zeroed by the caller (it adds atomically).
#include "lucid_fast/warp.h"

extern "C" __global__ void lf_warp_fwd(const WarpParams p, const float* __restrict__ mats,
                                       const float* __restrict__ x, float* __restrict__ y, lf_idx n) {
    for (lf_idx i = blockIdx.x * (lf_idx)blockDim.x + threadIdx.x; i < n; i += (lf_idx)gridDim.x * blockDim.x)
        warp_fwd_pix(p, mats, x, y, i);
}

extern "C" __global__ void lf_warp_adj(const WarpParams p, const float* __restrict__ mats,
                                       const float* __restrict__ grad_y, float* __restrict__ grad_x, lf_idx n) {
    for (lf_idx i = blockIdx.x * (lf_idx)blockDim.x + threadIdx.x; i < n; i += (lf_idx)gridDim.x * blockDim.x)
        warp_adj_pix(p, mats, grad_y, grad_x, i);
}
