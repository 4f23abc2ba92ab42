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

// exp(x) in float. On the GPU, expf. On the CPU, a branch-free evaluation that `omp simd` loops vectorize
// (glibc's expf is a scalar call, which made the colour op cost 4 ns a channel): x is clamped to
// [-87.33, 88.37] (so 2^n stays a normal float; exp there is 1.2e-38 and 2.4e38), split as
// x = n ln2 + r with n = round(x / ln2) by the 1.5 * 2^23 rounding trick and ln2 in two parts (Cody-Waite),
// exp(r) on |r| <= ln2/2 by Cephes' degree-7 minimax polynomial, then scaled by 2^n built in the exponent bits.
// Relative error 8.3e-8 at worst on a 1e-4 sweep of [-87.3, 88.3] (tests/cpp/test_color.cpp checks < 2e-7).
LF_HD float lf_expf(float x) {
#if defined(__CUDA_ARCH__)
    return expf(x);
#else
    const float kRound = 12582912.0f;  // 1.5 * 2^23: adding it rounds a float of magnitude < 2^22 to an integer
    x = x < -87.33f ? -87.33f : x;
    x = x > 88.37f ? 88.37f : x;
    const float nr = x * 1.44269504088896341f + kRound;
    const float n = nr - kRound;
    const float r = (x - n * 0.693359375f) + n * 2.12194440e-4f;  // ln2 = 0.693359375 - 2.12194440e-4
    float q = 1.9875691500e-4f;
    q = q * r + 1.3981999507e-3f;
    q = q * r + 8.3334519073e-3f;
    q = q * r + 4.1665795894e-2f;
    q = q * r + 1.6666665459e-1f;
    q = q * r + 5.0000001201e-1f;
    const float er = (q * r) * r + r + 1.0f;
    const int ni = __builtin_bit_cast(int, nr) - __builtin_bit_cast(int, kRound);  // n, as an int
    return er * __builtin_bit_cast(float, (ni + 127) << 23);                       // times 2^n
#endif
}

LF_HD float lf_sigmoid(float x) { return 1.0f / (1.0f + lf_expf(-x)); }

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

// Scatter-add with the policy chosen at compile time, so one element function serves both targets:
// kAtomic = true is lf_atomic_add (GPU kernels, or CPU loops whose threads share destinations); false is a plain
// += for CPU drivers that give each thread destinations no other thread writes (its own batch items, or a
// private buffer reduced afterwards).
template <bool kAtomic>
LF_HD void lf_scatter_add(float* addr, float v) {
    if (kAtomic)
        lf_atomic_add(addr, v);
    else
        *addr += v;
}

// Cache hint for CPU loops whose access pattern the hardware prefetchers miss (e.g. a warp's taps walking
// diagonally through the input): asks for the line at addr (for writing with lf_prefetch_w). No effect on
// results; a no-op on the GPU and for compilers without __builtin_prefetch. Never faults, but callers should
// still only pass addresses inside their arrays.
LF_HD void lf_prefetch(const void* addr) {
#if !defined(__CUDA_ARCH__) && defined(__GNUC__)
    __builtin_prefetch(addr, 0);
#else
    (void)addr;
#endif
}

LF_HD void lf_prefetch_w(const void* addr) {
#if !defined(__CUDA_ARCH__) && defined(__GNUC__)
    __builtin_prefetch(addr, 1);
#else
    (void)addr;
#endif
}
