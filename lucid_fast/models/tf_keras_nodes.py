"""The nodes of a Keras graph, as :class:`~lucid_fast.models.tf_keras.KerasAdapter` walks and runs them.

Classifying a layer (:func:`_layer_kind`, :func:`_relu_layer_kind`, :func:`_fusable_layer_types`), one node of
the flattened graph (:class:`_KerasStep`), and running it: whole (:func:`_run_keras_step`, with the ReLU and
MaxPool gradient overrides of :mod:`lucid_fast.models.tf_overrides`) or, for a Conv2D/Dense that an objective
reads only some channels of, on those output channels alone (:func:`_sliceable_layer`,
:func:`_run_keras_step_sliced`).
"""
from __future__ import annotations

import dataclasses
from contextlib import contextmanager

import tensorflow as tf

from lucid_fast.models.tf_overrides import relu_fn, smooth_maxpool

def _keras():
    import keras  # noqa: PLC0415 - imported on use; TF already imports it

    return keras


def _is_functional(model):
    keras = _keras()
    try:
        from keras.src.models.functional import Functional  # noqa: PLC0415
    except ImportError:  # pragma: no cover - older/newer layouts
        return isinstance(model, keras.Model) and hasattr(model, "_nodes_by_depth")
    return isinstance(model, Functional)


def _functional_of(model, who):
    """The functional graph of a functional or Sequential Keras model; ValueError for anything else."""
    keras = _keras()
    if isinstance(model, keras.Sequential):
        fm = getattr(model, "_functional", None)
        if fm is None:
            raise ValueError(
                f"{who}: this Sequential model has no known input shape, so its graph cannot be walked. "
                "Start it with keras.Input((h, w, c)) (h, w may be None) or call model.build((None, h, w, c)).")
        return fm
    if _is_functional(model):
        return model
    raise ValueError(
        f"{who}: {type(model).__name__} is a subclassed Keras model; its call() cannot be walked layer by "
        "layer. Rebuild it as a functional model (keras.Input -> layers -> keras.Model(inputs, outputs)), "
        "or export it as a SavedModel and load that (ops are then addressed by name).")


_CONV_BASES = None


def _fusable_layer_types():
    """Layer classes whose ``activation`` is applied last and can be split off (pre-activation tap)."""
    global _CONV_BASES
    if _CONV_BASES is None:
        keras = _keras()
        types = [keras.layers.Dense]
        for path, cls in [
            ("keras.src.layers.convolutional.base_conv", "BaseConv"),
            ("keras.src.layers.convolutional.base_depthwise_conv", "BaseDepthwiseConv"),
            ("keras.src.layers.convolutional.base_separable_conv", "BaseSeparableConv"),
            ("keras.src.layers.convolutional.base_conv_transpose", "BaseConvTranspose"),
        ]:
            try:
                module = __import__(path, fromlist=[cls])
                types.append(getattr(module, cls))
            except (ImportError, AttributeError):  # pragma: no cover - a different Keras layout
                pass
        if not any(t.__name__ == "BaseConv" for t in types):  # pragma: no cover
            types += [keras.layers.Conv1D, keras.layers.Conv2D, keras.layers.Conv3D,
                      keras.layers.DepthwiseConv2D, keras.layers.SeparableConv2D, keras.layers.Conv2DTranspose]
        _CONV_BASES = tuple(types)
    return _CONV_BASES


def _activation_kind(fn):
    """'linear', 'relu', 'relu6' or 'other' for a Keras activation function."""
    keras = _keras()
    if fn is None or fn is keras.activations.linear:
        return "linear"
    if fn is keras.activations.relu:
        return "relu"
    if fn is keras.activations.relu6:
        return "relu6"
    return "other"


def _relu_layer_kind(op):
    """'relu' / 'relu6' if ``op`` (layer or keras op) is exactly a ReLU or ReLU6, else None."""
    keras = _keras()
    if isinstance(op, keras.layers.ReLU):
        if float(op.negative_slope) != 0.0 or float(op.threshold) != 0.0:
            return None
        if op.max_value is None:
            return "relu"
        if float(op.max_value) == 6.0:
            return "relu6"
        return None
    if isinstance(op, keras.layers.Activation):
        kind = _activation_kind(op.activation)
        return kind if kind in ("relu", "relu6") else None
    cls = type(op)
    if cls.__module__.startswith("keras") and cls.__name__ in ("Relu", "Relu6") and not isinstance(
            op, keras.layers.Layer):
        return cls.__name__.lower()
    return None


def _layer_kind(op):
    keras = _keras()
    declared = getattr(op, "lucid_fast_kind", None)
    if isinstance(declared, str):
        return declared
    if isinstance(op, keras.layers.InputLayer):
        return "input"
    if _relu_layer_kind(op) is not None:
        return "relu"
    if isinstance(op, keras.layers.Dense):
        return "dense"
    if isinstance(op, _fusable_layer_types()):
        return "conv"
    cls = type(op).__name__
    if "Pooling" in cls:
        return "pool"
    if isinstance(op, keras.layers.Activation):
        return "activation"
    if isinstance(op, keras.layers.Rescaling):
        return "preprocess"
    if "Normalization" in cls:
        return "norm"
    if isinstance(op, keras.Model):
        return "model"
    return cls.lower()


@contextmanager
def _without_activation(layer):
    """Temporarily makes ``layer`` linear (restored on exit), to read its pre-activation output.

    Used while tracing; the layer object is shared with the user's model, so this is not thread-safe with a
    concurrent trace of the same layer.
    """
    keras = _keras()
    saved = layer.activation
    object.__setattr__(layer, "activation", keras.activations.linear)
    try:
        yield
    finally:
        object.__setattr__(layer, "activation", saved)


@dataclasses.dataclass
class _KerasStep:
    """One node of the flattened Keras graph."""

    name: str
    node: object                 # keras Node (for its arguments and input tensors)
    op: object                   # the operation to call
    in_keys: list                # value keys for node.input_tensors, same order
    out_keys: list               # value keys for the flattened outputs
    mode: str                    # "call" | "split" | "relu"
    act_kind: str = "linear"     # for "split": linear/relu/relu6/other; for "relu": relu/relu6
    pre_key: object = None       # for "split" and "relu": the key of the pre-activation value
    training_arg: bool = False

def _keras_activation(step, pre, relu_override):
    """The fused activation of a "split" step applied to its pre-activation value."""
    if relu_override and step.act_kind in ("relu", "relu6"):
        return relu_fn(step.act_kind, relu_override)(pre)
    return step.op.activation(pre)


def _keras_maxpool(op, x, maxpool_grad):
    """A Keras 2-D max-pool layer run with the smooth gradient; None if ``op`` is not one this can run."""
    keras = _keras()
    if not isinstance(op, keras.layers.MaxPooling2D) or getattr(op, "data_format", "channels_last") != \
            "channels_last":
        return None
    return smooth_maxpool(x, list(op.pool_size), list(op.strides), op.padding.upper(),
                          blur=maxpool_grad == "smooth_blur")


def _run_keras_step(step, values, relu_override, maxpool_grad=None):
    node = step.node
    tensor_dict = {id(t): values[k] for t, k in zip(node.input_tensors, step.in_keys)}
    args, kwargs = node.arguments.fill_in(tensor_dict)
    if step.training_arg:
        kwargs = dict(kwargs)
        kwargs["training"] = False
    op = step.op
    if step.mode == "split":
        with _without_activation(op):
            pre = op(*args, **kwargs)
        values[step.pre_key] = pre
        values[step.out_keys[0]] = _keras_activation(step, pre, relu_override)
        return
    if step.mode == "relu" and relu_override:
        x = values[step.in_keys[0]]
        values[step.out_keys[0]] = relu_fn(step.act_kind, relu_override)(x)
        return
    if maxpool_grad is not None and len(step.in_keys) == 1:
        pooled = _keras_maxpool(op, values[step.in_keys[0]], maxpool_grad)
        if pooled is not None:
            values[step.out_keys[0]] = pooled
            return
    outputs = tf.nest.flatten(op(*args, **kwargs))
    for key, value in zip(step.out_keys, outputs):
        values[key] = value


def _same_indices(a, b):
    if isinstance(a, list) and isinstance(b, list):
        return a == b
    return a is b


def _sliceable_layer(step):
    """A step whose output channels can be computed alone: exactly a Conv2D (one group, channels last) or a
    Dense with a plain float kernel, called on one tensor, activation fused (ReLU, ReLU6) or none."""
    keras = _keras()
    op = step.op
    if step.mode not in ("call", "split") or len(step.in_keys) != 1 or len(step.out_keys) != 1:
        return False
    if step.mode == "split" and step.act_kind not in ("relu", "relu6"):
        return False
    if step.mode == "call" and _activation_kind(getattr(op, "activation", None)) != "linear":
        return False
    if getattr(op, "lora_enabled", False) or getattr(op, "quantization_mode", None):
        return False
    if type(op) is keras.layers.Conv2D:
        return op.groups == 1 and op.data_format == "channels_last"
    return type(op) is keras.layers.Dense


def _run_keras_step_sliced(step, values, relu_override, idx):
    """:func:`_run_keras_step` for a :func:`_sliceable_layer` computing only output channels ``idx``: the same
    keras ops as the layer's ``call``, on the kernel and bias gathered along their output axis."""
    keras = _keras()
    op = step.op
    x = values[step.in_keys[0]]
    kernel = tf.gather(op.kernel, idx, axis=-1)
    if isinstance(op, keras.layers.Conv2D):
        pre = keras.ops.conv(x, kernel, strides=list(op.strides), padding=op.padding,
                             dilation_rate=op.dilation_rate, data_format=op.data_format)
    else:
        pre = keras.ops.matmul(x, kernel)
    if op.use_bias:
        pre = keras.ops.add(pre, tf.gather(op.bias, idx))
    if step.mode == "call":
        values[step.out_keys[0]] = pre
        return
    values[step.pre_key] = pre
    values[step.out_keys[0]] = relu_fn("relu" if step.act_kind == "relu" else "relu6", relu_override)(pre)
