// spectrum.h — the native stages of Lucid's Fourier image parameterization (param.spatial.fft_image):
//
//     image = FFT_IMAGE_OUTPUT_SCALE * crop_{h,w}( NHWC( irfft2( scale(y,k) * (re + i im) ) ) )
//
// The spectrum is planar, (2, B, C, h, wf): plane 0 the real parts, plane 1 the imaginary parts, with
// wf = w/2+1 for even w and w/2+2 for odd w (Lucid keeps one extra column for odd w). irfft2 runs along
// height with length h and along width with length wp = 2*(wf-1) (= w for even w, w+1 for odd w; the last
// column is then cropped) — what tf.signal.irfft2d does with its inferred fft_length.
//
// The FFT itself is a library call (scipy.fft on the CPU, cuFFT through CuPy on the GPU). These element
// functions are the two stages around it, each with its exact transpose:
//   scale:  planar spectrum -> interleaved complex64 times Lucid's frequency scale      (before irfft2)
//   layout: real NCHW' irfft2 output -> NHWC image, cropped, times out_scale           (after irfft2)
// and the adjoint of irfft2 is carried by the scale adjoint (see spectrum_scale_adj_elem), so that the whole
// adjoint is: layout_adj -> rfft2 -> scale_adj.
//
// Unlike the per-element ops, these element functions take two indices (a row and a column). The CPU
// drivers loop over them directly (no integer division in the inner loop, which dominated the cost at
// 224 px), the CUDA kernels split one flat grid-stride index.
//
// The op's files: this header, csrc/cpu/spectrum_cpu.{h,cpp}, csrc/cuda/spectrum.cu, bindings/spectrum.pxi and
// bindings/op_spectrum.py (imported as lucid_fast._bindings.op_spectrum); with its tests: bindings/README.md.
// SpectrumParams is mirrored in Python (bindings/spectrum.pxi, SPECTRUM_PARAMS_DTYPE in
// bindings/op_spectrum.py) and checked field by field against this definition (csrc/cpu/lf_param_layout.h):
// 4-byte int and float fields only.
#pragma once
#include "lucid_fast/lf_defs.h"

struct SpectrumParams {
    int b, c;           // batch and channel count of the image (spectrum planes are b*c)
    int h, w;           // image height and width
    int wf;             // spectrum columns: w/2+1 (even w) or w/2+2 (odd w)
    int wp;             // irfft length along width: 2*(wf-1), i.e. w (even w) or w+1 (odd w)
    float decay_power;  // Lucid's decay_power: scale = 1/max(freq, 1/max(h,w))^decay_power * sqrt(h*w)
    float out_scale;    // FFT_IMAGE_OUTPUT_SCALE (bindings/op_spectrum.py), applied by the layout stage
};

//------------------------------------------------------------------------
// Shared helpers.

// Lucid's scale at spectrum position (y, k), in double as Lucid computes it with numpy:
// freq = sqrt(fx^2 + fy^2) with fy = fftfreq(h)[y] and fx = fftfreq(w)[k], each formed as numpy forms it
// (signed index times 1/n; index k = w/2+1 of the odd-w extra column wraps to the negative frequency), and
// scale = 1 / max(freq, 1/max(h, w))^decay_power * sqrt(h*w).
LF_HD double spectrum_freq_scale(const SpectrumParams& p, lf_idx y, lf_idx k) {
    const double fy = (double)(y < (p.h + 1) / 2 ? y : y - p.h) * (1.0 / (double)p.h);
    const double fx = (double)(k < (p.w + 1) / 2 ? k : k - p.w) * (1.0 / (double)p.w);
    const double fmin = 1.0 / (double)(p.h > p.w ? p.h : p.w);
    double f = sqrt(fx * fx + fy * fy);
    if (f < fmin) f = fmin;
    const double decayed = (p.decay_power == 1.0f) ? f : pow(f, (double)p.decay_power);
    return 1.0 / decayed * sqrt((double)p.h * (double)p.w);
}

// Column k of an irfft along the width holds a frequency whose conjugate is not stored (c_k = 2) unless it
// is the DC column or the Nyquist column (the last one: wp is always even), which stand alone (c_k = 1).
LF_HD bool spectrum_is_self_conjugate_column(const SpectrumParams& p, lf_idx k) { return k == 0 || k == p.wf - 1; }

//------------------------------------------------------------------------
// Scale, forward: z[q, y, k] = scale(y, k) * (spectrum[0, q, y, k] + i spectrum[1, q, y, k]) for every plane q,
// written as interleaved complex64 (z holds 2 floats per entry). One element is one (y, k), looping over the
// b*c planes, so the scale is computed once per frequency.
//
// In the DC and Nyquist columns irfft2 only sees the Hermitian part over y, (Z[y] + conj(Z[-y])) / 2 (a c2r
// transform reads only the real part of those columns after the ifft along y). We write that part
// explicitly: it changes nothing for scipy/TensorFlow, and makes any c2r implementation (cuFFT assumes
// Hermitian input) give the same image. It commutes with the scale (scale(y,k) = scale(-y,k)).

LF_HD void spectrum_scale_fwd_elem(const SpectrumParams& p, const float* spectrum, float* z, lf_idx y, lf_idx k) {
    const lf_idx plane = (lf_idx)p.h * p.wf;
    const lf_idx planes = (lf_idx)p.b * p.c;
    const float* re = spectrum;
    const float* im = spectrum + planes * plane;
    const float s = (float)spectrum_freq_scale(p, y, k);
    const lf_idx o = y * p.wf + k;
    if (spectrum_is_self_conjugate_column(p, k)) {
        const lf_idx om = ((p.h - y) % p.h) * p.wf + k;  // the same column at -y
        for (lf_idx q = 0; q < planes; ++q) {
            const lf_idx base = q * plane;
            z[2 * (base + o)] = s * (0.5f * (re[base + o] + re[base + om]));
            z[2 * (base + o) + 1] = s * (0.5f * (im[base + o] - im[base + om]));
        }
    } else {
        for (lf_idx q = 0; q < planes; ++q) {
            const lf_idx base = q * plane;
            z[2 * (base + o)] = s * re[base + o];
            z[2 * (base + o) + 1] = s * im[base + o];
        }
    }
}

// Scale, adjoint: transposes the composition (scale forward, then irfft2 of length (h, wp)) given
// grad_z = rfft2 of the real gradient (interleaved complex64, shape (b*c, h, wf)).
// For the real-linear map Z -> irfft2(Z), the transpose of the c2r irfft along the width is
// c_k / wp * rfft, and that of the complex ifft along the height is (1/h) fft; so
//     grad_spectrum[., q, y, k] = scale(y, k) * c_k / (h * wp) * (Re, Im) grad_z[q, y, k].
// (rfft2 of a real array is already Hermitian in the DC/Nyquist columns, so the Hermitian projection of the
// forward, being self-adjoint, needs no counterpart here.)

LF_HD void spectrum_scale_adj_elem(const SpectrumParams& p, const float* grad_z, float* grad_spectrum, lf_idx y,
                                   lf_idx k) {
    const lf_idx plane = (lf_idx)p.h * p.wf;
    const lf_idx planes = (lf_idx)p.b * p.c;
    float* grad_re = grad_spectrum;
    float* grad_im = grad_spectrum + planes * plane;
    const double c_k = spectrum_is_self_conjugate_column(p, k) ? 1.0 : 2.0;
    const float s = (float)(spectrum_freq_scale(p, y, k) * c_k / ((double)p.h * (double)p.wp));
    const lf_idx o = y * p.wf + k;
    for (lf_idx q = 0; q < planes; ++q) {
        const lf_idx j = q * plane + o;
        grad_re[j] = s * grad_z[2 * j];
        grad_im[j] = s * grad_z[2 * j + 1];
    }
}

//------------------------------------------------------------------------
// Layout, forward: image[bi, y, x, c] = out_scale * planar[bi, c, y, x] for x < w (the NCHW' irfft2 output,
// width wp, cropped to w and made NHWC). One element is one output pixel (row = bi*h + y, column x).

LF_HD void spectrum_layout_fwd_elem(const SpectrumParams& p, const float* planar, float* image, lf_idx row, lf_idx x) {
    const lf_idx bi = row / p.h;
    const lf_idx y = row - bi * p.h;
    const lf_idx cstride = (lf_idx)p.h * p.wp;
    const float* src = planar + (bi * p.c * p.h + y) * p.wp + x;
    float* out = image + (row * p.w + x) * p.c;
    for (lf_idx c = 0; c < p.c; ++c) out[c] = p.out_scale * src[c * cstride];
}

// Layout, adjoint: transposes spectrum_layout_fwd_elem. grad_planar[bi, c, y, x] = out_scale *
// grad_image[bi, y, x, c] for x < w and 0 in the cropped column x = w (odd w). A gather: one element is one
// planar entry (row = (bi*c + ci)*h + y, column x < wp), so every entry is written exactly once.

LF_HD void spectrum_layout_adj_elem(const SpectrumParams& p, const float* grad_image, float* grad_planar, lf_idx row,
                                    lf_idx x) {
    const lf_idx bc = row / p.h;
    const lf_idx y = row - bc * p.h;
    const lf_idx bi = bc / p.c;
    const lf_idx ci = bc - bi * p.c;
    grad_planar[row * p.wp + x] = (x < p.w) ? p.out_scale * grad_image[((bi * p.h + y) * p.w + x) * p.c + ci] : 0.0f;
}
