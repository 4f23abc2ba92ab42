// Host-only checks of upsample.h: known values of TF's half-pixel bilinear resize, batch/channel broadcast,
// the dot-product identity of the element gather vs scatter (the GPU kernels' flat-index forms upsample_fwd_pix /
// upsample_adj_pix, atomic adds), and the CPU drivers (row loops, compile-time and run-time channel counts, every
// scatter schedule for 1-3 threads) against those elements.
#include <omp.h>

#include <cmath>
#include <cstdio>
#include <vector>

#include "check.h"
#include "lucid_fast/upsample.h"
#include "upsample_cpu.h"

static Lcg rng(987654321);

static UpsampleParams params(int n, int ho, int wo, int c, int n_low, int h_low, int w_low, int c_low) {
    UpsampleParams p;
    p.n = n; p.ho = ho; p.wo = wo; p.c = c;
    p.n_low = n_low; p.h_low = h_low; p.w_low = w_low; p.c_low = c_low;
    p.scale_y = (float)h_low / (float)ho;
    p.scale_x = (float)w_low / (float)wo;
    return p;
}

static void test_known_values() {
    // [0, 4] -> 4 samples at -0.25, 0.25, 0.75, 1.25 (clamped): 0, 1, 3, 4
    const float x[2] = {0.0f, 4.0f};
    float y[4];
    upsample_fwd_cpu(params(1, 1, 4, 1, 1, 1, 2, 1), x, y);
    const float want[4] = {0.0f, 1.0f, 3.0f, 4.0f};
    for (int k = 0; k < 4; ++k) CHECK(std::fabs(y[k] - want[k]) < 1e-6f, "y[%d] = %g, want %g", k, y[k], want[k]);
    // batch 1 -> 2 and channel 1 -> 3 broadcast: every output item/channel equals the single one
    float yb[2 * 1 * 4 * 3];
    upsample_fwd_cpu(params(2, 1, 4, 3, 1, 1, 2, 1), x, yb);
    for (int b = 0; b < 2; ++b)
        for (int j = 0; j < 4; ++j)
            for (int ch = 0; ch < 3; ++ch)
                CHECK(std::fabs(yb[(b * 4 + j) * 3 + ch] - want[j]) < 1e-6f, "broadcast b=%d j=%d ch=%d", b, j, ch);
    // the adjoint of the broadcast sums: a unit cotangent everywhere gives 2 items x 3 channels x 2 = 12 in total
    std::vector<float> g(24, 1.0f), gl(2, 0.0f);
    upsample_adj_cpu(params(2, 1, 4, 3, 1, 1, 2, 1), g.data(), gl.data());
    CHECK(std::fabs(gl[0] - 12.0f) < 1e-5f && std::fabs(gl[1] - 12.0f) < 1e-5f, "adjoint sums: %g %g", gl[0], gl[1]);
}

static void test_dot_product(int n, int n_low, int c, int c_low, int h_low, int w_low, int ho, int wo) {
    const UpsampleParams p = params(n, ho, wo, c, n_low, h_low, w_low, c_low);
    std::vector<float> x((size_t)n_low * h_low * w_low * c_low), y((size_t)n * ho * wo * c), ax(y.size());
    std::vector<float> aty(x.size(), 0.0f);
    for (float& v : x) v = rng.uniform();
    for (float& v : y) v = rng.uniform();
    for (lf_idx i = 0; i < (lf_idx)n * ho * wo; ++i) upsample_fwd_pix(p, x.data(), ax.data(), i);
    for (lf_idx i = 0; i < (lf_idx)n * ho * wo; ++i) upsample_adj_pix(p, y.data(), aty.data(), i);
    double lhs = 0.0, rhs = 0.0;
    for (size_t k = 0; k < y.size(); ++k) lhs += (double)ax[k] * y[k];
    for (size_t k = 0; k < x.size(); ++k) rhs += (double)x[k] * aty[k];
    CHECK(std::fabs(lhs - rhs) < 1e-5 * (std::fabs(lhs) + 1.0), "dot product (%d,%d,%d,%d): %.9g vs %.9g", n, n_low,
          c, c_low, lhs, rhs);
    const int saved = omp_get_max_threads();
    for (int threads = 1; threads <= 3; ++threads) {
        omp_set_num_threads(threads);
        std::vector<float> ax2(y.size(), 9.0f), aty2(x.size(), 5.0f);
        upsample_fwd_cpu(p, x.data(), ax2.data());
        upsample_adj_cpu(p, y.data(), aty2.data());
        double dfwd = 0.0, dadj = 0.0;
        for (size_t k = 0; k < y.size(); ++k) dfwd = std::fmax(dfwd, std::fabs(ax2[k] - ax[k]));
        for (size_t k = 0; k < x.size(); ++k) dadj = std::fmax(dadj, std::fabs(aty2[k] - aty[k]));
        CHECK(dfwd == 0.0, "upsample_fwd_cpu vs elements (%d,%d,%d,%d), %d threads: max diff %g", n, n_low, c,
              c_low, threads, dfwd);
        CHECK(dadj < 1e-5, "upsample_adj_cpu vs elements (%d,%d,%d,%d), %d threads: max diff %g", n, n_low, c,
              c_low, threads, dadj);
    }
    omp_set_num_threads(saved);
}

int main() {
    test_known_values();
    test_dot_product(2, 2, 3, 3, 4, 5, 9, 13);
    test_dot_product(3, 1, 3, 3, 3, 3, 8, 7);
    test_dot_product(2, 1, 4, 1, 5, 2, 4, 6);  // broadcast both; downsample rows
    test_dot_product(1, 1, 1, 1, 3, 4, 7, 9);
    test_dot_product(3, 3, 2, 2, 4, 3, 6, 8);  // run-time channel count
    test_dot_product(4, 1, 5, 1, 2, 3, 5, 5);  // run-time channel count, both broadcasts
    if (failures) {
        std::printf("test_upsample: %d check(s) failed\n", failures);
        return 1;
    }
    std::printf("test_upsample: all checks passed\n");
    return 0;
}
