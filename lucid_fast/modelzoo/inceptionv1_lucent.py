"""``inceptionv1_lucent``: Lucid's InceptionV1 in PyTorch, with the weights file Lucent downloads.

The network is InceptionV1 / GoogLeNet (C. Szegedy et al., "Going Deeper with Convolutions", CVPR 2015) as in
Lucid's frozen graph (``inception5h``, Google's early TensorFlow release). Lucent (``torch-lucent``, Apache-2.0)
loads a conversion of those weights to PyTorch by ProGamerGov (MIT):
:data:`WEIGHTS_URL`. This module is lucid_fast's own description of that network; its state-dict keys and
shapes are those of the file (``<conv>_pre_relu_conv.weight`` / ``.bias`` for the 57 convolutions,
``softmax2_pre_activation_matmul.weight`` / ``.bias``), checked key by key and shape by shape on load
(:func:`check_state_dict`).

Input NCHW RGB on the [0, 255] scale minus 117 (``image_value_range = (-117, 138)``, as Lucid's graph and
Lucent's ``transform.preprocess_inceptionv1``), nominally 224x224. Modules are named as Lucid's graph names its
tensors, so Lucid's objective strings work unchanged:

* ``conv2d0`` ... ``conv2d2``, ``mixed3a_1x1``, ``mixed4a_3x3_bottleneck``, ... : the ``nn.ReLU`` (post-ReLU);
  ``<name>_pre_relu``: an ``nn.Identity`` on the convolution's output (pre-ReLU); ``<name>_pre_relu_conv``: the
  ``nn.Conv2d`` itself (same tensor as ``<name>_pre_relu``; the name the weights file uses).
* ``mixed3a`` ... ``mixed5b``: the concatenation of the four branches' ReLU outputs (1x1, 3x3, 5x5, pool
  reduce); ``mixed4a_pre_relu`` etc.: the concatenation of their pre-ReLU outputs, as Lucid adds on import.
* ``maxpool0``, ``maxpool1``, ``maxpool4``, ``maxpool10``, ``mixed4a_pool`` ... : max-pools;
  ``localresponsenorm0`` / ``1``; ``avgpool0``; ``softmax2_pre_activation`` (the logits, 1008 classes: Lucid's
  1000 ImageNet classes plus unused ones, in the order of Lucid's ``ImageNet_alternate.txt``, which is not
  shipped); ``softmax2``.

Paddings follow the conversion (TensorFlow's ``"SAME"`` for even input sizes). At 224x224 the output equals
Lucent's; at other sizes ``avgpool0`` averages the whole ``mixed5b`` map (Lucent's fixed 7x7 pool and reshape
need 224).
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

WEIGHTS_URL = "https://github.com/ProGamerGov/pytorch-old-tensorflow-models/raw/master/inception5h.pth"
WEIGHTS_FILE = "inception5h.pth"
NOMINAL_SHAPE = (224, 224, 3)
IMAGE_VALUE_RANGE = (-117.0, 255.0 - 117.0)
LOGITS_LAYER = "softmax2_pre_activation"
NUM_CLASSES = 1008
LRN = dict(size=9, alpha=9.99999974738e-05, beta=0.5, k=1.0)  # the conversion's local response normalization

# name: (input channels, 1x1, 3x3 bottleneck, 3x3, 5x5 bottleneck, 5x5, pool reduce)
MIXED = (
    ("mixed3a", 192, 64, 96, 128, 16, 32, 32),
    ("mixed3b", 256, 128, 128, 192, 32, 96, 64),
    ("mixed4a", 480, 192, 96, 204, 16, 48, 64),
    ("mixed4b", 508, 160, 112, 224, 24, 64, 64),
    ("mixed4c", 512, 128, 128, 256, 24, 64, 64),
    ("mixed4d", 512, 112, 144, 288, 32, 64, 64),
    ("mixed4e", 528, 256, 160, 320, 32, 128, 128),
    ("mixed5a", 832, 256, 160, 320, 48, 128, 128),
    ("mixed5b", 832, 384, 192, 384, 48, 128, 128),
)
STRIDED_POOL_BEFORE = {"mixed4a": "maxpool4", "mixed5a": "maxpool10"}  # 3x3 stride-2 pools between stages


def conv_table():
    """``[(name, in_channels, out_channels, kernel)]`` of every convolution, in the order they run."""
    rows = [("conv2d0", 3, 64, 7), ("conv2d1", 64, 64, 1), ("conv2d2", 64, 192, 3)]
    for name, c_in, c1, c3b, c3, c5b, c5, cp in MIXED:
        rows += [(f"{name}_1x1", c_in, c1, 1), (f"{name}_3x3_bottleneck", c_in, c3b, 1),
                 (f"{name}_5x5_bottleneck", c_in, c5b, 1), (f"{name}_pool_reduce", c_in, cp, 1),
                 (f"{name}_3x3", c3b, c3, 3), (f"{name}_5x5", c5b, c5, 5)]
    return rows


def expected_state_shapes():
    """``{state-dict key: shape}`` of the weights file."""
    shapes = {}
    for name, c_in, c_out, k in conv_table():
        shapes[f"{name}_pre_relu_conv.weight"] = (c_out, c_in, k, k)
        shapes[f"{name}_pre_relu_conv.bias"] = (c_out,)
    shapes["softmax2_pre_activation_matmul.weight"] = (NUM_CLASSES, 1024)
    shapes["softmax2_pre_activation_matmul.bias"] = (NUM_CLASSES,)
    return shapes


def check_state_dict(state, source="the state dict"):
    """Raises ValueError unless ``state`` has exactly the keys and shapes of :func:`expected_state_shapes`."""
    if not isinstance(state, dict):
        raise ValueError(f"inceptionv1_lucent: {source} is a {type(state).__name__}, not a state dict")
    expected = expected_state_shapes()
    missing = sorted(set(expected) - set(state))
    extra = sorted(set(state) - set(expected))
    wrong = sorted(k for k in set(expected) & set(state) if tuple(state[k].shape) != expected[k])
    if missing or extra or wrong:
        parts = []
        if missing:
            parts.append(f"missing {missing[:4]}{' ...' if len(missing) > 4 else ''}")
        if extra:
            parts.append(f"unexpected {extra[:4]}{' ...' if len(extra) > 4 else ''}")
        if wrong:
            parts.append("wrong shapes " + ", ".join(f"{k} {tuple(state[k].shape)} (expected {expected[k]})"
                                                     for k in wrong[:4]))
        raise ValueError(f"inceptionv1_lucent: {source} is not Lucent's inception5h weights: {'; '.join(parts)}")


class TFMaxPool(nn.Module):
    """3x3 stride-2 max-pool after padding one row and column of -inf at the bottom and right (TF "SAME")."""

    def forward(self, x_t):
        return F.max_pool2d(F.pad(x_t, (0, 1, 0, 1), value=float("-inf")), 3, 2)


class Concat(nn.Module):
    """Concatenates its arguments along channels (a module, so that the result is a named layer)."""

    def forward(self, *tensors):
        return torch.cat(tensors, 1)


class InceptionV1(nn.Module):
    """InceptionV1 with Lucid's layer names (see the module's docstring). Returns ``softmax2``."""

    def __init__(self):
        super().__init__()
        convs = {name: (c_in, c_out, k) for name, c_in, c_out, k in conv_table()}
        self._conv("conv2d0", convs, padding=0, stride=2)  # padded (2, 3, 2, 3) in forward
        self.maxpool0 = TFMaxPool()
        self.localresponsenorm0 = nn.LocalResponseNorm(**LRN)
        self._conv("conv2d1", convs)
        self._conv("conv2d2", convs)
        self.localresponsenorm1 = nn.LocalResponseNorm(**LRN)
        self.maxpool1 = TFMaxPool()
        for name, *_ in MIXED:
            if name in STRIDED_POOL_BEFORE:
                setattr(self, STRIDED_POOL_BEFORE[name], TFMaxPool())
            for branch in ("1x1", "3x3_bottleneck", "5x5_bottleneck"):
                self._conv(f"{name}_{branch}", convs)
            setattr(self, f"{name}_pool", nn.MaxPool2d(3, 1, padding=1))
            for branch in ("pool_reduce", "3x3", "5x5"):
                self._conv(f"{name}_{branch}", convs)
            setattr(self, f"{name}_pre_relu", Concat())
            setattr(self, name, Concat())
        self.avgpool0 = nn.AdaptiveAvgPool2d(1)
        self.softmax2_pre_activation_matmul = nn.Linear(1024, NUM_CLASSES)
        self.softmax2_pre_activation = nn.Identity()
        self.softmax2 = nn.Softmax(dim=1)

    def _conv(self, name, convs, padding=None, stride=1):
        c_in, c_out, k = convs[name]
        setattr(self, f"{name}_pre_relu_conv",
                nn.Conv2d(c_in, c_out, k, stride=stride, padding=k // 2 if padding is None else padding))
        setattr(self, f"{name}_pre_relu", nn.Identity())
        setattr(self, name, nn.ReLU())

    def _run(self, name, x_t):
        pre_t = getattr(self, f"{name}_pre_relu")(getattr(self, f"{name}_pre_relu_conv")(x_t))
        return pre_t, getattr(self, name)(pre_t)

    def _mixed(self, name, x_t):
        pre_1, out_1 = self._run(f"{name}_1x1", x_t)
        _, b3_t = self._run(f"{name}_3x3_bottleneck", x_t)
        _, b5_t = self._run(f"{name}_5x5_bottleneck", x_t)
        pre_p, out_p = self._run(f"{name}_pool_reduce", getattr(self, f"{name}_pool")(x_t))
        pre_3, out_3 = self._run(f"{name}_3x3", b3_t)
        pre_5, out_5 = self._run(f"{name}_5x5", b5_t)
        getattr(self, f"{name}_pre_relu")(pre_1, pre_3, pre_5, pre_p)
        return getattr(self, name)(out_1, out_3, out_5, out_p)

    def forward(self, x_t):
        _, x_t = self._run("conv2d0", F.pad(x_t, (2, 3, 2, 3)))
        x_t = self.localresponsenorm0(self.maxpool0(x_t))
        _, x_t = self._run("conv2d1", x_t)
        _, x_t = self._run("conv2d2", x_t)
        x_t = self.maxpool1(self.localresponsenorm1(x_t))
        for name, *_ in MIXED:
            if name in STRIDED_POOL_BEFORE:
                x_t = getattr(self, STRIDED_POOL_BEFORE[name])(x_t)
            x_t = self._mixed(name, x_t)
        x_t = self.avgpool0(x_t).flatten(1)
        logits_t = self.softmax2_pre_activation(self.softmax2_pre_activation_matmul(x_t))
        return self.softmax2(logits_t)


def build(path=None, state=None):
    """The network in eval mode with the weights of ``path`` (a ``.pth`` state dict) or ``state``; neither:
    the architecture with PyTorch's random initialization.

    Raises:
        ValueError: the file is not a state dict with the keys and shapes of Lucent's ``inception5h.pth``.
    """
    module = InceptionV1()
    if path is not None:
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # noqa: BLE001 - a damaged or foreign file: say which
            raise ValueError(f"inceptionv1_lucent: {path} is not a PyTorch state dict ({exc})") from exc
    if state is not None:
        check_state_dict(state, path or "the state dict")
        module.load_state_dict(state, strict=True)
    return module.eval()
