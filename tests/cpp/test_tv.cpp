// Host-only checks of tv.h: a hand-computed value, and the gathered gradient against central differences of the
// summed value elements, on a small image with distinct values (away from |.|'s kink).
#include <cmath>
#include <cstdio>
#include <vector>

#include "tv_cpu.h"

int main() {
    int failures = 0;
    // 1x2x2x1 image [[1, 4], [2, 8]]: |2-1| + |8-4| + |4-1| + |8-2| = 14
    {
        TvParams p{1, 2, 2, 1, 1.0f, 0};
        std::vector<float> x{1, 4, 2, 8};
        std::vector<float> g(4);
        const double v = tv_value_grad_cpu(p, x.data(), g.data());
        if (std::fabs(v - 14.0) > 1e-6) { std::printf("tv value %f != 14\n", v); ++failures; }
    }
    // 2x3x4x3 image: gradient vs central differences, weight 0.5, and accumulate adds
    {
        const int b = 2, h = 3, w = 4, c = 3, n = b * h * w * c;
        TvParams p{b, h, w, c, 0.5f, 0};
        std::vector<float> x(n), g(n), g_acc(n, 1.0f), scratch(n);
        for (int i = 0; i < n; ++i) x[i] = (float)((i * 37) % n) * 0.1f;
        tv_value_grad_cpu(p, x.data(), g.data());
        p.accumulate = 1;
        tv_value_grad_cpu(p, x.data(), g_acc.data());
        p.accumulate = 0;
        const float eps = 1e-2f;
        for (int i = 0; i < n; ++i) {
            const float keep = x[i];
            x[i] = keep + eps;
            const double fp = tv_value_grad_cpu(p, x.data(), scratch.data());
            x[i] = keep - eps;
            const double fm = tv_value_grad_cpu(p, x.data(), scratch.data());
            x[i] = keep;
            const double fd = 0.5 * (fp - fm) / (2.0 * eps);
            if (std::fabs(fd - g[i]) > 1e-3) { std::printf("tv grad[%d] %f != fd %f\n", i, g[i], fd); ++failures; }
            if (std::fabs(g_acc[i] - (1.0f + g[i])) > 1e-6) { std::printf("tv accumulate[%d] wrong\n", i); ++failures; }
        }
    }
    if (failures) std::printf("test_tv: %d failure(s)\n", failures);
    else std::printf("test_tv: ok\n");
    return failures ? 1 : 0;
}
