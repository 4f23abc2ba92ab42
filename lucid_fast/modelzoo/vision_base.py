"""Declarative modelzoo entries, in the spirit of Lucid's ``vision_base.Model``.

A :class:`ZooModel` says what a model is (name, description, nominal input size), where its files come from
and how to turn them into a :class:`lucid_fast.models.ModelAdapter`. Subclasses: the embedded ``vgg16_hed``,
frozen GraphDefs downloaded from Lucid's modelzoo (:class:`GraphDefZooModel`), and ``keras.applications``
models with ImageNet weights (:class:`KerasApplicationZooModel`).
"""
from __future__ import annotations

import os

from lucid_fast.modelzoo import _download

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
    """

    name = None
    description = ""
    image_shape = (224, 224, 3)
    aliases = ()

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
