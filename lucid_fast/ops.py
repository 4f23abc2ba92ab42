"""The native image-side ops of lucid_fast, as plain functions on arrays.

Every op takes numpy arrays (run on the CPU by OpenMP kernels) or cupy arrays (run on the GPU by the same
element functions compiled with NVRTC); the backend follows the array type. Images are NHWC float32.
Every forward op has an explicit adjoint (the exact transpose of its linearisation), and every output
that may cross into TensorFlow is 64-byte aligned. No op draws random numbers: transforms take matrices,
and the helpers that build them take an explicit ``numpy.random.Generator``.

Ops:
    fft_image / fft_image_adjoint            Lucid's Fourier image parameterization
    to_valid_rgb / to_valid_rgb_adjoint      colour decorrelation + sigmoid (or clip), fused
    affine_warp / affine_warp_adjoint        pad + jitter + scale + rotate as one bilinear warp
    total_variation                          TV value and gradient
    upsample_bilinear / _adjoint             low-resolution tensors to full size
    sample_bilinear / _adjoint               a texture looked up at per-pixel UVs (rendered meshes)
    adam_update                              in-place Adam step, as tf.keras.optimizers.Adam
    cpu_build                                which build of the CPU kernels runs ("avx2" or "base")

Devices (docs/ARCHITECTURE.md, "Devices and streams"): ``device("cpu" | "cuda" | "cuda:N")`` is where a step's
image side runs (its array module, allocation, and ``device.ops.<op>``: the ops above, refused by name where the
device has no kernel and when an array is on another device); ``device_of(*arrays)`` is the device arrays live on.

The implementations are in ``lucid_fast._bindings`` (the repository's bindings/ folder): ``op_<op>.py`` per op,
over the C++/CUDA sources in csrc/. Each op's files, from its header to its tests: bindings/README.md.
"""
from lucid_fast._bindings import cpu_build  # noqa: F401
from lucid_fast._bindings.checks import empty_aligned, zeros_aligned  # noqa: F401
from lucid_fast._bindings.device import Device, DeviceError, device, device_of  # noqa: F401
from lucid_fast._bindings.op_adam import adam_update  # noqa: F401
from lucid_fast._bindings.op_color import (  # noqa: F401
    COLOR_CORRELATION_SVD_SQRT,
    COLOR_MEAN,
    to_valid_rgb,
    to_valid_rgb_adjoint,
)
from lucid_fast._bindings.op_sample import sample_bilinear, sample_bilinear_adjoint  # noqa: F401
from lucid_fast._bindings.op_spectrum import fft_image, fft_image_adjoint, rfft2d_freqs  # noqa: F401
from lucid_fast._bindings.op_tv import total_variation  # noqa: F401
from lucid_fast._bindings.op_upsample import upsample_bilinear, upsample_bilinear_adjoint  # noqa: F401
from lucid_fast._bindings.op_warp import affine_warp, affine_warp_adjoint  # noqa: F401
from lucid_fast._bindings.warp_matrices import (  # noqa: F401
    compose_affine,
    standard_transform_matrices,
)
