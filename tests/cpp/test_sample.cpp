// Host-only checks of sample.h: known values (v flip, texel centres, GL_REPEAT wrap of far and negative UVs,
// rounding at the wrap edge), the dot-product identity of the element gather vs scatter (the GPU kernels'
// flat-index forms sample_fwd_pix / sample_adj_pix, atomic adds), and the CPU drivers (compile-time and run-time
// channel counts, shared and per-item UVs, every scatter schedule for 1-3 threads) against those elements.
#include <omp.h>

#include <cmath>
#include <cstdio>
#include <vector>

#include "check.h"
#include "lucid_fast/sample.h"
#include "sample_cpu.h"

static Lcg rng(24681357);

static SampleParams params(int n, int uv_n, int th, int tw, int c, int npix) {
    SampleParams p;
    p.n = n; p.uv_n = uv_n; p.th = th; p.tw = tw; p.c = c; p.npix = npix;
    return p;
}

static void test_known_values() {
    // 2x2 texture, rows top to bottom [0, 1], [2, 3]
    const float tex[4] = {0.0f, 1.0f, 2.0f, 3.0f};
    const float uv[] = {0.25f, 0.25f, 0.75f, 0.25f, 0.25f, 0.75f, 0.75f, 0.75f,  // texel centres
                        0.5f, 0.75f, 0.0f, 0.75f, -3.75f, 5.25f, 1e6f + 0.25f, 0.25f};
    const float want[] = {2.0f, 3.0f, 0.0f, 1.0f, 0.5f, 0.5f, 2.0f, 2.0f};
    const int npix = (int)(sizeof(want) / sizeof(want[0]));
    float out[npix];
    sample_fwd_cpu(params(1, 1, 2, 2, 1, npix), tex, uv, out);
    for (int k = 0; k < npix; ++k) CHECK(std::fabs(out[k] - want[k]) < 1e-5f, "out[%d] = %g, want %g", k, out[k], want[k]);
    // the wrap of integer coordinates, including those just below a multiple of the size and non-finite ones
    CHECK(sample_wrap(-1.0f, 5) == 4 && sample_wrap(5.0f, 5) == 0 && sample_wrap(-10.0f, 5) == 0, "wrap");
    CHECK(sample_wrap(floorf(-1e-8f), 3) == 2, "wrap of -1");
    const float inf = INFINITY;
    const int a = sample_wrap(inf, 7), b = sample_wrap(-inf, 7), c = sample_wrap(NAN, 7);
    CHECK(a >= 0 && a < 7 && b >= 0 && b < 7 && c >= 0 && c < 7, "non-finite wrap in range: %d %d %d", a, b, c);
}

static void test_dot_product(int n, int uv_n, int th, int tw, int c, int npix) {
    const SampleParams p = params(n, uv_n, th, tw, c, npix);
    std::vector<float> tex((size_t)n * th * tw * c), uv((size_t)uv_n * npix * 2), y((size_t)n * npix * c);
    std::vector<float> ax(y.size()), aty(tex.size(), 0.0f);
    for (float& v : tex) v = rng.uniform();
    for (float& v : uv) v = 2.0f * rng.uniform() + 0.3f;  // in [-1.7, 2.3): wraps on both sides
    for (size_t k = 0; k < y.size(); ++k) y[k] = (k % 7 == 3) ? 0.0f : rng.uniform();  // some skipped pixels
    for (lf_idx k = 0; k < (lf_idx)n * npix; ++k) sample_fwd_pix(p, tex.data(), uv.data(), ax.data(), k);
    for (lf_idx k = 0; k < (lf_idx)n * npix; ++k) sample_adj_pix(p, y.data(), uv.data(), aty.data(), k);
    double lhs = 0.0, rhs = 0.0;
    for (size_t k = 0; k < y.size(); ++k) lhs += (double)ax[k] * y[k];
    for (size_t k = 0; k < tex.size(); ++k) rhs += (double)tex[k] * aty[k];
    CHECK(std::fabs(lhs - rhs) < 1e-5 * (std::fabs(lhs) + 1.0), "dot product (n=%d uv_n=%d c=%d): %.9g vs %.9g", n,
          uv_n, c, lhs, rhs);
    const int saved = omp_get_max_threads();
    for (int threads = 1; threads <= 3; ++threads) {
        omp_set_num_threads(threads);
        std::vector<float> ax2(y.size(), 9.0f), aty2(tex.size(), 5.0f);
        sample_fwd_cpu(p, tex.data(), uv.data(), ax2.data());
        sample_adj_cpu(p, y.data(), uv.data(), aty2.data());
        double dfwd = 0.0, dadj = 0.0;
        for (size_t k = 0; k < y.size(); ++k) dfwd = std::fmax(dfwd, std::fabs(ax2[k] - ax[k]));
        for (size_t k = 0; k < tex.size(); ++k) dadj = std::fmax(dadj, std::fabs(aty2[k] - aty[k]));
        CHECK(dfwd == 0.0, "sample_fwd_cpu vs elements (n=%d uv_n=%d c=%d), %d threads: max diff %g", n, uv_n, c,
              threads, dfwd);
        CHECK(dadj < 1e-5, "sample_adj_cpu vs elements (n=%d uv_n=%d c=%d), %d threads: max diff %g", n, uv_n, c,
              threads, dadj);
    }
    omp_set_num_threads(saved);
}

int main() {
    test_known_values();
    test_dot_product(1, 1, 7, 5, 3, 3000);  // several scheduling blocks, private buffers
    test_dot_product(2, 2, 4, 6, 4, 500);
    test_dot_product(3, 1, 5, 5, 1, 2100);  // shared UVs
    test_dot_product(2, 1, 3, 8, 2, 77);    // run-time channel count
    test_dot_product(1, 1, 1, 1, 5, 10);    // a 1x1 texture, run-time channel count
    if (failures) {
        std::printf("test_sample: %d check(s) failed\n", failures);
        return 1;
    }
    std::printf("test_sample: all checks passed\n");
    return 0;
}
