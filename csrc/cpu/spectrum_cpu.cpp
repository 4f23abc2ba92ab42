// CPU driver for spectrum.h: OpenMP loops over the element functions, no math here.
#include "lucid_fast/spectrum.h"
#include "spectrum_cpu.h"

void spectrum_scale_fwd_cpu(const SpectrumParams& p, const float* spectrum, float* z) {
#pragma omp parallel for schedule(static)
    for (lf_idx y = 0; y < p.h; ++y)
        for (lf_idx k = 0; k < p.wf; ++k) spectrum_scale_fwd_elem(p, spectrum, z, y, k);
}

void spectrum_scale_adj_cpu(const SpectrumParams& p, const float* grad_z, float* grad_spectrum) {
#pragma omp parallel for schedule(static)
    for (lf_idx y = 0; y < p.h; ++y)
        for (lf_idx k = 0; k < p.wf; ++k) spectrum_scale_adj_elem(p, grad_z, grad_spectrum, y, k);
}

void spectrum_layout_fwd_cpu(const SpectrumParams& p, const float* planar, float* image) {
    const lf_idx rows = (lf_idx)p.b * p.h;
#pragma omp parallel for schedule(static)
    for (lf_idx row = 0; row < rows; ++row)
        for (lf_idx x = 0; x < p.w; ++x) spectrum_layout_fwd_elem(p, planar, image, row, x);
}

void spectrum_layout_adj_cpu(const SpectrumParams& p, const float* grad_image, float* grad_planar) {
    const lf_idx rows = (lf_idx)p.b * p.c * p.h;
#pragma omp parallel for schedule(static)
    for (lf_idx row = 0; row < rows; ++row)
        for (lf_idx x = 0; x < p.wp; ++x) spectrum_layout_adj_elem(p, grad_image, grad_planar, row, x);
}

// SpectrumParams, field by field, for the checks of its Python mirrors (lf_param_layout.h).
LfLayout spectrum_params_layout_cpu() {
    using S = SpectrumParams;
    static constexpr LfField fields[] = {LF_FIELD(S, b), LF_FIELD(S, c), LF_FIELD(S, h), LF_FIELD(S, w),
                                         LF_FIELD(S, wf), LF_FIELD(S, wp), LF_FIELD(S, decay_power),
                                         LF_FIELD(S, out_scale)};
    static_assert(lf_fields_tile(fields, sizeof(S)), "SpectrumParams: list every field, in declaration order");
    return lf_layout("SpectrumParams", sizeof(S), fields);
}
