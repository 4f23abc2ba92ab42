"""What the PyTorch modelzoo entries share: the ``[torch]`` extra check, the adapter, ImageNet's class names.

Nothing here imports torch at module level: ``import lucid_fast.modelzoo`` and ``modelzoo.list_models()`` work
without torch installed (availability says what to install). Loading a PyTorch entry imports torch and wraps its
``nn.Module`` in ``lucid_fast.models.torch_adapter.TorchAdapter`` (engine images NHWC RGB in [0, 1], mapped
linearly onto the entry's ``image_value_range``, permuted to NCHW for the module; layer names are the module's
``named_modules()`` paths).

ImageNet's 1000 class names (``data/imagenet/imagenet_labels.txt``, one per line in the usual class-index order
of ILSVRC-2012 classifiers) are copied from torchvision 0.28.0's ``torchvision/models/_meta.py``
(``_IMAGENET_CATEGORIES``, BSD 3-Clause licence, kept beside them in ``data/imagenet/LICENSE``).
"""
from __future__ import annotations

import importlib.util
import os

from lucid_fast.modelzoo.vision_base import ZooModel

TORCH_EXTRA = 'pip install "lucid_fast[torch]"'
NEEDS_TORCH = f"needs PyTorch ({TORCH_EXTRA})"
IMAGENET_LABELS_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "imagenet",
                                    "imagenet_labels.txt")


def missing_packages(modules):
    """The import names in ``modules`` that are not installed (checked without importing them)."""
    missing = []
    for name in modules:
        try:
            found = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            missing.append(name)
    return missing


def require(modules, who):
    """Raises ImportError naming the ``[torch]`` extra when one of ``modules`` is not installed."""
    missing = missing_packages(modules)
    if missing:
        raise ImportError(f"{who} needs {', '.join(missing)}, which is not installed: {TORCH_EXTRA}")


def imagenet_labels():
    """ImageNet's 1000 class names in class-index order (285 is ``"Egyptian cat"``, 967 ``"espresso"``)."""
    with open(IMAGENET_LABELS_FILE, encoding="utf-8") as fh:
        labels = [line.rstrip("\n") for line in fh]
    if len(labels) != 1000:
        raise ValueError(f"{IMAGENET_LABELS_FILE}: expected 1000 class names, found {len(labels)}; reinstall "
                         "lucid_fast")
    return labels


def torch_adapter(module, **kwargs):
    """``TorchAdapter(module, **kwargs)`` (imported here, on use: it imports torch)."""
    from lucid_fast.models.torch_adapter import TorchAdapter  # noqa: PLC0415 - torch loads on use

    return TorchAdapter(module, **kwargs)


class TorchZooModel(ZooModel):
    """A modelzoo entry whose model is a PyTorch ``nn.Module``.

    Attributes:
        requires: Import names the entry needs (``torch`` and the packages that ship its architecture or
            weights); a missing one makes ``availability()`` say what to install.
    """

    framework = "torch"
    requires = ("torch",)

    def torch_missing(self):
        return missing_packages(self.requires)

    def check_installed(self):
        require(self.requires, f"modelzoo model {self.name!r}")

    def layer_info(self):
        """The adapter's layer table at the nominal size: this loads the model (weights included; no download
        for embedded entries, the cached file for downloaded ones)."""
        return self.load().layers()
