"""Lucid's ``modelzoo.vision_models``: model classes, Lucid style.

    import lucid_fast.modelzoo.vision_models as models
    model = models.Vgg16Hed()          # embedded, offline (lucid_fast's default model)
    model = models.InceptionV1()       # Lucid's InceptionV1 graph, downloaded into the cache on first use
    model.load_graphdef()              # a no-op, as in Lucid 0.3
    render.render_vis(model, "mixed4a_pre_relu:476")

Each class is a :class:`~lucid_fast.modelzoo.vision_base.Model` backed by the lucid_fast model zoo entry of the
same model (same cache file, checksum and layer table as ``lucid_fast.modelzoo.load(name)``). Lucid's other
frozen graphs (its Caffe and slim conversions) are not listed here; to use one, declare it as Lucid did::

    class ResnetV2_50_slim(vision_base.Model):
        model_path = "gs://modelzoo/vision/slim_models/ResnetV2_50.pb"
        image_shape, image_value_range, input_name = [224, 224, 3], (-1, 1), "input"
"""
from lucid_fast.modelzoo.vision_base import Layer, Model


class _ZooBacked(Model):
    """A Lucid-style model class whose graph and adapter come from a lucid_fast model zoo entry."""

    _zoo_name = None

    def _entry(self):
        from lucid_fast.modelzoo import get_entry

        return get_entry(self._zoo_name)

    def to_adapter(self):
        if self._adapter is None:
            self._adapter = self._entry().load()
        return self._adapter


def _layers(model_cls, rows):
    instance = model_cls()
    return tuple(Layer(instance, name, depth, (kind,)) for name, kind, depth in rows)


class Vgg16Hed(_ZooBacked):
    """lucid_fast's embedded default model: VGG16's conv trunk with HED's weights (a Keras model, no GraphDef;
    input RGB in [0, 1]). Layers ``block1_conv1`` ... ``block5_conv3``, with ``_pre_relu`` variants."""

    _zoo_name = "vgg16_hed"
    image_shape = [224, 224, 3]
    image_value_range = (0, 1)

    @property
    def graph_def(self):
        raise RuntimeError("Vgg16Hed is a Keras model, not a frozen GraphDef; use model.to_adapter() (or pass the "
                           "model to render_vis) to run it")


class InceptionV1(_ZooBacked):
    """InceptionV1 ("GoogLeNet", Szegedy et al. 2015): Lucid's frozen graph and layer names, fetched into the
    cache on first use (see :mod:`lucid_fast.modelzoo.inceptionv1`)."""

    _zoo_name = "inceptionv1"
    model_path = "https://storage.googleapis.com/modelzoo/vision/other_models/InceptionV1.pb"
    labels_path = "gs://modelzoo/labels/ImageNet_alternate.txt"
    image_shape = [224, 224, 3]
    image_value_range = (-117, 255 - 117)
    input_name = "input"

    @property
    def graph_def(self):
        if self._graph_def is None:
            from lucid_fast.misc.io import load

            self._graph_def = load(self._entry().model_path())  # the zoo's cache file, checksum-verified
        return self._graph_def


class InceptionV1_adv_finetuned(InceptionV1):  # noqa: N801 - Lucid's class name
    """InceptionV1 adversarially fine-tuned (Lucid's modelzoo); the same layers."""

    _zoo_name = "inceptionv1_adv_finetuned"
    model_path = "https://storage.googleapis.com/modelzoo/vision/other_models/InceptionV1_adv_finetuned.pb"


def _vgg16_hed_rows():
    from lucid_fast.modelzoo import vgg16_hed

    return [(name, kind, channels) for name, channels, _, kind in vgg16_hed.layer_table()
            if kind in ("conv", "pool")]


def _inception_rows():
    from lucid_fast.modelzoo.inceptionv1 import LAYERS

    return LAYERS


Vgg16Hed.layers = _layers(Vgg16Hed, _vgg16_hed_rows())
InceptionV1.layers = _layers(InceptionV1, _inception_rows())
InceptionV1_adv_finetuned.layers = _layers(InceptionV1_adv_finetuned, _inception_rows())

__all__ = ["InceptionV1", "InceptionV1_adv_finetuned", "Layer", "Model", "Vgg16Hed"]
