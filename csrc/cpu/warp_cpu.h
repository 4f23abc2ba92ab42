// Host prototypes of the CPU drivers for warp.h. `mats` holds n row-major 2x3 index-convention matrices.
#pragma once
#include "lucid_fast/warp.h"

void warp_fwd_cpu(const WarpParams& p, const float* mats, const float* x, float* y);
// Zeroes grad_x (n x h x w x c), then scatters grad_y (n x ho x wo x c) into it.
void warp_adj_cpu(const WarpParams& p, const float* mats, const float* grad_y, float* grad_x);
