// Host-only checks of warp.h: pad-mode index tables, known values, and the dot-product identity
// <warp(x), y> = <x, warp^T(y)> of the element gather vs scatter (the GPU kernels' flat-index forms
// warp_fwd_pix / warp_adj_pix, atomic adds), and the CPU drivers (row loops, compile-time and run-time channel
// counts, per-item and private-buffer scatter schedules for 1-3 threads) against those elements.
#include <omp.h>

#include <cmath>
#include <cstdio>
#include <vector>

#include "check.h"
#include "lucid_fast/warp.h"
#include "warp_cpu.h"

static Lcg rng(12345);

static WarpParams params(int n, int h, int w, int c, int ho, int wo, int mode, float fill) {
    WarpParams p;
    p.n = n; p.h = h; p.w = w; p.c = c; p.ho = ho; p.wo = wo;
    p.pad_mode = mode;
    p.fill_per_channel = 0;
    for (int k = 0; k < 4; ++k) p.fill[k] = fill;
    return p;
}

static void test_pad_index_tables() {
    // size 3; taps -4..6
    const int reflect[] = {0, 1, 2, 1, 0, 1, 2, 1, 0, 1, 2};
    const int symmetric[] = {2, 2, 1, 0, 0, 1, 2, 2, 1, 0, 0};
    const int edge[] = {0, 0, 0, 0, 0, 1, 2, 2, 2, 2, 2};
    for (int k = -4; k <= 6; ++k) {
        CHECK(warp_pad_index(k, 3, WARP_PAD_REFLECT) == reflect[k + 4], "reflect(%d) = %d", k,
              warp_pad_index(k, 3, WARP_PAD_REFLECT));
        CHECK(warp_pad_index(k, 3, WARP_PAD_SYMMETRIC) == symmetric[k + 4], "symmetric(%d) = %d", k,
              warp_pad_index(k, 3, WARP_PAD_SYMMETRIC));
        CHECK(warp_pad_index(k, 3, WARP_PAD_EDGE) == edge[k + 4], "edge(%d)", k);
        CHECK(warp_pad_index(k, 3, WARP_PAD_CONSTANT) == ((k >= 0 && k < 3) ? k : -1), "constant(%d)", k);
        for (int mode = WARP_PAD_REFLECT; mode <= WARP_PAD_EDGE; ++mode)
            CHECK(warp_pad_index(k, 1, mode) == 0, "size-1 axis, mode %d, tap %d", mode, k);
    }
}

static void test_axis_taps_floor_and_clamp() {
    int i0, i1;
    float f;
    warp_axis_taps(-0.25f, 4, WARP_PAD_CONSTANT, &i0, &i1, &f);
    CHECK(i0 == -1 && i1 == 0 && std::fabs(f - 0.75f) < 1e-7f, "u=-0.25: %d %d %g", i0, i1, f);
    warp_axis_taps(2.0f, 4, WARP_PAD_CONSTANT, &i0, &i1, &f);
    CHECK(i0 == 2 && i1 == 3 && f == 0.0f, "u=2: %d %d %g", i0, i1, f);
    warp_axis_taps(-3.0f, 4, WARP_PAD_CONSTANT, &i0, &i1, &f);
    CHECK(i0 == -1 && i1 == -1 && f == 0.0f, "u=-3: %d %d %g", i0, i1, f);
    warp_axis_taps(1e30f, 4, WARP_PAD_REFLECT, &i0, &i1, &f);  // clamped, still a valid index
    CHECK(i0 >= 0 && i0 < 4 && i1 >= 0 && i1 < 4, "u=1e30 reflect: %d %d", i0, i1);
    warp_axis_taps(NAN, 4, WARP_PAD_CONSTANT, &i0, &i1, &f);
    CHECK(i0 == -1 && i1 == -1, "u=NaN: %d %d", i0, i1);
}

static void test_known_values() {
    // 3x3 image 1..9, shift one pixel right in index convention (u = j + 1), constant fill 0.5
    std::vector<float> x(9), y(9);
    for (int k = 0; k < 9; ++k) x[k] = (float)(k + 1);
    const float shift[6] = {1, 0, 1, 0, 1, 0};
    WarpParams p = params(1, 3, 3, 1, 3, 3, WARP_PAD_CONSTANT, 0.5f);
    warp_fwd_cpu(p, shift, x.data(), y.data());
    const float want[9] = {2, 3, 0.5f, 5, 6, 0.5f, 8, 9, 0.5f};
    for (int k = 0; k < 9; ++k) CHECK(y[k] == want[k], "constant shift: y[%d] = %g, want %g", k, y[k], want[k]);
    p.pad_mode = WARP_PAD_REFLECT;
    warp_fwd_cpu(p, shift, x.data(), y.data());
    CHECK(y[2] == 2.0f && y[5] == 5.0f, "reflect shift: %g %g", y[2], y[5]);
    // half-pixel shift down (v = i + 0.5): rows blend; the last row blends with the fill
    const float half[6] = {1, 0, 0, 0, 1, 0.5f};
    p.pad_mode = WARP_PAD_CONSTANT;
    warp_fwd_cpu(p, half, x.data(), y.data());
    CHECK(std::fabs(y[0] - 2.5f) < 1e-6f && std::fabs(y[6] - 3.75f) < 1e-6f, "half shift: %g %g", y[0], y[6]);
    // per-channel fill
    std::vector<float> x2(2 * 2 * 2, 1.0f), y2(8);
    WarpParams q = params(1, 2, 2, 2, 2, 2, WARP_PAD_CONSTANT, 0.0f);
    q.fill_per_channel = 1;
    q.fill[0] = -1.0f; q.fill[1] = 3.0f;
    const float far[6] = {1, 0, 100, 0, 1, 0};
    warp_fwd_cpu(q, far, x2.data(), y2.data());
    CHECK(y2[0] == -1.0f && y2[1] == 3.0f, "per-channel fill: %g %g", y2[0], y2[1]);
}

static void test_dot_product(int mode, int n, int c) {
    const int h = 5, w = 6, ho = 7, wo = 4;
    const float mats[18] = {0.9f, 0.3f, -1.2f, -0.25f, 1.1f, 0.7f,    // item 0
                            1.3f, -0.4f, 2.5f, 0.35f, 0.8f, -3.1f,    // item 1: far taps too
                            -0.7f, 0.6f, 5.2f, -0.5f, -0.9f, 6.3f};   // item 2: flipped
    WarpParams p = params(n, h, w, c, ho, wo, mode, 0.0f);
    std::vector<float> x(n * h * w * c), y(n * ho * wo * c), ax(y.size()), aty(x.size(), 0.0f);
    for (float& v : x) v = rng.uniform();
    for (float& v : y) v = rng.uniform();
    for (lf_idx i = 0; i < (lf_idx)n * ho * wo; ++i) warp_fwd_pix(p, mats, x.data(), ax.data(), i);
    for (lf_idx i = 0; i < (lf_idx)n * ho * wo; ++i) warp_adj_pix(p, mats, y.data(), aty.data(), i);
    double lhs = 0.0, rhs = 0.0;
    for (size_t k = 0; k < y.size(); ++k) lhs += (double)ax[k] * y[k];
    for (size_t k = 0; k < x.size(); ++k) rhs += (double)x[k] * aty[k];
    CHECK(std::fabs(lhs - rhs) < 1e-5 * (std::fabs(lhs) + 1.0), "dot product, mode %d, n %d, c %d: %.9g vs %.9g",
          mode, n, c, lhs, rhs);
    // the drivers (row loops, zeroing, every scatter schedule) give the same results
    const int saved = omp_get_max_threads();
    for (int threads = 1; threads <= 3; ++threads) {
        omp_set_num_threads(threads);
        std::vector<float> ax2(y.size(), 9.0f), aty2(x.size(), 7.0f);
        warp_fwd_cpu(p, mats, x.data(), ax2.data());
        warp_adj_cpu(p, mats, y.data(), aty2.data());
        double dfwd = 0.0, dadj = 0.0;
        for (size_t k = 0; k < y.size(); ++k) dfwd = std::fmax(dfwd, std::fabs(ax2[k] - ax[k]));
        for (size_t k = 0; k < x.size(); ++k) dadj = std::fmax(dadj, std::fabs(aty2[k] - aty[k]));
        CHECK(dfwd == 0.0, "warp_fwd_cpu vs elements, mode %d, n %d, c %d, %d threads: max diff %g", mode, n, c,
              threads, dfwd);
        CHECK(dadj < 1e-5, "warp_adj_cpu vs elements, mode %d, n %d, c %d, %d threads: max diff %g", mode, n, c,
              threads, dadj);
    }
    omp_set_num_threads(saved);
}

int main() {
    test_pad_index_tables();
    test_axis_taps_floor_and_clamp();
    test_known_values();
    for (int mode = WARP_PAD_CONSTANT; mode <= WARP_PAD_EDGE; ++mode) {
        test_dot_product(mode, 2, 3);
        test_dot_product(mode, 1, 1);
        test_dot_product(mode, 3, 4);
        test_dot_product(mode, 2, 5);  // run-time channel count
    }
    if (failures) {
        std::printf("test_warp: %d check(s) failed\n", failures);
        return 1;
    }
    std::printf("test_warp: all checks passed\n");
    return 0;
}
