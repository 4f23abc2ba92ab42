// Host prototypes of the CPU drivers for adam.h. n is the element count.
#pragma once
#include "lucid_fast/adam.h"

void adam_update_cpu(const AdamParams& p, float* param, const float* grad, float* m, float* v, lf_idx n);
