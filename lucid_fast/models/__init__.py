"""Model adapters: one interface from which the render engine gets activations of any supported model.

The engine computes, inside one ``tf.function`` per step, a model's activations at the layers an objective
needs, the objective, and the gradient with respect to the input image. Everything model-specific lives here:

    adapter = load_model(model)                       # a Keras model, a SavedModel dir, a frozen .pb
    f = adapter.activation_fn(["block4_conv3"], relu_override=True)
    acts = f(x_t)                                     # {"block4_conv3": tensor}; x_t: NHWC float32 RGB in [0, 1]

(A modelzoo name such as ``"vgg16_hed"`` goes to ``lucid_fast.modelzoo.load_model``, which takes everything
:func:`load_model` does too; this package never imports the zoo.)

Which file holds what:

* ``protocol.py`` -- :class:`LayerInfo` and :class:`ModelAdapter`, the protocol the engine needs from a model
  of any framework (layer table, activations of layers and of some channels, Lucid's ReLU override, the
  objective's gradient), and the framework-free part of it (``resolve`` and its close-name error, the checks of
  a channel request). It imports no TensorFlow; an adapter for another framework is one more file like the
  ``tf_*`` ones.
* ``tf_base.py`` -- :class:`TFModelAdapter`, the TensorFlow side shared by both TF adapters (input checks and
  value-range mapping, the gather fallback for channels), and :func:`layer_accessor` (Lucid's ``T`` on a given
  image, behind ``render.import_model``).
* ``tf_keras.py`` -- :class:`KerasAdapter` for functional and Sequential Keras 3 models; ``tf_keras_nodes.py``
  how it classifies and runs one node of the Keras graph (including the channel-sliced Conv2D/Dense).
* ``tf_graphdef.py`` -- :class:`GraphDefAdapter` for frozen GraphDefs (Lucid's modelzoo format), with
  :func:`load_graphdef` and :func:`load_saved_model` (a SavedModel is frozen into a GraphDef).
* ``tf_overrides.py`` -- the gradient overrides: Lucid's redirected ReLU / ReLU6 (:func:`redirected_relu_grad`,
  used by the Keras adapter as a ``tf.custom_gradient`` and by the GraphDef adapter as a registered gradient)
  and attribution's smooth MaxPool gradient and blur.
* ``tf_memory.py`` -- the memory a render step needs (:func:`estimate_step_bytes`, ``STEP_MEMORY_FACTOR``).
* ``tf_step.py`` -- the TensorFlow side of one optimization step (``ModelAdapter.objective_step``).
* ``torch_adapter.py`` -- :class:`TorchAdapter` for any ``torch.nn.Module`` (layers are ``named_modules()``
  paths, activations NHWC); ``torch_step.py`` its side of the step (autograd, DLPack), ``torch_overrides.py``
  Lucid's redirected ReLU gradient in torch, ``torch_slicing.py`` the sliced Conv2d/Linear. Only these four import
  torch, and only when a PyTorch model is used (``load_model`` wraps an ``nn.Module`` without importing torch).
* ``loading.py`` -- :func:`load_model`: the adapter for a model object or path.

Names are imported from their files on first use (``from lucid_fast.models import KerasAdapter``), so
``import lucid_fast.models.protocol`` does not import TensorFlow, and nothing imports torch until
``TorchAdapter`` is asked for (it is not in ``__all__``, so ``from lucid_fast.models import *`` does not either).
"""
from __future__ import annotations

import importlib

_EXPORTS = {
    "LayerInfo": "protocol",
    "ModelAdapter": "protocol",
    "TFModelAdapter": "tf_base",
    "layer_accessor": "tf_base",
    "KerasAdapter": "tf_keras",
    "GraphDefAdapter": "tf_graphdef",
    "load_graphdef": "tf_graphdef",
    "load_saved_model": "tf_graphdef",
    "load_model": "loading",
    "TorchAdapter": "torch_adapter",
    "estimate_step_bytes": "tf_memory",
    "STEP_MEMORY_FACTOR": "tf_memory",
    "STEP_MEMORY_OVERHEAD": "tf_memory",
    "redirected_relu": "tf_overrides",
    "redirected_relu6": "tf_overrides",
    "redirected_relu_grad": "tf_overrides",
    "MAXPOOL_GRADS": "tf_overrides",
    "SMOOTH_MAXPOOL_EPSILON": "tf_overrides",
    "GRAD_BLUR_WEIGHTS": "tf_overrides",
    "blur_gradient": "tf_overrides",
    "smooth_maxpool_grad": "tf_overrides",
    "smooth_maxpool": "tf_overrides",
}

__all__ = [
    "LayerInfo",
    "ModelAdapter",
    "KerasAdapter",
    "GraphDefAdapter",
    "load_model",
    "load_saved_model",
    "load_graphdef",
    "estimate_step_bytes",
    "redirected_relu",
    "redirected_relu6",
    "redirected_relu_grad",
]


def __getattr__(name):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_EXPORTS))
