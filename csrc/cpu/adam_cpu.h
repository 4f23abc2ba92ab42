// Host prototypes of the CPU drivers for adam.h. n is the element count.
#pragma once
#include "lf_param_layout.h"
#include "lucid_fast/adam.h"

void adam_update_cpu(const AdamParams& p, float* param, const float* grad, float* m, float* v, lf_idx n);

// AdamParams as this compiler lays it out (lf_param_layout.h): the reference for bindings/adam.pxi and
// ADAM_PARAMS_DTYPE in bindings/op_adam.py.
LfLayout adam_params_layout_cpu();
