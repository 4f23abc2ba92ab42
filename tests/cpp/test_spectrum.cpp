// Host-only checks of spectrum.h: the scale and layout elements, composed with a naive double-precision
// DFT, reproduce Lucid's fft_image formula, and the adjoint chain is its exact transpose (dot-product test).
#include <cmath>
#include <cstdio>
#include <random>
#include <vector>

#include "check.h"
#include "lucid_fast/spectrum.h"

static const double kPi = 3.14159265358979323846;
static const float kOutScale = 0.25f;  // FFT_IMAGE_OUTPUT_SCALE

static SpectrumParams make_params(int b, int c, int h, int w, float decay) {
    SpectrumParams p;
    p.b = b; p.c = c; p.h = h; p.w = w;
    p.wf = w / 2 + 1 + (w % 2);
    p.wp = 2 * (p.wf - 1);
    p.decay_power = decay;
    p.out_scale = kOutScale;
    return p;
}

// numpy.fft.fftfreq(n)[i]
static double fftfreq(int n, int i) { return (i < (n + 1) / 2 ? i : i - n) / (double)n; }

// Lucid's scale, written independently of the header.
static double lucid_scale(const SpectrumParams& p, int y, int k) {
    const double f = std::sqrt(fftfreq(p.h, y) * fftfreq(p.h, y) + fftfreq(p.w, k) * fftfreq(p.w, k));
    return 1.0 / std::pow(std::max(f, 1.0 / std::max(p.h, p.w)), (double)p.decay_power) * std::sqrt((double)p.h * p.w);
}

// c2r irfft2 of one (h, wf) plane given as interleaved complex, length (h, wp), as scipy/TF define it:
// x[y][n] = 1/(h wp) sum_{ky,k} c_k Re(Z[ky][k] exp(2 pi i (ky y / h + k n / wp))).
static void naive_irfft2(const SpectrumParams& p, const float* z, double* x) {
    for (int y = 0; y < p.h; ++y)
        for (int n = 0; n < p.wp; ++n) {
            double acc = 0.0;
            for (int ky = 0; ky < p.h; ++ky)
                for (int k = 0; k < p.wf; ++k) {
                    const double ck = (k == 0 || k == p.wf - 1) ? 1.0 : 2.0;
                    const double th = 2 * kPi * ((double)ky * y / p.h + (double)k * n / p.wp);
                    const double re = z[2 * (ky * p.wf + k)], im = z[2 * (ky * p.wf + k) + 1];
                    acc += ck * (re * std::cos(th) - im * std::sin(th));
                }
            x[y * p.wp + n] = acc / ((double)p.h * p.wp);
        }
}

// rfft2 of one real (h, wp) plane, interleaved complex (h, wf) out.
static void naive_rfft2(const SpectrumParams& p, const float* x, float* z) {
    for (int ky = 0; ky < p.h; ++ky)
        for (int k = 0; k < p.wf; ++k) {
            double re = 0.0, im = 0.0;
            for (int y = 0; y < p.h; ++y)
                for (int n = 0; n < p.wp; ++n) {
                    const double th = 2 * kPi * ((double)ky * y / p.h + (double)k * n / p.wp);
                    re += x[y * p.wp + n] * std::cos(th);
                    im -= x[y * p.wp + n] * std::sin(th);
                }
            z[2 * (ky * p.wf + k)] = (float)re;
            z[2 * (ky * p.wf + k) + 1] = (float)im;
        }
}

// fft_image through the element functions and the naive irfft2.
static std::vector<float> forward(const SpectrumParams& p, const std::vector<float>& spectrum) {
    const size_t plane = (size_t)p.h * p.wf, planes = (size_t)p.b * p.c;
    std::vector<float> z(2 * planes * plane), planar(planes * p.h * p.wp), image((size_t)p.b * p.h * p.w * p.c);
    for (int y = 0; y < p.h; ++y)
        for (int k = 0; k < p.wf; ++k) spectrum_scale_fwd_elem(p, spectrum.data(), z.data(), y, k);
    std::vector<double> xd((size_t)p.h * p.wp);
    for (size_t q = 0; q < planes; ++q) {
        naive_irfft2(p, z.data() + 2 * q * plane, xd.data());
        for (size_t j = 0; j < xd.size(); ++j) planar[q * xd.size() + j] = (float)xd[j];
    }
    for (lf_idx row = 0; row < (lf_idx)p.b * p.h; ++row)
        for (lf_idx x = 0; x < p.w; ++x) spectrum_layout_fwd_elem(p, planar.data(), image.data(), row, x);
    return image;
}

// fft_image_adjoint through the element functions and the naive rfft2.
static std::vector<float> adjoint(const SpectrumParams& p, const std::vector<float>& grad_image) {
    const size_t plane = (size_t)p.h * p.wf, planes = (size_t)p.b * p.c;
    std::vector<float> planar(planes * p.h * p.wp), grad_z(2 * planes * plane), grad_spectrum(2 * planes * plane);
    for (lf_idx row = 0; row < (lf_idx)planes * p.h; ++row)
        for (lf_idx x = 0; x < p.wp; ++x) spectrum_layout_adj_elem(p, grad_image.data(), planar.data(), row, x);
    for (size_t q = 0; q < planes; ++q)
        naive_rfft2(p, planar.data() + q * p.h * p.wp, grad_z.data() + 2 * q * plane);
    for (int y = 0; y < p.h; ++y)
        for (int k = 0; k < p.wf; ++k) spectrum_scale_adj_elem(p, grad_z.data(), grad_spectrum.data(), y, k);
    return grad_spectrum;
}

static void test_shape(int b, int c, int h, int w, float decay, std::mt19937& gen) {
    const SpectrumParams p = make_params(b, c, h, w, decay);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    const size_t plane = (size_t)p.h * p.wf, planes = (size_t)p.b * p.c;
    std::vector<float> spectrum(2 * planes * plane), grad_image((size_t)b * h * w * c);
    for (float& v : spectrum) v = normal(gen);
    for (float& v : grad_image) v = normal(gen);
    char what[160];

    // Forward against Lucid's formula evaluated directly (double), cropped, NHWC, times 0.25.
    const std::vector<float> image = forward(p, spectrum);
    std::vector<float> zref(2 * plane);
    std::vector<double> xref((size_t)h * p.wp);
    double max_err = 0.0, max_abs = 0.0;
    for (size_t q = 0; q < planes; ++q) {
        for (int y = 0; y < h; ++y)
            for (int k = 0; k < p.wf; ++k) {
                const double s = lucid_scale(p, y, k);
                zref[2 * (y * p.wf + k)] = (float)(s * spectrum[q * plane + y * p.wf + k]);
                zref[2 * (y * p.wf + k) + 1] = (float)(s * spectrum[(planes + q) * plane + y * p.wf + k]);
            }
        naive_irfft2(p, zref.data(), xref.data());
        const size_t bi = q / c, ci = q % c;
        for (int y = 0; y < h; ++y)
            for (int x = 0; x < w; ++x) {
                const double want = 0.25 * xref[y * p.wp + x];
                const double got = image[((bi * h + y) * w + x) * c + ci];
                max_err = std::max(max_err, std::fabs(got - want));
                max_abs = std::max(max_abs, std::fabs(want));
            }
    }
    std::snprintf(what, sizeof what, "forward vs Lucid formula, shape (%d,%d,%d,%d) decay %g", b, c, h, w, decay);
    check(max_err <= 1e-5 * std::max(1.0, max_abs), what, max_err, max_abs);

    // Dot-product test of the whole chain: <F s, g> == <s, F^T g>.
    const std::vector<float> grad_spectrum = adjoint(p, grad_image);
    double lhs = 0.0, rhs = 0.0, norm = 0.0;
    for (size_t i = 0; i < image.size(); ++i) lhs += (double)image[i] * grad_image[i];
    for (size_t i = 0; i < spectrum.size(); ++i) {
        rhs += (double)spectrum[i] * grad_spectrum[i];
        norm += std::fabs((double)spectrum[i] * grad_spectrum[i]);
    }
    std::snprintf(what, sizeof what, "dot-product test, shape (%d,%d,%d,%d) decay %g", b, c, h, w, decay);
    check(std::fabs(lhs - rhs) <= 1e-5 * norm, what, lhs, rhs);
}

int main() {
    std::mt19937 gen(1234);
    test_shape(1, 1, 4, 6, 1.0f, gen);
    test_shape(2, 3, 5, 7, 1.0f, gen);
    test_shape(1, 4, 6, 5, 1.5f, gen);
    test_shape(2, 1, 3, 8, 0.5f, gen);
    test_shape(1, 2, 1, 1, 1.0f, gen);

    // Known values: scale at DC = max(h, w)^decay * sqrt(h w); odd w's extra column mirrors the one before.
    const SpectrumParams p = make_params(1, 1, 4, 6, 1.0f);
    check(std::fabs(spectrum_freq_scale(p, 0, 0) - 6.0 * std::sqrt(24.0)) < 1e-12, "scale at DC", spectrum_freq_scale(p, 0, 0),
          6.0 * std::sqrt(24.0));
    check(std::fabs(spectrum_freq_scale(p, 1, 2) - 1.0 / std::sqrt(0.0625 + 1.0 / 9.0) * std::sqrt(24.0)) < 1e-12,
          "scale at (1, 2)", spectrum_freq_scale(p, 1, 2), 1.0 / std::sqrt(0.0625 + 1.0 / 9.0) * std::sqrt(24.0));
    const SpectrumParams q = make_params(1, 1, 5, 7, 1.0f);
    check(q.wf == 5 && q.wp == 8, "odd-w sizes", q.wf, q.wp);
    check(spectrum_freq_scale(q, 2, 4) == spectrum_freq_scale(q, 2, 3), "odd-w extra column", spectrum_freq_scale(q, 2, 4),
          spectrum_freq_scale(q, 2, 3));

    // The imaginary parts of Z[0, 0] and of the Nyquist entries at y = 0 do not reach the image.
    std::vector<float> s(2 * q.h * q.wf, 0.0f);
    s[q.h * q.wf + 0] = 1.0f;           // Im Z[0, 0]
    s[q.h * q.wf + q.wf - 1] = 1.0f;    // Im Z[0, Nyquist]
    const std::vector<float> img = forward(q, s);
    double mx = 0.0;
    for (float v : img) mx = std::max(mx, (double)std::fabs(v));
    check(mx < 1e-6, "imaginary DC/Nyquist ignored", mx, 0.0);

    // The DC and Nyquist columns handed to the c2r transform are Hermitian over y (cuFFT assumes it).
    {
        const SpectrumParams r = make_params(2, 1, 6, 7, 1.0f);
        std::normal_distribution<float> normal(0.0f, 1.0f);
        std::vector<float> sp(2 * 2 * r.h * r.wf), z(2 * 2 * r.h * r.wf);
        for (float& v : sp) v = normal(gen);
        for (int y = 0; y < r.h; ++y)
            for (int k = 0; k < r.wf; ++k) spectrum_scale_fwd_elem(r, sp.data(), z.data(), y, k);
        double worst = 0.0;
        for (int qd = 0; qd < 2; ++qd)
            for (int k : {0, r.wf - 1})
                for (int y = 0; y < r.h; ++y) {
                    const float* a = &z[2 * ((qd * r.h + y) * r.wf + k)];
                    const float* m = &z[2 * ((qd * r.h + (r.h - y) % r.h) * r.wf + k)];
                    worst = std::max(worst, (double)std::fabs(a[0] - m[0]) + std::fabs(a[1] + m[1]));
                }
        check(worst == 0.0, "Hermitian DC/Nyquist columns", worst, 0.0);
    }

    if (failures) std::printf("test_spectrum: %d failure(s)\n", failures);
    else std::printf("test_spectrum: all passed\n");
    return failures ? 1 : 0;
}
