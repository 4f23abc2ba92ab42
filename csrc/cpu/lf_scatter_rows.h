// lf_scatter_rows.h — the scheduling shared by the CPU scatter adjoints (warp_cpu.cpp, upsample_cpu.cpp,
// sample_cpu.cpp): each output row adds into the input gradient, and lf_scatter_rows_cpu() spreads the rows over
// OpenMP threads without atomics.
#pragma once
#include <omp.h>

#include <memory>
#include <new>

#include "lucid_fast/lf_defs.h"

// Threads that get a private accumulation buffer in lf_scatter_rows_cpu (the rest of the machine idles there:
// these scatters are small next to the memory the buffers would take).
#define LF_SCATTER_MAX_PRIVATE_THREADS 8

// Runs scatter(dst, b, i) for every output row (b < n, i < ho) of a scatter adjoint into out (`size` floats,
// zeroed here), without atomics: scatter must add with plain (non-atomic) adds, into dst.
//   - per_item (the rows of item b only write out's item b, which holds item_size floats) and n >= threads:
//     each thread zeroes and fills its own items, in place (dst = out);
//   - otherwise up to LF_SCATTER_MAX_PRIVATE_THREADS threads each take a share of the rows: the first scatters
//     into out itself, the others into private zeroed buffers, which are added into out at the end (one
//     thread, or no memory for the buffers: all rows in order into out).
// Results are deterministic for a given thread count.
template <class Scatter>
void lf_scatter_rows_cpu(float* out, lf_idx size, int n, int ho, bool per_item, lf_idx item_size,
                         Scatter scatter) {
    int threads = omp_get_max_threads();
    if (per_item && n >= threads) {
#pragma omp parallel for schedule(static)
        for (int b = 0; b < n; ++b) {
            float* dst = out + b * item_size;
            for (lf_idx k = 0; k < item_size; ++k) dst[k] = 0.0f;
            for (int i = 0; i < ho; ++i) scatter(out, (lf_idx)b, i);
        }
        return;
    }
    threads = threads < LF_SCATTER_MAX_PRIVATE_THREADS ? threads : LF_SCATTER_MAX_PRIVATE_THREADS;
    std::unique_ptr<float[]> extra(threads > 1 ? new (std::nothrow) float[(size_t)(threads - 1) * size] : nullptr);
    if (!extra) {
        for (lf_idx k = 0; k < size; ++k) out[k] = 0.0f;
        for (int b = 0; b < n; ++b)
            for (int i = 0; i < ho; ++i) scatter(out, (lf_idx)b, i);
        return;
    }
#pragma omp parallel num_threads(threads)
    {
        const int t = omp_get_thread_num(), nt = omp_get_num_threads();
        float* dst = t == 0 ? out : extra.get() + (lf_idx)(t - 1) * size;
        for (lf_idx k = 0; k < size; ++k) dst[k] = 0.0f;
#pragma omp for collapse(2) schedule(static)
        for (int b = 0; b < n; ++b)
            for (int i = 0; i < ho; ++i) scatter(dst, (lf_idx)b, i);
#pragma omp for schedule(static)
        for (lf_idx k = 0; k < size; ++k)
            for (int s = 1; s < nt; ++s) lf_scatter_add<false>(out + k, extra[(lf_idx)(s - 1) * size + k]);
    }
}
