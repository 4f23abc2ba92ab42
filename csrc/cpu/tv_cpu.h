// Host prototypes of the CPU drivers for tv.h.
#pragma once
#include "lucid_fast/tv.h"

// Returns TV(x) and writes (or, with p.accumulate, adds) p.weight * dTV/dx into grad_out.
double tv_value_grad_cpu(const TvParams& p, const float* x, float* grad_out);
