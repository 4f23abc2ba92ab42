// Host prototypes of the CPU drivers for warp.h. `mats` holds n row-major 2x3 index-convention matrices.
#pragma once
#include "lf_param_layout.h"
#include "lucid_fast/warp.h"

void warp_fwd_cpu(const WarpParams& p, const float* mats, const float* x, float* y);
// Zeroes grad_x (n x h x w x c), then scatters grad_y (n x ho x wo x c) into it.
void warp_adj_cpu(const WarpParams& p, const float* mats, const float* grad_y, float* grad_x);

// WarpParams as this compiler lays it out (lf_param_layout.h): the reference for bindings/warp.pxi and
// WARP_PARAMS_DTYPE in bindings/op_warp.py.
LfLayout warp_params_layout_cpu();
