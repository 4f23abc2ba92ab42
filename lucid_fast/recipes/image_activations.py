"""A photo's activations at a model's layers (Lucid's ``recipes.image_activations``)."""
import time

import numpy as np


def image_activations(model, image, layer_names=None):
    """``{layer: activations}`` of ``image`` (resized to the model's nominal size) at each layer.

    Args:
        model: a model as render_vis takes.
        image: (h, w, 3) in [0, 1].
        layer_names: default every convolutional layer the model lists.

    Returns:
        A dict of numpy arrays, one (h', w', channels) (or (channels,)) per layer.
    """
    from lucid_fast import modelzoo
    from lucid_fast.models import layer_accessor
    from lucid_fast.recipes.caricature import fit_image

    adapter = modelzoo.load_model(model)
    if layer_names is None:
        layer_names = [info.name for info in adapter.layers() if info.kind == "conv"]
    shape = getattr(adapter, "image_shape", None)
    size = tuple(shape[:2]) if shape is not None and None not in tuple(shape[:2]) else np.shape(image)[:2]
    T = layer_accessor(adapter, fit_image(image, size)[None])
    return {name: T(name).numpy()[0] for name in layer_names}


def manifest_image_activations(model, image, **kwargs):
    """:func:`image_activations` as Lucid's results dict: ``{"type": "image-activations", "took": seconds,
    "values": [{"type": "activations", "value", "shape", "layer_name"}, ...]}``."""
    start = time.perf_counter()
    activations = image_activations(model, image, **kwargs)
    results = {"type": "image-activations", "took": time.perf_counter() - start}
    results["values"] = [{"type": "activations", "value": value, "shape": value.shape, "layer_name": name}
                         for name, value in activations.items()]
    return results


__all__ = ["image_activations", "manifest_image_activations"]
