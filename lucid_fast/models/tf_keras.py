"""The Keras adapter: :class:`KerasAdapter`, for functional and Sequential Keras 3 models.

The model's graph is flattened once into steps (:mod:`lucid_fast.models.tf_keras_nodes` says how one node is
classified and run); an activation function runs only the steps the requested layers depend on, with the
adapter's own activation handling (pre-activation taps, Lucid's redirected ReLU gradient, channel slicing).
"""
from __future__ import annotations

import tensorflow as tf

from lucid_fast.models.protocol import _check_image_shape, _check_value_range
from lucid_fast.models.tf_base import TFModelAdapter, _default_value_range, _info_from_shape
from lucid_fast.models.tf_keras_nodes import (
    _activation_kind,
    _fusable_layer_types,
    _functional_of,
    _keras,
    _keras_activation,
    _KerasStep,
    _layer_kind,
    _relu_layer_kind,
    _run_keras_step,
    _run_keras_step_sliced,
    _same_indices,
    _sliceable_layer,
)
from lucid_fast.models.tf_memory import _downstream_bytes
from lucid_fast.models.tf_overrides import _check_maxpool_grad, relu_override_mode

__all__ = ["KerasAdapter"]


class KerasAdapter(TFModelAdapter):
    """Adapter for functional and Sequential Keras 3 models (``tf.keras.Model``).

    The model's graph is walked node by node (nested functional/Sequential models are expanded, their layers
    named ``"<submodel>/<layer>"``) and re-run with the adapter's own activation handling:

    * a Conv/Dense-family layer with a fused activation exposes ``"<name>"`` (after the activation) and
      ``"<name>_pre_relu"`` (before it; ``"<name>_pre_activation"`` if the activation is not ReLU/ReLU6);
    * standalone ``ReLU``/``Activation("relu")`` layers and ``keras.ops.relu`` nodes expose ``"<name>"`` and
      ``"<name>_pre_relu"`` (their input);
    * a layer called more than once is named ``"<name>"``, ``"<name>_1"``, ...; extra outputs of a multi-output
      node are ``"<name>:1"``, ``"<name>:2"``, ...;
    * ``"input"`` is the model input in ``image_value_range`` (unless a layer is named ``"input"``).

    Layers run with ``training=False``. The model must have one image input.

    A model whose input is an integer type (``keras.Input(..., dtype="uint8")``) casts its input to float in
    its first layers (``Rescaling``, a cast): the adapter feeds those layers the float32 image, mapped to
    ``image_value_range``, instead of rounding it to the integer type first, which would cut the gradient
    (rounding has none) and leave the rendered image unchanged. A model whose first layers need true
    integers (an ``Embedding``) gives no gradient; render_vis refuses such a model before its first step.

    Args:
        model: A functional or Sequential ``keras.Model``.
        image_value_range: ``(lo, hi)`` the model's input expects; images in [0, 1] are mapped onto it.
            Default (0, 1) for a floating input, and the dtype's range (0, 255 for uint8) for an unsigned
            integer input; a signed integer input needs it given.
        image_shape: Nominal ``(h, w, c)``, used for layer metadata when the model's input has unknown spatial
            size. Default: the model's input shape when fully known, else None.
        name: A display name (default: the model's name).
    """

    def __init__(self, model, image_value_range=None, image_shape=None, name=None):
        keras = _keras()
        who = f"KerasAdapter({getattr(model, 'name', type(model).__name__)!r})"
        if not isinstance(model, keras.Model):
            raise ValueError(f"{who}: expected a keras.Model, got {type(model).__name__}")
        functional = _functional_of(model, who)
        if len(functional.inputs) != 1:
            raise ValueError(f"{who}: the model has {len(functional.inputs)} inputs; only single-input image "
                             "models are supported")
        self.model = model
        self.name = name or model.name
        input_dtype = tf.as_dtype(functional.inputs[0].dtype)
        self.image_value_range = _check_value_range(_default_value_range(image_value_range, input_dtype, who),
                                                    who)
        in_shape = tuple(functional.inputs[0].shape)
        if len(in_shape) != 4:
            raise ValueError(f"{who}: the model input must be NHWC (rank 4), got shape {in_shape}")
        self.input_channels = in_shape[-1]
        image_shape = _check_image_shape(image_shape, who)
        if image_shape is None and all(d is not None for d in in_shape[1:]):
            image_shape = tuple(int(d) for d in in_shape[1:])
        if image_shape is not None and self.input_channels is not None and image_shape[-1] != self.input_channels:
            raise ValueError(f"{who}: image_shape {image_shape} disagrees with the model's input channels "
                             f"{self.input_channels}")
        if self.input_channels is None and image_shape is not None:
            self.input_channels = image_shape[-1]
        self.image_shape = image_shape
        # the dtype the image is fed in: the input's own if floating, else float32 (see the class doc)
        self._input_dtype = input_dtype if input_dtype.is_floating else tf.float32
        self.input_dtype = input_dtype

        self._steps = []
        self._taps = {}           # canonical name -> value key
        self._tap_kind = {}       # canonical name -> kind
        self._tap_static = {}     # canonical name -> static (KerasTensor) shape
        self._alias = {}          # value key -> value key (nested model boundaries)
        self._producer = {}       # value key -> step index
        self._used_names = set()
        self._input_key = ("", id(functional.inputs[0]))
        in_layer = functional.inputs[0]._keras_history.operation
        self._add_tap(in_layer.name, self._input_key, "input", functional.inputs[0].shape)
        self._unlisted = set()  # resolvable aliases that layers() does not list twice
        if "input" not in self._taps and not any(op.name == "input" for op in functional.operations):
            self._add_tap("input", self._input_key, "input", functional.inputs[0].shape)
            self._unlisted.add("input")
        self._flatten(functional, scope="", prefix="")
        self._order = list(self._taps)

    # -- graph flattening -----------------------------------------------------------------------------------------
    def _key(self, key):
        while key in self._alias:
            key = self._alias[key]
        return key

    def _unique(self, base):
        name, k = base, 0
        while name in self._used_names:
            k += 1
            name = f"{base}_{k}"
        self._used_names.add(name)
        return name

    def _add_tap(self, name, key, kind, static_shape):
        self._used_names.add(name)
        self._taps[name] = key
        self._tap_kind[name] = kind
        self._tap_static[name] = static_shape

    def _flatten(self, functional, scope, prefix):
        tree_flatten = tf.nest.flatten
        depth_keys = sorted(functional._nodes_by_depth.keys(), reverse=True)
        for depth in depth_keys:
            for node in functional._nodes_by_depth[depth]:
                op = node.operation
                if op is None or node.is_input:
                    continue
                in_keys = [self._key((scope, id(t))) for t in node.input_tensors]
                outputs = tree_flatten(node.outputs)
                out_keys = [(scope, id(t)) for t in outputs]
                keras = _keras()
                if isinstance(op, keras.Model):  # nested model: expand it
                    inner = _functional_of(op, f"KerasAdapter({self.name!r})")
                    sub_name = self._unique(prefix + op.name)
                    inner_scope = scope + "/" + sub_name + f"#{len(self._steps)}"
                    if len(inner.inputs) != len(in_keys):
                        raise ValueError(f"KerasAdapter({self.name!r}): nested model {op.name!r} is called with "
                                         f"{len(in_keys)} tensors but has {len(inner.inputs)} inputs")
                    for t_in, k in zip(inner.inputs, in_keys):
                        self._alias[(inner_scope, id(t_in))] = k
                    self._flatten(inner, inner_scope, sub_name + "/")
                    inner_outs = tree_flatten(inner.outputs)
                    for i, (t_out, t_inner) in enumerate(zip(outputs, inner_outs)):
                        resolved = self._key((inner_scope, id(t_inner)))
                        self._alias[(scope, id(t_out))] = resolved
                        self._add_tap(sub_name if i == 0 else f"{sub_name}:{i}", resolved, "model", t_out.shape)
                    continue

                name = self._unique(prefix + op.name)
                relu_kind = _relu_layer_kind(op)
                step = _KerasStep(name=name, node=node, op=op, in_keys=in_keys, out_keys=out_keys, mode="call",
                                  training_arg=bool(getattr(op, "_call_has_training_arg", False)))
                kind = _layer_kind(op)
                if isinstance(op, _fusable_layer_types()) and len(outputs) == 1:
                    act = _activation_kind(getattr(op, "activation", None))
                    if act != "linear":
                        step.mode, step.act_kind = "split", act
                        step.pre_key = ("pre", scope, id(outputs[0]))
                        suffix = "_pre_relu" if act in ("relu", "relu6") else "_pre_activation"
                        pre_name = name + suffix
                        if pre_name in self._used_names:
                            pre_name = self._unique(pre_name)
                        self._add_tap(pre_name, step.pre_key, "pre_relu" if suffix == "_pre_relu"
                                      else "pre_activation", outputs[0].shape)
                elif relu_kind is not None and len(in_keys) == 1 and len(outputs) == 1:
                    step.mode, step.act_kind = "relu", relu_kind
                    step.pre_key = in_keys[0]
                    pre_name = name + "_pre_relu"
                    if pre_name not in self._used_names:
                        self._add_tap(pre_name, step.pre_key, "pre_relu", outputs[0].shape)
                index = len(self._steps)
                self._steps.append(step)
                for i, (k, t) in enumerate(zip(out_keys, outputs)):
                    self._producer[k] = index
                    tap = name if i == 0 else f"{name}:{i}"
                    self._add_tap(tap, k, kind, t.shape)
                if step.mode == "split":
                    self._producer[step.pre_key] = index

    # -- interface ------------------------------------------------------------------------------------------------
    def _canonical_names(self):
        return self._order

    def _needed_steps(self, keys):
        needed, stack = set(), [k for k in keys]
        while stack:
            key = stack.pop()
            index = self._producer.get(key)
            if index is None or index in needed:
                continue
            needed.add(index)
            stack.extend(self._steps[index].in_keys)
        return [self._steps[i] for i in sorted(needed)]

    def _input_values(self, x_t):
        """The values a forward pass starts from: ``{input key: the mapped input, in the model's dtype}``."""
        x_raw = self._map_input(x_t)
        if x_raw.dtype != self._input_dtype:
            x_raw = tf.cast(x_raw, self._input_dtype)
        return {self._input_key: x_raw}

    def activation_fn(self, layer_names, relu_override=False, maxpool_grad=None):
        requested, canonical = self._resolve_all(layer_names)
        keys = [self._taps[c] for c in canonical]
        steps = self._needed_steps(keys)
        relu_override = relu_override_mode(relu_override)
        maxpool_grad = _check_maxpool_grad(maxpool_grad)

        def activations(x_t):
            values = self._input_values(x_t)
            for step in steps:
                _run_keras_step(step, values, relu_override, maxpool_grad)
            return {name: values[key] for name, key in zip(requested, keys)}

        activations.layer_names = tuple(canonical)
        activations.relu_override = relu_override
        activations.maxpool_grad = maxpool_grad
        return activations

    def spliced_fn(self, layer, layer_names, relu_override=False, maxpool_grad=None):
        splice = self.resolve(layer)
        requested, canonical = self._resolve_all(layer_names)
        splice_key = self._taps[splice]
        keys = [self._taps[c] for c in canonical]
        relu_override = relu_override_mode(relu_override)
        maxpool_grad = _check_maxpool_grad(maxpool_grad)
        # Walk back from the outputs, stopping at the spliced value. A fused Conv/Dense step whose
        # pre-activation is spliced only applies its activation ("act_only").
        needed, act_only, stack, needs_input = set(), set(), list(keys), False
        while stack:
            key = stack.pop()
            if key == splice_key:
                continue
            index = self._producer.get(key)
            if index is None:
                needs_input = True
                continue
            step = self._steps[index]
            if step.mode == "split" and step.pre_key == splice_key:
                act_only.add(index)
                continue
            if index in needed:
                continue
            needed.add(index)
            stack.extend(step.in_keys)
        order = sorted(needed | act_only)
        dependent = {splice_key}  # values that change with acts_t (batch B); the rest are per-image (batch 1)
        for index in order:
            step = self._steps[index]
            if index in act_only or any(k in dependent for k in step.in_keys):
                dependent.update(step.out_keys)
                if step.mode == "split":
                    dependent.add(step.pre_key)
        for name, key in zip(canonical, keys):
            if key not in dependent:
                raise ValueError(f"{self.name}: layer {name!r} does not depend on {splice!r}, so it cannot be "
                                 f"computed from {splice!r}'s activations (is {splice!r} after it in the model?)")
        input_key, input_dtype = self._input_key, self._input_dtype
        steps = [(self._steps[i], i in act_only) for i in order]

        def activations(x_t, acts_t):
            acts_t = tf.convert_to_tensor(acts_t)
            values = {splice_key: acts_t}
            if needs_input:
                if x_t is None:
                    raise ValueError(f"{self.name}: computing {canonical} from {splice!r} needs the input image "
                                     "too (part of the model bypasses the layer); pass x_t")
                x_raw = self._map_input(x_t)
                values[input_key] = x_raw if x_raw.dtype == input_dtype else tf.cast(x_raw, input_dtype)
            for step, only_activation in steps:
                if only_activation:
                    pre = values[step.pre_key]
                    values[step.out_keys[0]] = _keras_activation(step, pre, relu_override)
                    continue
                in_dep = [k in dependent for k in step.in_keys]
                if any(in_dep) and not all(in_dep):  # a bypass joins: broadcast its batch-1 values to B
                    batch = tf.shape(values[step.in_keys[in_dep.index(True)]])[0]
                    for k, dep in zip(step.in_keys, in_dep):
                        if not dep:
                            v = values[k]
                            values[k] = tf.broadcast_to(v, tf.concat([[batch], tf.shape(v)[1:]], 0))
                _run_keras_step(step, values, relu_override, maxpool_grad)
                values[splice_key] = acts_t  # a step that also makes the spliced value must not overwrite it
            return {name: values[key] for name, key in zip(requested, keys)}

        activations.layer_names = tuple(canonical)
        activations.needs_input = needs_input
        activations.relu_override = relu_override
        activations.maxpool_grad = maxpool_grad
        return activations

    def channel_activation_fn(self, channels, relu_override=False):
        """:meth:`ModelAdapter.channel_activation_fn`, computing only the listed channels where it can.

        A requested layer whose value comes from a plain ``Conv2D`` or ``Dense`` (fused activation ReLU/ReLU6 or
        none) runs that layer with its kernel and bias sliced to the listed output channels, when nothing else
        the function computes reads that layer's full output (another requested name with other channels, a
        later layer). That removes the layer's own forward and input-gradient work for the channels not asked
        for: on ``vgg16_hed`` the last convolution is most of a step for ``block1_conv2`` and about an eighth
        for ``block4_conv3``. Other layers are computed whole and gathered.
        """
        names, indices = self._check_channel_request(channels)
        canonical = [self.resolve(n) for n in names]
        keys = [self._taps[c] for c in canonical]
        steps = self._needed_steps(keys)
        consumed = {k for s in steps for k in s.in_keys}
        by_step = {}  # step index -> positions in names of the taps it produces
        for pos, key in enumerate(keys):
            index = self._producer.get(key)
            if index is not None:
                by_step.setdefault(index, []).append(pos)
        sliced = {}  # step index -> channel indices
        for index, positions in by_step.items():
            step = self._steps[index]
            outputs = set(step.out_keys) | ({step.pre_key} if step.mode == "split" else set())
            same = all(_same_indices(indices[p], indices[positions[0]]) for p in positions)
            if same and not (outputs & consumed) and _sliceable_layer(step):
                sliced[index] = indices[positions[0]]
        sliced_steps = {id(self._steps[i]): idx for i, idx in sliced.items()}
        sliced_names = tuple(n for n, k in zip(names, keys) if self._producer.get(k) in sliced)
        relu_override = relu_override_mode(relu_override)

        def activations(x_t):
            values = self._input_values(x_t)
            for step in steps:
                idx = sliced_steps.get(id(step))
                if idx is None:
                    _run_keras_step(step, values, relu_override)
                else:
                    _run_keras_step_sliced(step, values, relu_override, idx)
            return {n: values[k] if n in sliced_names else tf.gather(values[k], idx, axis=-1)
                    for n, k, idx in zip(names, keys, indices)}

        activations.layer_names = tuple(canonical)
        activations.relu_override = relu_override
        activations.sliced = sliced_names
        return activations

    def _layer_channel_count(self, canonical):
        # the Keras graph's static shapes give the channel count without tracing the model (layers() does,
        # once per adapter: about a second of a render's start-up for vgg16_hed)
        shape = self._tap_static.get(canonical)
        if shape is not None and len(shape) and shape[-1] is not None:
            return int(shape[-1])
        return super()._layer_channel_count(canonical)

    def activation_bytes(self, layer_names, input_shape):
        fn = self.activation_fn(layer_names)
        spec = tf.TensorSpec([int(d) for d in input_shape], tf.float32)
        concrete = tf.function(fn, autograph=False).get_concrete_function(spec)
        return _downstream_bytes(concrete.graph, concrete.inputs[0].op)

    def _compute_layers(self):
        shapes = dict(self._tap_static)
        static_known = self.image_shape is not None and all(
            d is not None for d in tuple(self._tap_static[self._order[0]])[1:])
        if self.image_shape is not None and not static_known and None not in self.image_shape:
            try:
                fn = self.activation_fn(self._order)
                spec = tf.TensorSpec([1, *self.image_shape], tf.float32)
                concrete = tf.function(fn, autograph=False).get_concrete_function(spec)
                shapes = {n: t.shape for n, t in concrete.structured_outputs.items()}
            except Exception:  # noqa: BLE001 - metadata only: fall back to the static (partial) shapes
                shapes = dict(self._tap_static)
        return [_info_from_shape(n, tf.TensorShape(shapes[n]), self._tap_kind[n]) for n in self._order
                if n not in self._unlisted]
