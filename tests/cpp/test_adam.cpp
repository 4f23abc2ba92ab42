// Host-only checks of adam.h: the first step moves by about lr * sign(g), a several-step trajectory follows
// a double-precision Adam, and grad_sign = -1 ascends.
#include <cmath>
#include <cstdio>
#include <random>
#include <vector>

#include "check.h"
#include "lucid_fast/adam.h"

static AdamParams make_params(int t, double lr, double b1, double b2, double eps, float sign) {
    AdamParams p;
    p.alpha = (float)(lr * std::sqrt(1.0 - std::pow(b2, t)) / (1.0 - std::pow(b1, t)));
    p.one_minus_beta_1 = (float)(1.0 - b1);
    p.one_minus_beta_2 = (float)(1.0 - b2);
    p.epsilon = (float)eps;
    p.grad_sign = sign;
    return p;
}

int main() {
    const double lr = 0.05, b1 = 0.9, b2 = 0.999, eps = 1e-7;
    char what[160];

    // Step 1 from m = v = 0: m = (1-b1) g, v = (1-b2) g^2, update = lr * g / (|g| + eps / sqrt(1-b2)).
    {
        const float g[3] = {0.3f, -2.0f, 1e-3f};
        float param[3] = {1.0f, 1.0f, 1.0f}, m[3] = {0, 0, 0}, v[3] = {0, 0, 0};
        const AdamParams p = make_params(1, lr, b1, b2, eps, 1.0f);
        for (int i = 0; i < 3; ++i) adam_update_elem(p, param, g, m, v, i);
        for (int i = 0; i < 3; ++i) {
            const double want = 1.0 - lr * g[i] / (std::fabs(g[i]) + eps / std::sqrt(1.0 - b2));
            std::snprintf(what, sizeof what, "first step, element %d", i);
            check(std::fabs(param[i] - want) < 1e-6, what, param[i], want);
            check(std::fabs(m[i] - 0.1 * g[i]) < 1e-7, "first m", m[i], 0.1 * g[i]);
            check(std::fabs(v[i] - 0.001 * g[i] * g[i]) < 1e-9, "first v", v[i], 0.001 * g[i] * g[i]);
        }
    }

    // A 10-step trajectory on a quadratic, descending (sign +1) and ascending (sign -1 on the negated
    // gradient gives the same path), against double-precision Adam.
    std::mt19937 gen(1234);
    std::normal_distribution<double> normal(0.0, 1.0);
    const int n = 16, steps = 10;
    std::vector<double> target(n), x0(n);
    for (int i = 0; i < n; ++i) { target[i] = normal(gen); x0[i] = normal(gen); }
    for (int sign = 1; sign >= -1; sign -= 2) {
        std::vector<float> param(n), grad(n), m(n, 0.0f), v(n, 0.0f);
        std::vector<double> pd(x0), md(n, 0.0), vd(n, 0.0);
        for (int i = 0; i < n; ++i) param[i] = (float)x0[i];
        for (int t = 1; t <= steps; ++t) {
            // loss = 0.5 |x - target|^2 ; for the ascending run hand over the gradient of -loss.
            for (int i = 0; i < n; ++i) grad[i] = (float)(sign * (param[i] - target[i]));
            const AdamParams p = make_params(t, lr, b1, b2, eps, (float)sign);
            for (int i = 0; i < n; ++i) adam_update_elem(p, param.data(), grad.data(), m.data(), v.data(), i);
            const double alpha = lr * std::sqrt(1.0 - std::pow(b2, t)) / (1.0 - std::pow(b1, t));
            for (int i = 0; i < n; ++i) {
                const double g = pd[i] - target[i];
                md[i] += (g - md[i]) * (1.0 - b1);
                vd[i] += (g * g - vd[i]) * (1.0 - b2);
                pd[i] -= md[i] * alpha / (std::sqrt(vd[i]) + eps);
            }
        }
        double worst = 0.0, before = 0.0, after = 0.0;
        for (int i = 0; i < n; ++i) {
            worst = std::max(worst, std::fabs(param[i] - pd[i]));
            before += (x0[i] - target[i]) * (x0[i] - target[i]);
            after += (param[i] - target[i]) * (param[i] - target[i]);
        }
        std::snprintf(what, sizeof what, "10-step trajectory vs double Adam, grad_sign %d", sign);
        check(worst < 1e-5, what, worst, 0.0);
        std::snprintf(what, sizeof what, "10 steps reduce the quadratic, grad_sign %d", sign);
        check(after < before, what, after, before);
    }

    if (failures) std::printf("test_adam: %d failure(s)\n", failures);
    else std::printf("test_adam: all passed\n");
    return failures ? 1 : 0;
}
