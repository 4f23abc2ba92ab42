// Host prototypes of the CPU drivers for upsample.h.
#pragma once
#include "lf_param_layout.h"
#include "lucid_fast/upsample.h"

void upsample_fwd_cpu(const UpsampleParams& p, const float* x_low, float* y);
// Zeroes grad_low (n_low x h_low x w_low x c_low), then scatters grad_y (n x ho x wo x c) into it.
void upsample_adj_cpu(const UpsampleParams& p, const float* grad_y, float* grad_low);

// UpsampleParams as this compiler lays it out (lf_param_layout.h): the reference for bindings/upsample.pxi and
// UPSAMPLE_PARAMS_DTYPE in bindings/op_upsample.py.
LfLayout upsample_params_layout_cpu();
