"""The GraphDef adapter: :class:`GraphDefAdapter` for frozen TensorFlow graphs (Lucid's modelzoo format), and
its loaders :func:`load_graphdef` (a ``.pb`` path, bytes or a GraphDef) and :func:`load_saved_model` (a
SavedModel, frozen into a GraphDef and served the same way).

Ops are addressed by name; ``"<relu op>_pre_relu"`` is the input of a ReLU and ``"<concat op>_pre_relu"``
concatenates the pre-ReLU inputs of a concatenation (Lucid's InceptionV1 bottlenecks). The graph is imported
into a ``tf.compat.v1.wrap_function`` truncated to the requested layers; the gradient overrides are the
registered ones of :mod:`lucid_fast.models.tf_overrides`, installed with ``gradient_override_map``.
"""
from __future__ import annotations

import dataclasses
import difflib
import os
import threading

import tensorflow as tf

from lucid_fast.models.protocol import _check_image_shape, _check_value_range
from lucid_fast.models.tf_base import TFModelAdapter, _info_from_shape
from lucid_fast.models.tf_memory import _downstream_bytes
from lucid_fast.models.tf_overrides import (
    _FORCED_RELU6_GRAD_NAME,
    _FORCED_RELU_GRAD_NAME,
    _MAXPOOL_GRAD_NAMES,
    _RELU6_GRAD_NAME,
    _RELU_GRAD_NAME,
    _check_maxpool_grad,
    _register_override_gradients,
    relu_override_mode,
)

__all__ = ["GraphDefAdapter", "load_graphdef", "load_saved_model"]


_GRAPH_LAYER_KINDS = {
    "Placeholder": "input",
    "Conv2D": "conv", "DepthwiseConv2dNative": "conv", "Conv2DBackpropInput": "conv", "Conv3D": "conv",
    "BiasAdd": "bias_add",
    "Relu": "relu", "Relu6": "relu",
    "Elu": "activation", "Selu": "activation", "LeakyRelu": "activation", "Sigmoid": "activation",
    "Tanh": "activation", "Softplus": "activation",
    "MaxPool": "pool", "AvgPool": "pool", "MaxPoolV2": "pool", "Mean": "pool",
    "MatMul": "dense",
    "Concat": "concat", "ConcatV2": "concat",
    "Add": "add", "AddV2": "add",
    "LRN": "norm", "FusedBatchNorm": "norm", "FusedBatchNormV2": "norm", "FusedBatchNormV3": "norm",
    "Softmax": "softmax",
}
_RELU_TYPES = ("Relu", "Relu6")
_CONCAT_TYPES = ("Concat", "ConcatV2")


def _node_input_name(ref):
    """'^a' / 'a:1' / 'a' -> 'a'."""
    return ref.lstrip("^").split(":")[0]


def _extract_sub_graph(graph_def, dest_nodes):
    """The nodes ``dest_nodes`` depend on (data and control inputs), in the original order, with the library."""
    nodes = {n.name: n for n in graph_def.node}
    keep, stack = set(), list(dest_nodes)
    while stack:
        name = stack.pop()
        if name in keep:
            continue
        keep.add(name)
        stack.extend(_node_input_name(ref) for ref in nodes[name].input)
    out = tf.compat.v1.GraphDef()
    out.versions.CopyFrom(graph_def.versions)
    out.library.CopyFrom(graph_def.library)
    out.node.extend(n for n in graph_def.node if n.name in keep)
    return out


class GraphDefAdapter(TFModelAdapter):
    """Adapter for a frozen TensorFlow ``GraphDef`` (Lucid's modelzoo format).

    Names are op names; an op's first output is ``"<op>"`` (Lucid's ``"<op>:0"`` is accepted) and further
    outputs are ``"<op>:1"``, .... Added names:

    * ``"<relu op>_pre_relu"``: the input of a ``Relu``/``Relu6`` op (unless the graph has an op of that name);
    * ``"<concat op>_pre_relu"``: the concatenation with every ReLU'd input replaced by its pre-ReLU input
      (Lucid's InceptionV1 ``mixed4a_pre_relu``);
    * ``"input"``: the model input (unless the graph has an op of that name).

    The graph is imported into a ``tf.compat.v1.wrap_function`` (one per requested layer set and override
    setting, cached), truncated to the ops the requested layers need; the engine's image, mapped into
    ``image_value_range``, replaces the input placeholder through ``input_map``. With ``relu_override`` the
    import runs under ``gradient_override_map({"Relu": ..., "Relu6": ...})`` with the redirected gradient.

    Args:
        graph_def: A ``tf.compat.v1.GraphDef`` with no variables (frozen).
        input_name: The input placeholder's name (``":0"`` accepted). Default: the graph's only floating-point
            ``Placeholder``.
        image_shape: Nominal ``(h, w, c)`` for layer metadata. Default: the placeholder's shape if fully known.
        image_value_range: ``(lo, hi)`` the graph's input expects. Default (0, 1) (Lucid's ``Model`` class
            default was (-1, 1): pass the range your model was trained with).
        name: A display name.
        layer_table: Optional curated list of ``(name, kind)`` or ``(name, kind, channels)`` entries that
            :meth:`layers` reports instead of every layer-like op (entries missing from the graph are left out).
    """

    def __init__(self, graph_def, input_name=None, image_shape=None, image_value_range=(0.0, 1.0),
                 name="graphdef", layer_table=None):
        who = f"GraphDefAdapter({name!r})"
        if not isinstance(graph_def, tf.compat.v1.GraphDef):
            raise ValueError(f"{who}: expected a tf.compat.v1.GraphDef, got {type(graph_def).__name__}")
        graph_def_copy = tf.compat.v1.GraphDef()
        graph_def_copy.CopyFrom(graph_def)
        for node in graph_def_copy.node:
            node.device = ""
        self.graph_def = graph_def_copy
        self.name = name
        self.image_value_range = _check_value_range(image_value_range, who)
        self._nodes = {n.name: n for n in graph_def_copy.node}
        placeholders = [n for n in graph_def_copy.node if n.op in ("Placeholder", "PlaceholderWithDefault")]
        if input_name is None:
            floating = [n for n in placeholders if n.op == "Placeholder"
                        and tf.as_dtype(n.attr["dtype"].type).is_floating]
            if len(floating) != 1:
                raise ValueError(f"{who}: cannot infer the input: the graph has {len(floating)} floating-point "
                                 f"placeholders {[n.name for n in floating]}; pass input_name=")
            input_name = floating[0].name
        input_name = input_name[:-2] if input_name.endswith(":0") else input_name
        if input_name not in self._nodes:
            close = difflib.get_close_matches(input_name, [n.name for n in placeholders] + list(self._nodes), n=5)
            raise ValueError(f"{who}: input_name {input_name!r} is not an op of the graph; closest: {close}")
        self.input_name = input_name
        in_node = self._nodes[input_name]
        dims = None
        if "shape" in in_node.attr and not in_node.attr["shape"].shape.unknown_rank:
            dims = [d.size if d.size >= 0 else None for d in in_node.attr["shape"].shape.dim]
        image_shape = _check_image_shape(image_shape, who)
        if image_shape is None and dims is not None and len(dims) == 4 and None not in dims[1:]:
            image_shape = tuple(dims[1:])
        channels = None
        if dims is not None and len(dims) == 4 and dims[3] is not None:
            channels = dims[3]
        if channels is None:
            channels = image_shape[-1] if image_shape is not None and image_shape[-1] is not None else 3
        if image_shape is not None and image_shape[-1] is not None and image_shape[-1] != channels:
            raise ValueError(f"{who}: image_shape {image_shape} disagrees with the input's {channels} channels")
        self.input_channels = int(channels)
        self.image_shape = image_shape
        self._layer_table = None if layer_table is None else [tuple(e) for e in layer_table]
        self._wrapped = {}
        self._wrapped_lock = threading.Lock()
        self._scan()

    # -- static structure -----------------------------------------------------------------------------------------
    def _scan(self):
        """Op types, output counts and static shapes (one scratch import), and the added names."""
        graph, tensors = self._scratch_import(self.image_shape)
        self._graph_info = graph
        self._op_outputs = {op.name[len("scan/"):]: len(op.outputs) for op in graph.get_operations()
                            if op.name.startswith("scan/")}
        # ops that depend on the input (the "layers" of the graph)
        consumers = {}
        for node in self.graph_def.node:
            for ref in node.input:
                consumers.setdefault(_node_input_name(ref), []).append(node.name)
        dependent, stack = set(), [self.input_name]
        while stack:
            n = stack.pop()
            if n in dependent:
                continue
            dependent.add(n)
            stack.extend(consumers.get(n, ()))
        self._dependent = dependent
        self._added = {}  # added name -> ("pre_relu", relu op) | ("concat_pre_relu", concat op) | ("input",)
        for node in self.graph_def.node:
            if node.name not in dependent:
                continue
            pre = node.name + "_pre_relu"
            if pre in self._nodes:
                continue
            if node.op in _RELU_TYPES:
                self._added[pre] = ("pre_relu", node.name)
            elif node.op in _CONCAT_TYPES:
                values = self._concat_value_refs(node)
                if any(self._nodes.get(_node_input_name(r)) is not None
                       and self._nodes[_node_input_name(r)].op in _RELU_TYPES for r in values):
                    self._added[pre] = ("concat_pre_relu", node.name)
        if "input" not in self._nodes:
            self._added["input"] = ("input",)
        names = []
        for node in self.graph_def.node:
            names.append(node.name)
            for i in range(1, self._op_outputs.get(node.name, 1)):
                names.append(f"{node.name}:{i}")
        names.extend(self._added)
        self._names = names

    @staticmethod
    def _concat_value_refs(node):
        refs = [r for r in node.input if not r.startswith("^")]
        return refs[1:] if node.op == "Concat" else refs[:-1]

    def _scratch_import(self, image_shape):
        """Imports the whole graph into a fresh tf.Graph (for structure and static shapes)."""
        def attempt(shape):
            graph = tf.Graph()
            with graph.as_default():
                x = tf.compat.v1.placeholder(tf.float32, shape, name="scan_input")
                tf.graph_util.import_graph_def(self.graph_def, input_map={self.input_name + ":0": x}, name="scan")
            return graph, x

        if image_shape is not None and None not in image_shape:
            try:
                return attempt([1, *image_shape])
            except (ValueError, tf.errors.InvalidArgumentError):
                pass  # the graph does not accept its nominal size everywhere: shapes stay partial
        try:
            return attempt([None, None, None, self.input_channels])
        except (ValueError, tf.errors.InvalidArgumentError) as exc:
            raise ValueError(f"GraphDefAdapter({self.name!r}): the graph cannot be imported with its input "
                             f"{self.input_name!r} fed an NHWC float32 image: {exc}") from exc

    def _canonical_names(self):
        return self._names

    def _source_ops(self, canonical):
        """The graph ops a canonical name needs."""
        if canonical in self._added:
            spec = self._added[canonical]
            return [self.input_name] if spec[0] == "input" else [spec[1]]
        return [canonical.split(":")[0]]

    def _build_tensor(self, canonical, graph, prefix, x_raw):
        """The tensor of a canonical name in a graph the model was imported into under ``prefix``."""
        if canonical == self.input_name or self._added.get(canonical, (None,))[0] == "input":
            return x_raw
        spec = self._added.get(canonical)
        if spec is None:
            op_name, _, index = canonical.partition(":")
            return graph.get_operation_by_name(f"{prefix}/{op_name}").outputs[int(index or 0)]
        op = graph.get_operation_by_name(f"{prefix}/{spec[1]}")
        if spec[0] == "pre_relu":
            return op.inputs[0]
        inputs = list(op.inputs)
        values, axis = (inputs[1:], inputs[0]) if op.type == "Concat" else (inputs[:-1], inputs[-1])
        values = [v.op.inputs[0] if v.op.type in _RELU_TYPES else v for v in values]
        return tf.concat(values, axis, name=f"{prefix}/{canonical}")

    # -- interface ------------------------------------------------------------------------------------------------
    def activation_fn(self, layer_names, relu_override=False, maxpool_grad=None):
        requested, canonical = self._resolve_all(layer_names)
        maxpool_grad = _check_maxpool_grad(maxpool_grad)
        wrapped = self._wrapped_function(tuple(canonical), relu_override_mode(relu_override), maxpool_grad)

        def activations(x_t):
            # the value-range mapping runs inside the wrapped function, in front of the imported graph
            outputs = wrapped(self._check_input(x_t))
            return dict(zip(requested, outputs))

        activations.layer_names = tuple(canonical)
        activations.relu_override = relu_override_mode(relu_override)
        activations.maxpool_grad = maxpool_grad
        return activations

    def _override_map(self, relu_override, maxpool_grad):
        mapping = {}
        if relu_override == "force":
            mapping.update({"Relu": _FORCED_RELU_GRAD_NAME, "Relu6": _FORCED_RELU6_GRAD_NAME})
        elif relu_override:
            mapping.update({"Relu": _RELU_GRAD_NAME, "Relu6": _RELU6_GRAD_NAME})
        if maxpool_grad is not None:
            mapping["MaxPool"] = _MAXPOOL_GRAD_NAMES[maxpool_grad]
        if mapping:
            _register_override_gradients()
        return mapping

    def _wrapped_function(self, canonical, relu_override, maxpool_grad=None):
        key = (canonical, relu_override, maxpool_grad)
        with self._wrapped_lock:
            if key in self._wrapped:
                return self._wrapped[key]
        dest = sorted({op for c in canonical for op in self._source_ops(c)})
        sub_graph = _extract_sub_graph(self.graph_def, dest)
        lo, hi = self.image_value_range
        input_ref = self.input_name + ":0"
        overrides = self._override_map(relu_override, maxpool_grad)

        def body(x):
            graph = tf.compat.v1.get_default_graph()
            x_raw = x if (lo, hi) == (0.0, 1.0) else lo + x * (hi - lo)
            with graph.gradient_override_map(overrides):
                tf.graph_util.import_graph_def(sub_graph, input_map={input_ref: x_raw}, name="model")
            return [tf.identity(self._build_tensor(c, graph, "model", x_raw)) for c in canonical]

        spec = tf.TensorSpec([None, None, None, self.input_channels], tf.float32)
        with tf.init_scope():
            wrapped = tf.compat.v1.wrap_function(body, [spec])
        with self._wrapped_lock:
            self._wrapped.setdefault(key, wrapped)
            return self._wrapped[key]

    def _splice_node(self, splice):
        """The graph node whose first output a spliced layer name stands for."""
        spec = self._added.get(splice)
        if spec is not None and spec[0] == "concat_pre_relu":
            raise ValueError(f"{self.name}: {splice!r} is assembled from several ReLU inputs and cannot be "
                             f"replaced; splice at {spec[1]!r} or at one of its inputs instead")
        if spec is not None and spec[0] == "input":
            return self.input_name
        if spec is not None:  # pre_relu: the ReLU's input tensor
            ref = [r for r in self._nodes[spec[1]].input if not r.startswith("^")][0]
        else:
            ref = splice
        name, _, index = ref.partition(":")
        if index not in ("", "0"):
            raise ValueError(f"{self.name}: {splice!r} is output {index} of op {name!r}; only first outputs can "
                             "be replaced")
        return name

    def spliced_fn(self, layer, layer_names, relu_override=False, maxpool_grad=None):
        splice = self.resolve(layer)
        requested, canonical = self._resolve_all(layer_names)
        maxpool_grad = _check_maxpool_grad(maxpool_grad)
        splice_node = self._splice_node(splice)
        dest = sorted({op for c in canonical for op in self._source_ops(c)})
        # the ops the outputs need when the spliced node's value is given; the node itself becomes a placeholder
        keep, stack, reached = set(), list(dest), False
        while stack:
            name = stack.pop()
            if name == splice_node:
                reached = True
                continue
            if name in keep:
                continue
            keep.add(name)
            stack.extend(_node_input_name(r) for r in self._nodes[name].input)
        needs_input = self.input_name in keep
        for c in canonical:
            if not reached or not self._depends_on(self._source_ops(c), splice_node):
                raise ValueError(f"{self.name}: layer {c!r} does not depend on {splice!r}, so it cannot be "
                                 f"computed from {splice!r}'s activations (is {splice!r} after it in the model?)")
        sub_graph = tf.compat.v1.GraphDef()
        sub_graph.versions.CopyFrom(self.graph_def.versions)
        sub_graph.library.CopyFrom(self.graph_def.library)
        for node in self.graph_def.node:
            if node.name in keep:
                sub_graph.node.add().CopyFrom(node)
            elif node.name == splice_node:
                holder = sub_graph.node.add()
                holder.name, holder.op = node.name, "Placeholder"
                holder.attr["dtype"].type = tf.float32.as_datatype_enum
        lo, hi = self.image_value_range
        input_ref = self.input_name + ":0"
        overrides = self._override_map(relu_override_mode(relu_override), maxpool_grad)

        def body(x, acts):
            graph = tf.compat.v1.get_default_graph()
            input_map = {splice_node + ":0": acts}
            x_raw = None
            if needs_input and splice_node != self.input_name:
                x = tf.broadcast_to(x, tf.concat([tf.shape(acts)[:1], tf.shape(x)[1:]], 0))
                x_raw = x if (lo, hi) == (0.0, 1.0) else lo + x * (hi - lo)
                input_map[input_ref] = x_raw
            with graph.gradient_override_map(overrides):
                tf.graph_util.import_graph_def(sub_graph, input_map=input_map, name="model")
            return [tf.identity(self._build_tensor(c, graph, "model", x_raw)) for c in canonical]

        specs = [tf.TensorSpec([None, None, None, self.input_channels], tf.float32), tf.TensorSpec(None, tf.float32)]
        with tf.init_scope():
            wrapped = tf.compat.v1.wrap_function(body, specs)

        def activations(x_t, acts_t):
            if needs_input and x_t is None:
                raise ValueError(f"{self.name}: computing {canonical} from {splice!r} needs the input image "
                                 "too (part of the model bypasses the layer); pass x_t")
            x_in = self._check_input(x_t) if x_t is not None else tf.zeros([1, 1, 1, self.input_channels])
            return dict(zip(requested, wrapped(x_in, tf.convert_to_tensor(acts_t, tf.float32))))

        activations.layer_names = tuple(canonical)
        activations.needs_input = needs_input
        activations.relu_override = relu_override_mode(relu_override)
        activations.maxpool_grad = maxpool_grad
        return activations

    def _depends_on(self, ops, target):
        seen, stack = set(), list(ops)
        while stack:
            name = stack.pop()
            if name == target:
                return True
            if name in seen or name not in self._nodes:
                continue
            seen.add(name)
            stack.extend(_node_input_name(r) for r in self._nodes[name].input)
        return False

    def activation_bytes(self, layer_names, input_shape):
        _, canonical = self._resolve_all(layer_names)
        dest = sorted({op for c in canonical for op in self._source_ops(c)})
        sub_graph = _extract_sub_graph(self.graph_def, dest)
        graph = tf.Graph()
        with graph.as_default():
            x = tf.compat.v1.placeholder(tf.float32, [int(d) for d in input_shape], name="estimate_input")
            tf.graph_util.import_graph_def(sub_graph, input_map={self.input_name + ":0": x}, name="estimate")
        return _downstream_bytes(graph, x.op)

    def _compute_layers(self):
        graph = self._graph_info
        if graph is None:
            graph, _ = self._scratch_import(self.image_shape)
        self._graph_info = None  # layers() caches the result: the scratch copy of the graph is no longer needed
        x_raw = graph.get_tensor_by_name("scan_input:0")

        def info(name, kind, channels=None):
            with graph.as_default():
                tensor = self._build_tensor(name, graph, "scan", x_raw)
            result = _info_from_shape(name, tensor.shape, kind)
            if result.channels is None and channels is not None:
                result = dataclasses.replace(result, channels=int(channels))
            return result

        out = []
        if self._layer_table is not None:
            known = self._name_set()
            for entry in self._layer_table:
                name, kind = entry[0], entry[1]
                if name in known:
                    out.append(info(name, kind, entry[2] if len(entry) > 2 else None))
            return out
        for node in self.graph_def.node:
            if node.name == self.input_name:
                out.append(info(node.name, "input"))
                continue
            kind = _GRAPH_LAYER_KINDS.get(node.op)
            if kind is None or node.name not in self._dependent or kind == "input":
                continue
            out.append(info(node.name, kind))
            pre = node.name + "_pre_relu"
            if pre in self._added:
                out.append(info(pre, "pre_relu"))
        return out


def load_graphdef(path_or_graph_def, input_name=None, image_shape=None, image_value_range=(0.0, 1.0),
                  name=None, layer_table=None):
    """A :class:`GraphDefAdapter` for a frozen GraphDef given as a ``.pb`` path, bytes, or a GraphDef."""
    if isinstance(path_or_graph_def, tf.compat.v1.GraphDef):
        graph_def = path_or_graph_def
        name = name or "graphdef"
    else:
        if isinstance(path_or_graph_def, (bytes, bytearray)):
            data = bytes(path_or_graph_def)
            name = name or "graphdef"
        else:
            path = os.fspath(path_or_graph_def)
            with open(path, "rb") as fh:
                data = fh.read()
            name = name or os.path.splitext(os.path.basename(path))[0]
        graph_def = tf.compat.v1.GraphDef()
        try:
            graph_def.ParseFromString(data)
        except Exception as exc:  # noqa: BLE001 - protobuf raises DecodeError
            raise ValueError(f"load_graphdef: {name!r} is not a binary GraphDef protobuf: {exc}") from exc
        if not graph_def.node:
            raise ValueError(f"load_graphdef: {name!r} holds no graph nodes (is it a binary GraphDef?)")
    return GraphDefAdapter(graph_def, input_name=input_name, image_shape=image_shape,
                           image_value_range=image_value_range, name=name, layer_table=layer_table)


def load_saved_model(path, signature=None, input_name=None, image_shape=None, image_value_range=(0.0, 1.0),
                     name=None):
    """Loads a SavedModel, freezes its variables into a GraphDef and returns a :class:`GraphDefAdapter`.

    Args:
        path: The SavedModel directory.
        signature: A signature key; default ``"serving_default"`` if present, else the object's ``__call__``
            (which must have an input signature).
        input_name: The input placeholder of the frozen graph (default: the only floating-point input).
        image_shape, image_value_range, name: As :class:`GraphDefAdapter`.
    """
    from tensorflow.python.framework.convert_to_constants import (  # noqa: PLC0415
        convert_variables_to_constants_v2,
    )

    path = os.fspath(path)
    who = f"load_saved_model({path!r})"
    loaded = tf.saved_model.load(path)
    signatures = dict(getattr(loaded, "signatures", {}) or {})
    if signature is not None:
        if signature not in signatures:
            raise ValueError(f"{who}: no signature {signature!r}; available: {sorted(signatures)}")
        concrete = signatures[signature]
    elif "serving_default" in signatures:
        concrete = signatures["serving_default"]
    elif len(signatures) == 1:
        concrete = next(iter(signatures.values()))
    else:
        call = getattr(loaded, "__call__", None)
        try:
            concrete = call.get_concrete_function()
        except Exception as exc:  # noqa: BLE001
            raise ValueError(f"{who}: no serving signature and no __call__ with an input signature "
                             f"(signatures: {sorted(signatures)}); save with signatures= or an input_signature"
                             ) from exc
    frozen = convert_variables_to_constants_v2(concrete)
    graph_def = frozen.graph.as_graph_def()
    if input_name is None:
        floating = [t for t in frozen.inputs if t.dtype.is_floating]
        if len(floating) != 1:
            raise ValueError(f"{who}: the signature has {len(floating)} floating-point inputs "
                             f"{[t.name for t in floating]}; pass input_name=")
        input_name = floating[0].op.name
    return GraphDefAdapter(graph_def, input_name=input_name, image_shape=image_shape,
                           image_value_range=image_value_range,
                           name=name or os.path.basename(os.path.normpath(path)))
