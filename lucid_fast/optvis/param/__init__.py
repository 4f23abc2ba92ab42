"""Image parameterizations (Lucid's ``optvis.param``), built from native stages.

A parameterization is a small graph of stages (:mod:`.core`); render_vis initializes its parameters from the
run's seed, runs it forward to an NHWC image in [0, 1] and backward to the parameters at every step.

Lucid's module layout is kept: :mod:`.spatial` (pixel_image, fft_image, laplacian_pyramid_image,
bilinearly_sampled_image, rfft2d_freqs), :mod:`.lowres` (lowres_tensor), :mod:`.color` (to_valid_rgb and the
colour constants), :mod:`.images` (image, grayscale_image_rgb), :mod:`.random` (image_sample), :mod:`.cppn`,
:mod:`.unit_balls` and :mod:`.resize_bilinear_nd`; and lucid_fast's :mod:`.mesh` (textured-mesh views).
"""
from . import color, cppn as _cppn_module, images, lowres, random, resize_bilinear_nd, spatial, unit_balls  # noqa: F401
from .color import to_valid_rgb
from .core import Node, Param, ParamGraph, TFParam, concat, stack
from .cppn import cppn
from .images import grayscale_image_rgb, image
from .lowres import lowres_tensor
from .mesh import mesh_view
from .random import image_sample
from .spatial import (
    bilinearly_sampled_image,
    fft_image,
    laplacian_pyramid,
    laplacian_pyramid_image,
    naive,
    pixel_image,
)

__all__ = ["Node", "Param", "ParamGraph", "TFParam", "bilinearly_sampled_image", "concat", "cppn", "fft_image",
           "grayscale_image_rgb", "image", "image_sample", "laplacian_pyramid", "laplacian_pyramid_image",
           "lowres_tensor", "mesh_view", "naive", "pixel_image", "stack", "to_valid_rgb"]
