// Host prototypes of the CPU drivers for tv.h.
#pragma once
#include "lf_param_layout.h"
#include "lucid_fast/tv.h"

// Returns TV(x) and writes (or, with p.accumulate, adds) p.weight * dTV/dx into grad_out.
double tv_value_grad_cpu(const TvParams& p, const float* x, float* grad_out);

// TvParams as this compiler lays it out (lf_param_layout.h): the reference for bindings/tv.pxi and
// TV_PARAMS_DTYPE in bindings/op_tv.py.
LfLayout tv_params_layout_cpu();
