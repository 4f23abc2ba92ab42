// Host prototypes of the CPU drivers for sample.h.
#pragma once
#include "lf_param_layout.h"
#include "lucid_fast/sample.h"

void sample_fwd_cpu(const SampleParams& p, const float* tex, const float* uv, float* out);
// Zeroes grad_tex (n x th x tw x c), then scatters grad_out (n x npix x c) into it.
void sample_adj_cpu(const SampleParams& p, const float* grad_out, const float* uv, float* grad_tex);

// SampleParams as this compiler lays it out (lf_param_layout.h): the reference for bindings/sample.pxi and
// SAMPLE_PARAMS_DTYPE in bindings/op_sample.py.
LfLayout sample_params_layout_cpu();
