"""Declarative model descriptions: lucid_fast's modelzoo entries, and Lucid's ``vision_base.Model``.

A :class:`ZooModel` says what a model is (name, description, nominal input size), where its files come from
and how to turn them into a :class:`lucid_fast.models.ModelAdapter`. Subclasses: the embedded ``vgg16_hed``,
frozen GraphDefs downloaded from Lucid's modelzoo (:class:`GraphDefZooModel`), and ``keras.applications``
models with ImageNet weights (:class:`KerasApplicationZooModel`).

:class:`Model` and :class:`Layer` are Lucid's classes for code written against ``lucid.modelzoo``: a subclass
sets ``model_path`` (a local path or a URL of a frozen GraphDef), ``input_name``, ``image_shape`` and
``image_value_range``, and its instances go to ``render_vis`` like any model (see :meth:`Model.to_adapter`).
"""
from __future__ import annotations

import json
import os
import warnings

import numpy as np

from lucid_fast.modelzoo import _download

IMAGENET_MEAN = np.array([123.68, 116.779, 103.939])  # ImageNet's mean RGB on the [0, 255] scale
IMAGENET_MEAN_BGR = np.flip(IMAGENET_MEAN, 0)

EMBEDDED = "embedded (works offline)"
CACHED = "downloaded (in the cache, works offline)"
NEEDS_DOWNLOAD = "needs download"


class ZooModel:
    """One modelzoo entry.

    Attributes:
        name: The name ``modelzoo.load`` takes (lower case).
        description: One line: what the model is, whom to credit.
        image_shape: The nominal ``(h, w, c)`` input size.
        aliases: Other accepted names (compared case-insensitively).
        framework: What runs the model: ``"tensorflow"`` or ``"torch"``.
    """

    name = None
    description = ""
    image_shape = (224, 224, 3)
    aliases = ()
    framework = "tensorflow"

    def availability(self):
        """:data:`EMBEDDED`, :data:`CACHED` or :data:`NEEDS_DOWNLOAD`."""
        raise NotImplementedError

    def load(self, **kwargs):
        """A new :class:`~lucid_fast.models.ModelAdapter` for this model."""
        raise NotImplementedError

    def layer_info(self):
        """The model's layers as :class:`~lucid_fast.models.LayerInfo`, without downloading anything."""
        raise NotImplementedError

    def __repr__(self):
        return f"<{type(self).__name__} {self.name!r}: {self.availability()}>"

    def to_adapter(self):
        """The :class:`~lucid_fast.models.ModelAdapter` (loaded once per entry object), so an entry can be passed
        wherever a model is accepted."""
        adapter = getattr(self, "_adapter", None)
        if adapter is None:
            adapter = self._adapter = self.load()
        return adapter


class GraphDefZooModel(ZooModel):
    """A frozen GraphDef published at ``model_url`` (Lucid's modelzoo format).

    Attributes:
        model_url: Where the ``.pb`` is published.
        filename: Its name in the cache.
        checksum: ``"sha256:<hex>"``/``"md5:<hex>"``, or None when not known in advance (see ``_download``).
        input_name: The input placeholder.
        image_value_range: The range the graph's input expects.
        layers: The curated layer table: ``(name, kind, channels)`` entries.
    """

    model_url = None
    filename = None
    checksum = None
    input_name = "input"
    image_value_range = (-1.0, 1.0)
    layers = ()

    def availability(self):
        return CACHED if os.path.exists(_download.cached_path(self.filename)) else NEEDS_DOWNLOAD

    def model_path(self):
        """The local path of the ``.pb`` (downloading it into the cache if needed)."""
        return _download.ensure_file(self.model_url, self.filename, self.checksum, description=f"{self.name} model")

    def load(self, **kwargs):
        from lucid_fast.models import load_graphdef  # noqa: PLC0415

        if kwargs:
            raise ValueError(f"modelzoo.load({self.name!r}): unexpected arguments {sorted(kwargs)}")
        return load_graphdef(self.model_path(), input_name=self.input_name, image_shape=self.image_shape,
                             image_value_range=self.image_value_range, name=self.name,
                             layer_table=self.layers)

    def layer_info(self):
        """The curated table: channel counts as published; spatial sizes need the graph (None here).

        Load the model (``modelzoo.layer_info(modelzoo.load(name))``) for sizes from shape inference.
        """
        from lucid_fast.models import LayerInfo  # noqa: PLC0415

        return [LayerInfo(name, channels, None, kind) for name, kind, channels in self.layers]


class KerasApplicationZooModel(ZooModel):
    """A ``keras.applications`` model with ImageNet weights, preprocessing built in (input RGB in [0, 1]).

    The weights file is fetched into lucid_fast's cache (URL and MD5 as published by Keras) and passed to the
    application constructor as a path. ``load(include_top=False)`` (default) gives the convolutional part for
    any input size; ``include_top=True`` adds the classifier (fixed input size; ``predictions_pre_activation``
    are the logits).
    """

    constructor = None        # name in keras.applications
    base_url = None
    files = {}                # include_top -> (filename, "md5:<hex>")
    preprocess = "caffe"      # "caffe" (BGR minus mean, [0, 255]) or "tf" ([-1, 1])
    caffe_mean_bgr = (103.939, 116.779, 123.68)

    def availability(self):
        filename, _ = self.files[False]
        return CACHED if os.path.exists(_download.cached_path(filename)) else NEEDS_DOWNLOAD

    def weights_file(self, include_top=False):
        filename, checksum = self.files[bool(include_top)]
        return _download.ensure_file(self.base_url + filename, filename, checksum,
                                     description=f"{self.name} ImageNet weights")

    def build(self, weights_path=None, include_top=False, fixed_size=False):
        """The functional Keras model: Input (RGB [0, 1]) -> preprocessing -> the application.

        The input takes any height and width unless ``include_top`` or ``fixed_size`` (then ``image_shape``).
        """
        import keras  # noqa: PLC0415

        from lucid_fast.modelzoo._preprocess import CaffeBGRPreprocess  # noqa: PLC0415

        fixed = include_top or fixed_size
        shape = tuple(self.image_shape) if fixed else (None, None, self.image_shape[-1])
        inputs = keras.Input(shape, name="input")
        if self.preprocess == "caffe":
            x = CaffeBGRPreprocess(self.caffe_mean_bgr, name="preprocess")(inputs)
        else:
            x = keras.layers.Rescaling(2.0, offset=-1.0, name="preprocess")(inputs)
        app = getattr(keras.applications, self.constructor)
        return app(include_top=include_top, weights=weights_path, input_tensor=x)

    def load(self, include_top=False, **kwargs):
        from lucid_fast.models import KerasAdapter  # noqa: PLC0415

        if kwargs:
            raise ValueError(f"modelzoo.load({self.name!r}): unexpected arguments {sorted(kwargs)}")
        model = self.build(self.weights_file(include_top), include_top=include_top)
        return KerasAdapter(model, image_value_range=(0.0, 1.0), image_shape=self.image_shape, name=self.name)

    def layer_info(self):
        """Shape inference on the architecture (built without weights; nothing is downloaded)."""
        from lucid_fast.models import KerasAdapter  # noqa: PLC0415

        model = self.build(None, include_top=False, fixed_size=True)  # static shapes: no trace needed
        return KerasAdapter(model, image_shape=self.image_shape, name=self.name).layers()


# ---------------------------------------------------------------------------------------------------------------
# Lucid's Model and Layer

_NO_GRAPH_IMPORT = (
    "{what}: on TF2 there is no default graph to import a model into. Pass the model to "
    "render.render_vis / render.make_vis_T, or get a layer accessor on an image with "
    "render.import_model(model, image) (T(layer) gives that layer's activations); see docs/MIGRATING.md")

METADATA_NODE_NAME = "lucid_metadata_json"  # where Lucid's Model.save embedded its metadata in a GraphDef


class Layer:
    """A layer of a :class:`Model`: its name, channel count (``depth``) and tags (e.g. ``{"conv"}``)."""

    width = None
    height = None
    shape = None

    def __init__(self, model_instance, name, depth, tags):
        self.model_class = type(model_instance)
        self.model_name = model_instance.name
        self.name, self.depth, self.tags = name, depth, set(tags)

    def __getitem__(self, name):
        if name == "type":
            warnings.warn("Layer['type'] is deprecated (as in Lucid); look in layer.tags", DeprecationWarning,
                          stacklevel=2)
            return next(iter(self.tags), None)
        if name not in self.__dict__:
            raise AttributeError(f"'Layer' object has no attribute {name!r}")
        return self.__dict__[name]

    @property
    def size(self):
        warnings.warn("Layer.size is deprecated (as in Lucid); use Layer.depth", DeprecationWarning, stacklevel=2)
        return self.depth

    @property
    def activations(self):
        raise NotImplementedError("Layer.activations: Lucid downloaded precomputed activations of its own models "
                                  "from gs://modelzoo/aligned-activations; lucid_fast has none. Compute them with "
                                  "model.get_activations(layer_name, images)")

    def __repr__(self):
        return f"Layer (belonging to {self.model_name}) <{self.name}: {self.depth}> ([{self.tags}])"

    def to_json(self):
        return self.name


def _layers_from_list_of_dicts(model_instance, list_of_dicts):
    return tuple(Layer(model_instance, d["name"], d["depth"], d["tags"]) for d in list_of_dicts)


class Model:
    """Lucid's declarative model class, for frozen GraphDefs.

    Subclass it and set ``model_path`` (a local path or an http(s)/gs URL of a frozen ``.pb``; URLs are fetched
    once into the cache), ``input_name``, ``image_shape`` and ``image_value_range`` (the range the graph's input
    expects; images are given in [0, 1]); optionally ``labels_path`` and ``layers``. Instances are accepted
    wherever lucid_fast takes a model (``render_vis(model, ...)``): :meth:`to_adapter` makes the
    :class:`~lucid_fast.models.GraphDefAdapter`.
    """

    model_path = None
    labels_path = None
    synsets_path = None
    image_value_range = (-1, 1)
    image_shape = (None, None, 3)
    input_name = "input"
    layers = ()
    model_name = None
    is_BGR = False

    _labels = None
    _graph_def = None
    _adapter = None

    def __getstate__(self):
        return {k: v for k, v in self.__dict__.items() if k not in ("_graph_def", "_adapter")}

    def __setstate__(self, state):
        self.__dict__.update(state)

    def __eq__(self, other):
        return isinstance(other, Model) and self.model_path == other.model_path and type(self) is type(other)

    def __hash__(self):
        return hash((type(self).__name__, self.model_path))

    @property
    def name(self):
        return self.model_name if self.model_name is not None else type(self).__name__

    def __str__(self):
        return self.name

    def to_json(self):
        return self.name

    @property
    def labels(self):
        """The class labels, one per line of ``labels_path``."""
        if self.labels_path is None:
            raise RuntimeError(f"{self.name} has no labels_path")
        if not self._labels:
            from lucid_fast.misc.io import load

            self._labels = load(self.labels_path, split=True)
        return self._labels

    @property
    def synset_ids(self):
        if self.synsets_path is None:
            raise RuntimeError(f"{self.name} has no synsets_path")
        from lucid_fast.misc.io import load

        return load(self.synsets_path, split=True)

    @property
    def synsets(self):
        raise NotImplementedError("Model.synsets: Lucid looked synsets up in WordNet through nltk, which "
                                  "lucid_fast does not depend on; use Model.synset_ids with nltk's wordnet yourself")

    @property
    def graph_def(self):
        """The frozen GraphDef (loaded from ``model_path`` once)."""
        if self._graph_def is None:
            if self.model_path is None:
                raise RuntimeError(f"{self.name}: no model_path is set")
            from lucid_fast.misc.io import load

            self._graph_def = load(self.model_path)
        return self._graph_def

    def load_graphdef(self):
        """A no-op, as in Lucid 0.3 (graphs load when first needed)."""
        warnings.warn("Calling `load_graphdef` is no longer necessary: the graph loads when first used",
                      DeprecationWarning, stacklevel=2)

    def to_adapter(self):
        """The :class:`~lucid_fast.models.ModelAdapter` render_vis uses (made once per instance)."""
        if self._adapter is None:
            from lucid_fast.models import load_graphdef

            if self.is_BGR:
                raise ValueError(f"{self.name}: BGR-input graphs (is_BGR=True) are not supported; feed the graph "
                                 f"RGB, or reverse the channels in a Keras model around it")
            table = [(layer.name, next(iter(sorted(layer.tags)), "conv"), layer.depth) for layer in self.layers
                     if isinstance(layer, Layer)] or None
            shape = tuple(self.image_shape) if self.image_shape is not None and None not in self.image_shape \
                else None
            self._adapter = load_graphdef(self.graph_def, input_name=self.input_name, image_shape=shape,
                                          image_value_range=tuple(self.image_value_range), name=self.name,
                                          layer_table=table)
        return self._adapter

    def post_import(self, scope):
        pass

    def create_input(self, t_input=None, forget_xy_shape=True):
        raise RuntimeError(_NO_GRAPH_IMPORT.format(what="Model.create_input"))

    def import_graph(self, t_input=None, scope="import", forget_xy_shape=True, input_map=None):
        """Lucid imported the graph into the current TF1 graph. On TF2, given an image (``t_input``: a tensor or
        an NHWC array in [0, 1]) this returns ``T`` with ``T(layer)`` = that layer's activations on it (as
        ``render.import_model``); without one (a placeholder in Lucid) it raises, naming the TF2 way.

        It is a method of these model classes (``vision_models.InceptionV1()``, ``vision_models.Vgg16Hed()``, a
        ``Model`` subclass); ``modelzoo.load(name)`` returns an adapter, which has none: use
        ``render.import_model(adapter, image)``. Each ``T(layer)`` is its own forward pass from the image, so a
        gradient between two layers is ``None`` (see :func:`lucid_fast.models.layer_accessor`); for
        layer-to-layer attribution use :mod:`lucid_fast.attribution`."""
        if t_input is None or input_map is not None:
            raise RuntimeError(_NO_GRAPH_IMPORT.format(what="Model.import_graph"))
        from lucid_fast.models import layer_accessor

        adapter = self.to_adapter()
        return layer_accessor(adapter, t_input, who="import_model",
                              labels=lambda: getattr(adapter, "labels", None) or getattr(self, "labels", None))

    def show_graph(self):
        from lucid_fast.misc.io.showing import graph

        graph(self.graph_def)

    def get_layer(self, name):
        """The :class:`Layer` called ``name`` (exact match first, then a case-insensitive substring, warned)."""
        for layer in self.layers:
            if layer.name == name:
                return layer
        for layer in self.layers:
            if name.lower() in layer.name.lower():
                warnings.warn(f"found layer {layer.name!r} by fuzzy matching {name!r}; use its exact name",
                              stacklevel=2)
                return layer
        raise KeyError(f"no layer {name!r}; the layers are {[layer.name for layer in self.layers]}")

    @staticmethod
    def suggest_save_args(graph_def=None):
        raise RuntimeError("Model.suggest_save_args inspected the TF1 default graph, which TF2 does not have. For a "
                           "Keras model, pass it to render_vis directly; for a frozen GraphDef, "
                           "lucid_fast.models.load_graphdef(path) infers the input placeholder")

    @staticmethod
    def save(save_url, input_name, output_names, image_shape, image_value_range):
        raise RuntimeError("Model.save froze the TF1 default graph, which TF2 does not have. Save a Keras model "
                           "with model.save('m.keras') (render_vis takes the model or the path), or freeze one "
                           "with tf.python.framework.convert_to_constants.convert_variables_to_constants_v2")

    @staticmethod
    def load(url):
        """A Model from a GraphDef saved with Lucid's metadata (``.pb``) or a manifest (``.json``)."""
        if url.endswith(".pb"):
            return Model.load_from_graphdef(url)
        if url.endswith(".json"):
            return Model.load_from_manifest(url)
        raise ValueError(f"Model.load: expected a .pb or a .json URL, got {url!r}")

    @staticmethod
    def load_from_metadata(model_url, metadata):
        """A Model of the graph at ``model_url`` described by ``metadata`` (input_name, image_shape,
        image_value_range)."""
        missing = {"input_name", "image_shape", "image_value_range"} - set(metadata)
        if missing:
            raise ValueError(f"Model.load_from_metadata: metadata lacks {sorted(missing)}")

        class DynamicModel(Model):
            model_path = model_url
            input_name = metadata["input_name"]
            image_shape = metadata["image_shape"]
            image_value_range = metadata["image_value_range"]

        return DynamicModel()

    @staticmethod
    def load_from_graphdef(graphdef_url):
        """A Model of a GraphDef that carries Lucid's metadata node (``lucid_metadata_json``)."""
        from lucid_fast.misc.io import load

        graph_def = load(graphdef_url)
        metadata = extract_metadata(graph_def)
        if metadata is None:
            raise ValueError(f"Model.load_from_graphdef: {graphdef_url} has no {METADATA_NODE_NAME!r} node (Lucid's "
                             f"Model.save metadata); use Model.load_from_metadata(url, {{'input_name': ..., "
                             f"'image_shape': ..., 'image_value_range': ...}}) or lucid_fast.models.load_graphdef")
        model = Model.load_from_metadata(graphdef_url, metadata)
        model._graph_def = graph_def
        return model

    @staticmethod
    def load_from_manifest(manifest_url):
        """A :class:`FrozenGraphModel` from a ``manifest.json`` (its ``model_path`` relative to the manifest)."""
        from lucid_fast.misc.io import load

        manifest = load(manifest_url)
        kind = manifest.get("type", "frozen")
        if kind != "frozen":
            raise NotImplementedError(f"Model.load_from_manifest: manifest type {kind!r} is not supported")
        return FrozenGraphModel(os.path.dirname(manifest_url), manifest)

    def get_activations(self, layer, examples, batch_size=64, dtype=None, ind_shape=None, center_only=False):
        """A layer's activations over an array of images ``(..., h, w, c)`` in [0, 1]: shape
        ``(..., h', w', channels)``, or ``(..., channels)`` with ``center_only`` (the central position)."""
        from lucid_fast.models import load_model

        examples = np.asarray(examples, np.float32)
        if examples.ndim < 3:
            raise ValueError(f"get_activations: examples must be images (..., h, w, c), got shape {examples.shape}")
        lead = examples.shape[:-3] if ind_shape is None else tuple(ind_shape)
        flat = examples.reshape((-1,) + examples.shape[-3:])
        adapter = load_model(self)
        name = adapter.resolve(layer)
        fn = adapter.activation_fn([name])
        out = []
        for i in range(0, len(flat), int(batch_size)):
            acts = fn(flat[i:i + int(batch_size)])[name].numpy()
            if center_only and acts.ndim == 4:
                acts = acts[:, acts.shape[1] // 2, acts.shape[2] // 2]
            out.append(acts.astype(dtype) if dtype is not None else acts)
        acts = np.concatenate(out)
        return acts.reshape(tuple(lead) + acts.shape[1:])


def extract_metadata(graph_def):
    """The JSON metadata Lucid's ``Model.save`` stored in a GraphDef, or None."""
    nodes = [n for n in graph_def.node if n.name == METADATA_NODE_NAME]
    if not nodes:
        return None
    if len(nodes) > 1:
        raise ValueError(f"the graph has {len(nodes)} {METADATA_NODE_NAME!r} nodes; expected one")
    return json.loads(nodes[0].attr["value"].tensor.string_val[0])


class SerializedModel(Model):
    """Deprecated in Lucid: models loaded from a manifest (:meth:`Model.load_from_manifest`)."""

    @classmethod
    def from_directory(cls, model_path, manifest_path=None):
        warnings.warn("SerializedModel is deprecated (as in Lucid); use Model.load_from_manifest",
                      DeprecationWarning, stacklevel=2)
        return Model.load_from_manifest(manifest_path or os.path.join(model_path, "manifest.json"))


class FrozenGraphModel(SerializedModel):
    """A frozen graph described by a manifest: ``model_path`` (relative paths start with ``./``),
    ``image_value_range``, ``input_name``, ``image_shape``, and optionally ``layers``."""

    _mandatory_properties = ("model_path", "image_value_range", "input_name", "image_shape")

    def __init__(self, model_directory, manifest):
        missing = [k for k in self._mandatory_properties if k not in manifest]
        if missing:
            raise ValueError(f"FrozenGraphModel: the manifest lacks {missing}")
        self.manifest = manifest
        for key, value in manifest.items():
            if key != "layers":
                setattr(self, key, value)
        model_path = manifest["model_path"]
        self.model_path = os.path.join(model_directory, model_path[2:]) if model_path.startswith("./") \
            else model_path
        layers = manifest.get("layers") or []
        if layers and isinstance(layers[0], dict):
            self.layers = _layers_from_list_of_dicts(self, layers)
            self.layer_names = [layer.name for layer in self.layers]
        else:
            self.layer_names = list(layers)
