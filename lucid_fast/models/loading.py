"""``load_model``: the adapter for a model given as an object or a path.

Model zoo names are not resolved here (this package never imports the zoo; the zoo imports it):
``lucid_fast.modelzoo.load_model`` is the loader for anything render_vis accepts, and hands everything that is
not a zoo name to :func:`load_model`.
"""
from __future__ import annotations

import os
import sys

import tensorflow as tf

from lucid_fast.models.protocol import ModelAdapter
from lucid_fast.models.tf_graphdef import load_graphdef, load_saved_model
from lucid_fast.models.tf_keras import KerasAdapter
from lucid_fast.models.tf_keras_nodes import _keras

__all__ = ["load_model", "ACCEPTED"]

ACCEPTED = ("a ModelAdapter, a keras.Model (functional or Sequential), a torch.nn.Module (in eval mode), "
            "a path to a SavedModel directory, a path to a frozen GraphDef .pb file, a path to a .keras/.h5 Keras "
            "model file, a tf.compat.v1.GraphDef, an object with a to_adapter() method (a vision_models model, a "
            "modelzoo entry), or, through lucid_fast.modelzoo.load_model, a modelzoo name (see "
            "lucid_fast.modelzoo.list_models())")


def load_model(model, **kwargs):
    """Returns a :class:`~lucid_fast.models.protocol.ModelAdapter` for ``model``.

    Args:
        model: One of

            * a :class:`ModelAdapter` (returned as is; no keyword arguments allowed);
            * a ``torch.nn.Module`` in eval mode -> :class:`~lucid_fast.models.torch_adapter.TorchAdapter` (kwargs:
              ``image_shape``, ``image_value_range``, ``preprocess``, ``input_channels``, ``name``, ``labels``,
              ``logits_layer``);
            * a ``keras.Model`` / ``tf.keras.Model`` (functional or Sequential) -> :class:`KerasAdapter`
              (kwargs: ``image_value_range`` (default (0, 1)), ``image_shape``, ``name``);
            * a path to a SavedModel directory -> :func:`load_saved_model` (kwargs: ``signature``,
              ``input_name``, ``image_shape``, ``image_value_range``, ``name``);
            * a path to a frozen GraphDef ``.pb`` or a ``tf.compat.v1.GraphDef`` -> ``GraphDefAdapter``
              (kwargs as Lucid's modelzoo ``Model`` attributes: ``input_name``, ``image_shape``,
              ``image_value_range``; plus ``name``, ``layer_table``);
            * a path to a ``.keras`` / ``.h5`` Keras model file (loaded with ``keras.saving.load_model``);
            * a Lucid-style ``lucid_fast.modelzoo.vision_models`` model (``vision_models.InceptionV1()``) or a
              modelzoo entry: anything with a ``to_adapter()`` method.

            A modelzoo name such as ``"vgg16_hed"`` is not accepted here: ``lucid_fast.modelzoo.load_model``
            takes names and everything above.

    Raises:
        ValueError: anything else (the message says what is accepted).
    """
    if isinstance(model, ModelAdapter):
        if kwargs:
            raise ValueError(f"load_model: got a ModelAdapter and keyword arguments {sorted(kwargs)}; an adapter "
                             "is returned as is, so set these when creating it")
        return model
    torch = sys.modules.get("torch")  # a torch module can only exist once torch is imported: never import it here
    if torch is not None and isinstance(model, torch.nn.Module):
        from lucid_fast.models.torch_adapter import TorchAdapter  # noqa: PLC0415 - imports torch

        return TorchAdapter(model, **kwargs)
    to_adapter = getattr(model, "to_adapter", None)
    if callable(to_adapter) and not isinstance(model, type):  # a Lucid-style modelzoo Model, or a zoo entry
        if kwargs:
            raise ValueError(f"load_model: {model!r} describes its own model; keyword arguments {sorted(kwargs)} "
                             "are not accepted with it")
        return to_adapter()
    keras = _keras()
    if isinstance(model, keras.Model):
        return KerasAdapter(model, **kwargs)
    if isinstance(model, tf.compat.v1.GraphDef):
        return load_graphdef(model, **kwargs)
    if isinstance(model, (str, os.PathLike)):
        path = os.fspath(model)
        if os.path.isdir(path):
            if os.path.exists(os.path.join(path, "saved_model.pb")) or os.path.exists(
                    os.path.join(path, "saved_model.pbtxt")):
                return load_saved_model(path, **kwargs)
            raise ValueError(f"load_model: directory {path!r} is not a SavedModel (no saved_model.pb); "
                             f"accepted: {ACCEPTED}")
        if os.path.isfile(path):
            if os.path.basename(path) == "saved_model.pb":
                return load_saved_model(os.path.dirname(path) or ".", **kwargs)
            if path.endswith(".pb"):
                return load_graphdef(path, **kwargs)
            if path.endswith((".keras", ".h5")):
                adapter_kwargs = {k: kwargs.pop(k) for k in ("image_value_range", "image_shape", "name")
                                  if k in kwargs}
                return KerasAdapter(_load_keras_file(keras, path, kwargs), **adapter_kwargs)
            raise ValueError(f"load_model: cannot tell the format of file {path!r} from its extension; "
                             f"accepted: {ACCEPTED}")
        raise ValueError(f"lucid_fast.models.load_model: {path!r} is not an existing path. Model zoo names "
                         f"are loaded with lucid_fast.modelzoo.load_model(name) (or lucid_fast.modelzoo.load(name))"
                         f", which also takes everything this function does. Accepted: {ACCEPTED}")
    raise ValueError(f"load_model: cannot load a {type(model).__name__}; accepted: {ACCEPTED}")


def _load_keras_file(keras, path, kwargs):
    """``keras.saving.load_model`` on an existing ``.keras``/``.h5`` file, with what is wrong with a damaged file
    said as such (Keras reports a ``.keras`` file that is not a zip archive as "File not found")."""
    import zipfile

    if path.endswith(".keras") and not zipfile.is_zipfile(path):
        raise ValueError(f"load_model: {path!r} exists but is not a Keras model file: a .keras file is a zip "
                         "archive and this one is not (damaged, truncated or another format); save the model "
                         "again with model.save(path)")
    try:
        return keras.saving.load_model(path, compile=False, **kwargs)
    except TypeError:
        raise  # a wrong keyword argument: Keras's own message names it
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as err:
        raise ValueError(f"load_model: {path!r} exists but cannot be read as a Keras model file "
                         f"({type(err).__name__}: {' '.join(str(err).split())}); it may be damaged or truncated, "
                         "or saved by an incompatible Keras: save the model again with model.save(path)") from err
