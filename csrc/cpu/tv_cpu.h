// Host prototypes of the CPU drivers for tv.h.
#pragma once
#include "lucid_fast/tv.h"

double tv_value_cpu(const TvParams& p, const float* x);
void tv_grad_cpu(const TvParams& p, const float* x, float* grad_out);
