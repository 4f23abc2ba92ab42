// Host-only checks of color.h: the colour matrix and its transpose (dot-product identity), known values of
// both squashes, Lucid's clip gradient rule, and finite differences of the sigmoid path.
#include <cmath>
#include <cstdio>
#include <random>
#include <vector>

#include "check.h"
#include "lucid_fast/color.h"

// Lucid's color_correlation_svd_sqrt / its largest column norm (computed here, independently of Python).
static ColorParams make_params(int c, int decorrelate, int sigmoid) {
    const double raw[9] = {0.26, 0.09, 0.02, 0.27, 0.00, -0.05, 0.27, -0.09, 0.03};
    double max_norm = 0.0;
    for (int k = 0; k < 3; ++k)
        max_norm = std::max(max_norm, std::sqrt(raw[k] * raw[k] + raw[3 + k] * raw[3 + k] + raw[6 + k] * raw[6 + k]));
    const float mean[3] = {0.48f, 0.46f, 0.41f};
    ColorParams p;
    p.c = c;
    p.decorrelate = decorrelate;
    p.sigmoid = sigmoid;
    for (int j = 0; j < 9; ++j) p.matrix[j] = (float)(raw[j] / max_norm);
    for (int j = 0; j < 3; ++j) p.offset[j] = (decorrelate && !sigmoid) ? mean[j] : 0.0f;
    return p;
}

int main() {
    std::mt19937 gen(1234);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    char what[160];

    // <M x, g> == <x, M^T g>.
    {
        const ColorParams p = make_params(3, 1, 1);
        for (int trial = 0; trial < 20; ++trial) {
            float x[3], g[3], t[3], gx[3];
            for (int j = 0; j < 3; ++j) { x[j] = normal(gen); g[j] = normal(gen); }
            color_decorrelate_fwd(p, x, t);
            color_decorrelate_adj(p, g, gx);
            double lhs = 0.0, rhs = 0.0, norm = 0.0;
            for (int j = 0; j < 3; ++j) {
                lhs += (double)t[j] * g[j];
                rhs += (double)x[j] * gx[j];
                norm += std::fabs((double)x[j] * gx[j]);
            }
            check(std::fabs(lhs - rhs) <= 1e-6 * norm, "decorrelate dot-product", lhs, rhs);
        }
        // The normalised matrix has unit largest column norm.
        double mx = 0.0;
        for (int k = 0; k < 3; ++k)
            mx = std::max(mx, std::sqrt((double)p.matrix[k] * p.matrix[k] + (double)p.matrix[3 + k] * p.matrix[3 + k] +
                                        (double)p.matrix[6 + k] * p.matrix[6 + k]));
        check(std::fabs(mx - 1.0) < 1e-6, "unit largest column norm", mx, 1.0);
    }

    // Known values: zeros -> 0.5 (sigmoid); zeros -> COLOR_MEAN (clip, decorrelated); zeros -> 0 (clip, plain,
    // since 2*0-1 = -1 sits on the edge); channel 3 (alpha) is only squashed.
    {
        const float zero[4] = {0, 0, 0, 0};
        float y[4];
        ColorParams p = make_params(4, 1, 1);
        color_fwd_elem(p, zero, y, 0);
        for (int j = 0; j < 4; ++j) check(y[j] == 0.5f, "sigmoid(0)", y[j], 0.5);
        p = make_params(4, 1, 0);
        color_fwd_elem(p, zero, y, 0);
        const float mean[3] = {0.48f, 0.46f, 0.41f};
        for (int j = 0; j < 3; ++j) check(std::fabs(y[j] - mean[j]) < 1e-7f, "clip(0 + mean)", y[j], mean[j]);
        check(y[3] == 0.0f, "clip alpha at 0", y[3], 0.0);
        p = make_params(2, 0, 0);
        const float big[2] = {3.0f, -3.0f};
        color_fwd_elem(p, big, y, 0);
        check(y[0] == 1.0f && y[1] == 0.0f, "clip saturates to [0, 1]", y[0], y[1]);
        // Decorrelated value of a pixel: sigmoid(M x).
        p = make_params(3, 1, 1);
        const float x[3] = {0.3f, -0.7f, 1.1f};
        color_fwd_elem(p, x, y, 0);
        for (int j = 0; j < 3; ++j) {
            const double t = (double)p.matrix[3 * j] * x[0] + (double)p.matrix[3 * j + 1] * x[1] + (double)p.matrix[3 * j + 2] * x[2];
            const double want = 1.0 / (1.0 + std::exp(-t));
            check(std::fabs(y[j] - want) < 1e-6, "sigmoid(M x)", y[j], want);
        }
    }

    // Clip gradient (Lucid's custom rule, for the maximized objective's gradient).
    {
        const ColorParams p = make_params(1, 0, 0);
        check(color_squash_adj(p, 0.25f, 0.7f) == 0.7f, "clip grad inside", color_squash_adj(p, 0.25f, 0.7f), 0.7);
        check(color_squash_adj(p, 1.0f, 0.7f) == 0.0f, "clip grad at top edge, outward", color_squash_adj(p, 1.0f, 0.7f), 0.0);
        check(color_squash_adj(p, 1.0f, -0.7f) == -0.7f, "clip grad at top edge, inward", color_squash_adj(p, 1.0f, -0.7f), -0.7);
        check(color_squash_adj(p, 3.0f, -0.7f) == -0.7f, "clip grad beyond the edge, inward (straight-through)",
              color_squash_adj(p, 3.0f, -0.7f), -0.7);
        check(color_squash_adj(p, -2.0f, -0.7f) == 0.0f, "clip grad below, outward", color_squash_adj(p, -2.0f, -0.7f), 0.0);
        check(color_squash_adj(p, -2.0f, 0.7f) == 0.7f, "clip grad below, inward", color_squash_adj(p, -2.0f, 0.7f), 0.7);
    }

    // Finite differences of f(x) = <to_valid_rgb(x), g> on the sigmoid path, for c = 1..5, with and without
    // decorrelation; and the adjoint of the clip path where nothing is clipped is the exact transpose.
    for (int c = 1; c <= 5; ++c)
        for (int dec = 0; dec <= 1; ++dec) {
            const ColorParams p = make_params(c, (dec && c >= 3) ? 1 : 0, 1);
            const int npix = 7;
            std::vector<float> x(npix * c), g(npix * c), v(npix * c), gx(npix * c), yp(npix * c), ym(npix * c), xs(npix * c);
            for (int i = 0; i < npix * c; ++i) { x[i] = normal(gen); g[i] = normal(gen); v[i] = normal(gen); }
            for (int i = 0; i < npix; ++i) color_adj_elem(p, x.data(), g.data(), gx.data(), i);
            const float eps = 1e-2f;
            for (int i = 0; i < npix * c; ++i) xs[i] = x[i] + eps * v[i];
            for (int i = 0; i < npix; ++i) color_fwd_elem(p, xs.data(), yp.data(), i);
            for (int i = 0; i < npix * c; ++i) xs[i] = x[i] - eps * v[i];
            for (int i = 0; i < npix; ++i) color_fwd_elem(p, xs.data(), ym.data(), i);
            double fd = 0.0, an = 0.0;
            for (int i = 0; i < npix * c; ++i) {
                fd += ((double)yp[i] - ym[i]) * g[i] / (2.0 * eps);
                an += (double)gx[i] * v[i];
            }
            std::snprintf(what, sizeof what, "sigmoid finite differences c=%d decorrelate=%d", c, dec);
            check(std::fabs(fd - an) <= 2e-3 * std::max(std::fabs(fd), std::fabs(an)), what, fd, an);

            // Clip path on small inputs (|2t-1| < 1 everywhere): y - y(0) is linear, adjoint is its transpose.
            const ColorParams q = make_params(c, (dec && c >= 3) ? 1 : 0, 0);
            std::vector<float> y0(npix * c), zero(npix * c, 0.0f);
            for (int i = 0; i < npix * c; ++i) xs[i] = 0.05f * x[i] + ((dec && c >= 3 && i % c < 3) ? 0.0f : 0.5f);
            for (int i = 0; i < npix * c; ++i) zero[i] = (dec && c >= 3 && i % c < 3) ? 0.0f : 0.5f;
            for (int i = 0; i < npix; ++i) {
                color_fwd_elem(q, xs.data(), yp.data(), i);
                color_fwd_elem(q, zero.data(), y0.data(), i);
                color_adj_elem(q, xs.data(), g.data(), gx.data(), i);
            }
            double lhs = 0.0, rhs = 0.0, norm = 0.0;
            for (int i = 0; i < npix * c; ++i) {
                lhs += ((double)yp[i] - y0[i]) * g[i];
                rhs += ((double)xs[i] - zero[i]) * gx[i];
                norm += std::fabs(((double)xs[i] - zero[i]) * gx[i]);
            }
            std::snprintf(what, sizeof what, "clip-path dot-product c=%d decorrelate=%d", c, dec);
            check(std::fabs(lhs - rhs) <= 1e-5 * norm, what, lhs, rhs);
        }

    // lf_expf (the CPU's vectorizable exp behind lf_sigmoid) against double exp: relative error < 2e-7 on a
    // dense sweep of its unclamped range, exact at 0, and saturating (finite, monotone) outside it.
    {
        double worst = 0.0;
        float worst_x = 0.0f;
        for (int k = -873000; k <= 883000; ++k) {
            const float x = (float)k * 1e-4f;
            const double ref = std::exp((double)x);
            const double rel = std::fabs((double)lf_expf(x) - ref) / ref;
            if (rel > worst) { worst = rel; worst_x = x; }
        }
        check(worst < 2e-7, "lf_expf relative error on [-87.3, 88.3]", worst, worst_x);
        check(lf_expf(0.0f) == 1.0f, "lf_expf(0)", lf_expf(0.0f), 1.0);
        check(std::isfinite(lf_expf(1000.0f)) && lf_expf(1000.0f) >= lf_expf(88.0f), "lf_expf saturates above",
              lf_expf(1000.0f), lf_expf(88.0f));
        check(lf_expf(-1000.0f) >= 0.0f && lf_expf(-1000.0f) <= lf_expf(-87.0f), "lf_expf saturates below",
              lf_expf(-1000.0f), lf_expf(-87.0f));
        for (float x : {-30.0f, -5.0f, -0.5f, 0.0f, 0.5f, 5.0f, 30.0f}) {
            const double ref = 1.0 / (1.0 + std::exp(-(double)x));
            std::snprintf(what, sizeof what, "lf_sigmoid(%g)", x);
            check(std::fabs(lf_sigmoid(x) - ref) <= 2e-7 * ref, what, lf_sigmoid(x), ref);
        }
    }

    if (failures) std::printf("test_color: %d failure(s)\n", failures);
    else std::printf("test_color: all passed\n");
    return failures ? 1 : 0;
}
