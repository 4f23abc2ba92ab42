// CUDA kernels for spectrum.h: grid-stride loops over the element functions, no math here.
// Each splits its flat index into the (row, column) pair the element functions take.
#include "lucid_fast/spectrum.h"

// n = h * wf
extern "C" __global__ void lf_spectrum_scale_fwd(const SpectrumParams p, const float* __restrict__ spectrum,
                                                 float* __restrict__ z, lf_idx n) {
    for (lf_idx i = blockIdx.x * (lf_idx)blockDim.x + threadIdx.x; i < n; i += (lf_idx)gridDim.x * blockDim.x)
        spectrum_scale_fwd_elem(p, spectrum, z, i / p.wf, i % p.wf);
}

// n = h * wf
extern "C" __global__ void lf_spectrum_scale_adj(const SpectrumParams p, const float* __restrict__ grad_z,
                                                 float* __restrict__ grad_spectrum, lf_idx n) {
    for (lf_idx i = blockIdx.x * (lf_idx)blockDim.x + threadIdx.x; i < n; i += (lf_idx)gridDim.x * blockDim.x)
        spectrum_scale_adj_elem(p, grad_z, grad_spectrum, i / p.wf, i % p.wf);
}

// n = b * h * w
extern "C" __global__ void lf_spectrum_layout_fwd(const SpectrumParams p, const float* __restrict__ planar,
                                                  float* __restrict__ image, lf_idx n) {
    for (lf_idx i = blockIdx.x * (lf_idx)blockDim.x + threadIdx.x; i < n; i += (lf_idx)gridDim.x * blockDim.x)
        spectrum_layout_fwd_elem(p, planar, image, i / p.w, i % p.w);
}

// n = b * c * h * wp
extern "C" __global__ void lf_spectrum_layout_adj(const SpectrumParams p, const float* __restrict__ grad_image,
                                                  float* __restrict__ grad_planar, lf_idx n) {
    for (lf_idx i = blockIdx.x * (lf_idx)blockDim.x + threadIdx.x; i < n; i += (lf_idx)gridDim.x * blockDim.x)
        spectrum_layout_adj_elem(p, grad_image, grad_planar, i / p.wp, i % p.wp);
}
