// Host prototypes of the CPU drivers for spectrum.h.
#pragma once
#include "lf_param_layout.h"
#include "lucid_fast/spectrum.h"

// spectrum (2, b, c, h, wf) planar -> z (b, c, h, wf) interleaved complex64 (2 floats per entry).
void spectrum_scale_fwd_cpu(const SpectrumParams& p, const float* spectrum, float* z);
// grad_z (b, c, h, wf) interleaved complex64 = rfft2(grad_planar) -> grad_spectrum (2, b, c, h, wf).
void spectrum_scale_adj_cpu(const SpectrumParams& p, const float* grad_z, float* grad_spectrum);
// planar (b, c, h, wp) real irfft2 output -> image (b, h, w, c).
void spectrum_layout_fwd_cpu(const SpectrumParams& p, const float* planar, float* image);
// grad_image (b, h, w, c) -> grad_planar (b, c, h, wp), zero in the cropped column.
void spectrum_layout_adj_cpu(const SpectrumParams& p, const float* grad_image, float* grad_planar);

// SpectrumParams as this compiler lays it out (lf_param_layout.h): the reference for bindings/spectrum.pxi and
// SPECTRUM_PARAMS_DTYPE in bindings/op_spectrum.py.
LfLayout spectrum_params_layout_cpu();
