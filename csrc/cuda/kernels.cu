// kernels.cu — the one translation unit CuPy (NVRTC) and CMake (nvcc) compile for the GPU.
// Each included file holds thin extern "C" grid-stride kernels over the element functions in
// csrc/include/lucid_fast/. bindings/cupy_module.py inlines every include and hashes the result.
#include "tv.cu"
#include "spectrum.cu"
#include "color.cu"
#include "warp.cu"
#include "upsample.cu"
#include "sample.cu"
#include "adam.cu"
