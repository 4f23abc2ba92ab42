// CUDA kernels for sample.h: grid-stride loops over the element functions (flat-index *_pix forms), no math here.
// n = batch x npix output pixels; lf_sample_adj needs grad_tex zeroed by the caller (atomic adds).
#include "lucid_fast/sample.h"

extern "C" __global__ void lf_sample_fwd(const SampleParams p, const float* __restrict__ tex,
                                         const float* __restrict__ uv, float* __restrict__ out, lf_idx n) {
    for (lf_idx i = blockIdx.x * (lf_idx)blockDim.x + threadIdx.x; i < n; i += (lf_idx)gridDim.x * blockDim.x)
        sample_fwd_pix(p, tex, uv, out, i);
}

extern "C" __global__ void lf_sample_adj(const SampleParams p, const float* __restrict__ grad_out,
                                         const float* __restrict__ uv, float* __restrict__ grad_tex, lf_idx n) {
    for (lf_idx i = blockIdx.x * (lf_idx)blockDim.x + threadIdx.x; i < n; i += (lf_idx)gridDim.x * blockDim.x)
        sample_adj_pix(p, grad_out, uv, grad_tex, i);
}
