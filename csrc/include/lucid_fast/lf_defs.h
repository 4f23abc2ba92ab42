// lf_defs.h — the single-source vocabulary shared by the CPU (OpenMP) and CUDA (NVRTC/nvcc) builds.
//
// Element functions (`LF_HD`) hold all the math. The CPU drivers in csrc/cpu/ and the CUDA kernels in
// csrc/cuda/ are loops that call them and contain no arithmetic of their own.
#pragma once

#if defined(__CUDACC__)
#define LF_HD __host__ __device__ __forceinline__
#else
#define LF_HD inline
#endif

#if !defined(__CUDACC_RTC__)  // NVRTC sees no system headers; its builtins cover the math we use.
#include <cmath>
#endif

typedef long long lf_idx;

//------------------------------------------------------------------------
// Scalar helpers usable on both targets.

LF_HD float lf_sigmoid(float x) { return 1.0f / (1.0f + expf(-x)); }

// sign(x) with sign(0) = 0, branch-free: a masked copysign compiles to bit operations (TV gradients call it on
// random signs, where branches mispredict and bool->float conversions serialize on x86).
LF_HD float lf_sign(float x) { return x != 0.0f ? copysignf(1.0f, x) : 0.0f; }

LF_HD lf_idx lf_min(lf_idx a, lf_idx b) { return a < b ? a : b; }

LF_HD lf_idx lf_max(lf_idx a, lf_idx b) { return a > b ? a : b; }

// Scatter-add used by every adjoint that writes to shared locations: an atomic on the GPU, an OpenMP
// atomic on the CPU (drivers that call it run under `omp parallel for`).
LF_HD void lf_atomic_add(float* addr, float v) {
#if defined(__CUDA_ARCH__)
    atomicAdd(addr, v);
#else
#pragma omp atomic
    *addr += v;
#endif
}
