"""Image parameterizations (Lucid's ``optvis.param``), built from native stages.

A parameterization is a small graph of stages (:mod:`.core`); render_vis initializes its parameters from the
run's seed, runs it forward to an NHWC image in [0, 1] and backward to the parameters at every step.
"""
from .color import to_valid_rgb
from .core import Node, Param, ParamGraph, TFParam, concat
from .cppn import cppn
from .images import grayscale_image_rgb, image
from .mesh import mesh_view
from .spatial import fft_image, laplacian_pyramid_image, lowres_tensor, pixel_image

__all__ = ["Node", "Param", "ParamGraph", "TFParam", "concat", "cppn", "fft_image", "grayscale_image_rgb", "image",
           "laplacian_pyramid_image", "lowres_tensor", "mesh_view", "pixel_image", "to_valid_rgb"]
