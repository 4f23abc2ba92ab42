"""Model adapters: one interface from which the render engine gets activations of any supported model.

The engine computes, inside one ``tf.function`` per step, a model's activations at the layers an objective
needs, the objective, and the gradient with respect to the input image. Everything model-specific lives here:

    adapter = load_model(model)                       # a Keras model, a SavedModel dir, a frozen .pb, a zoo name
    f = adapter.activation_fn(["block4_conv3"], relu_override=True)
    acts = f(x_t)                                     # {"block4_conv3": tensor}; x_t: NHWC float32 RGB in [0, 1]

Three adapters share the :class:`ModelAdapter` interface:

* :class:`KerasAdapter` walks a functional (or Sequential) Keras 3 model node by node and re-runs it with its
  own activation handling: layers with a fused activation (``Conv2D(activation="relu")``) expose both
  ``"<name>"`` and ``"<name>_pre_relu"``; only the nodes the requested layers depend on are run.
* :class:`GraphDefAdapter` imports a frozen ``GraphDef`` (Lucid's modelzoo format) into a
  ``tf.compat.v1.wrap_function``; ops are addressed by name, ``"<relu op>_pre_relu"`` is the input of a ReLU,
  and ``"<concat op>_pre_relu"`` concatenates the pre-ReLU inputs of a concatenation (Lucid's InceptionV1
  bottlenecks). A SavedModel is frozen into a ``GraphDef`` (:func:`load_saved_model`) and served the same way.

The ReLU gradient override (Lucid's "redirected ReLU") is implemented once, in :func:`redirected_relu_grad`, and
used by both: as a ``tf.custom_gradient`` in the Keras adapter and as a registered gradient (through
``gradient_override_map``) in the GraphDef adapter.
"""
from __future__ import annotations

import dataclasses
import difflib
import os
import threading
from contextlib import contextmanager

import numpy as np
import tensorflow as tf

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


# ---------------------------------------------------------------------------------------------------------------
# Lucid's redirected ReLU gradient
# ---------------------------------------------------------------------------------------------------------------

def redirected_relu_grad(x, grad, upper=None):
    """The redirected ReLU (or ReLU6) gradient: Lucid's override, for an engine that *maximizes* its objective.

    A ReLU blocks the gradient where its input is negative, so a unit that no image in the batch activates yet
    gives an optimizer nothing to follow. Lucid's override lets the gradient through in that case, except where
    following it would push the input further into the blocked region. The check is done per batch item: where
    the ordinary gradient of an item is not entirely zero, that item keeps the ordinary gradient.

    Lucid differentiated ``-objective`` (TF1 optimizers minimize); lucid_fast differentiates the objective it
    maximizes, so with ``grad = d(objective)/d(relu output)`` a step moves the input along ``+grad`` and "pushes
    lower" means ``grad < 0``.

    Args:
        x: The ReLU's input, a float tensor of rank >= 1 whose first axis is the batch.
        grad: The upstream gradient, same shape as ``x``.
        upper: ``None`` for ReLU, ``6.0`` for ReLU6 (then inputs above ``upper`` are blocked as well, and the
            redirected gradient only lets through what pushes them down).

    Returns:
        The gradient with respect to ``x``, same shape:

        * ordinary part: ``grad`` where ``x >= 0`` (and ``x <= upper``), else 0 — as in Lucid, an input exactly
          at 0 (or at ``upper``) passes the gradient;
        * redirected part: ``grad`` except 0 where ``x < 0 and grad < 0`` (and where ``x > upper and grad > 0``);
        * per batch item, the ordinary part if any of its entries is non-zero, else the redirected part.
    """
    x = tf.convert_to_tensor(x)
    grad = tf.convert_to_tensor(grad, dtype=x.dtype)
    zeros = tf.zeros_like(grad)
    blocked = x < 0
    if upper is not None:
        blocked = tf.logical_or(blocked, x > upper)
    ordinary = tf.where(blocked, zeros, grad)
    batch = tf.shape(grad)[0]
    flat = tf.reshape(ordinary, [batch, -1])
    # "not entirely zero" as max > 0 or min < 0: two reductions, cheaper than a boolean pass over the tensor
    item_passes = tf.logical_or(tf.reduce_max(flat, axis=1) > 0, tf.reduce_min(flat, axis=1) < 0)

    def with_redirection():
        wrong_way = tf.logical_and(x < 0, grad < 0)
        if upper is not None:
            wrong_way = tf.logical_or(wrong_way, tf.logical_and(x > upper, grad > 0))
        redirected = tf.where(wrong_way, zeros, grad)
        passes = tf.reshape(item_passes, tf.concat([[batch], tf.ones([tf.rank(grad) - 1], tf.int32)], 0))
        return tf.where(passes, ordinary, redirected)

    # Usually every item passes (all but the first steps of a render): then skip the redirected branch.
    return tf.cond(tf.reduce_all(item_passes), lambda: ordinary, with_redirection)


@tf.custom_gradient
def redirected_relu(x):
    """``tf.nn.relu(x)`` whose gradient is :func:`redirected_relu_grad`."""
    def grad(upstream):
        return redirected_relu_grad(x, upstream)
    return tf.nn.relu(x), grad


@tf.custom_gradient
def redirected_relu6(x):
    """``tf.nn.relu6(x)`` whose gradient is :func:`redirected_relu_grad` with ``upper=6``."""
    def grad(upstream):
        return redirected_relu_grad(x, upstream, upper=6.0)
    return tf.nn.relu6(x), grad


# ---------------------------------------------------------------------------------------------------------------
# Attribution's MaxPool gradient overrides (Lucid's AttrSpatial notebook)
# ---------------------------------------------------------------------------------------------------------------

MAXPOOL_GRADS = (None, "smooth", "smooth_blur")
SMOOTH_MAXPOOL_EPSILON = 1e-2  # Lucid AttrSpatial's make_MaxSmoothPoolGrad: avg(x^2) / (1e-2 + avg(|x|))
GRAD_BLUR_WEIGHTS = (0.5, 0.25)  # Lucid AttrSpatial's blur_hack: weights of the 4 edge and 4 corner neighbours


def _check_maxpool_grad(maxpool_grad):
    if maxpool_grad not in MAXPOOL_GRADS:
        raise ValueError(f"maxpool_grad must be one of {list(MAXPOOL_GRADS)}, got {maxpool_grad!r}")
    return maxpool_grad


def blur_gradient(grad, w_edge=GRAD_BLUR_WEIGHTS[0], w_corner=GRAD_BLUR_WEIGHTS[1]):
    """Lucid's "blur hack" on an NHWC tensor: ``(1 - w_edge - w_corner) * g + w_edge * (mean of the 4 edge
    neighbours) + w_corner * (mean of the 4 corner neighbours)``, zero outside the map."""
    p = tf.pad(grad, [(0, 0), (1, 1), (1, 1), (0, 0)])
    edges = (p[:, 2:, 1:-1] + p[:, :-2, 1:-1] + p[:, 1:-1, 2:] + p[:, 1:-1, :-2]) / 4.0
    corners = (p[:, 2:, 2:] + p[:, 2:, :-2] + p[:, :-2, 2:] + p[:, :-2, :-2]) / 4.0
    return (1.0 - w_edge - w_corner) * grad + w_edge * edges + w_corner * corners


def smooth_maxpool_grad(x, grad, ksize, strides, padding, blur=False):
    """The smooth MaxPool gradient of Lucid's AttrSpatial notebook, for attribution.

    A max-pool passes its whole gradient to the one input that won each window, which makes attribution maps
    checkered and jumpy. This gradient is instead the gradient of the relaxation
    ``avg_pool(x**2) / (eps + avg_pool(|x|))`` (each window's inputs weighted by their size), evaluated at the
    pool's input ``x`` with the upstream ``grad``; with ``blur`` it is then blurred by :func:`blur_gradient`
    (Lucid's second, less principled fix for checkerboard artifacts). Both hide part of what the model does:
    use them to read attribution maps, not to study the pooling itself.

    Args:
        x: The pool's NHWC input.
        grad: The gradient with respect to the pool's output.
        ksize, strides: The pool's window and strides (ints or 2-sequences).
        padding: ``"SAME"`` or ``"VALID"``.
        blur: Also apply :func:`blur_gradient`.

    Returns:
        The gradient with respect to ``x``.
    """
    x = tf.convert_to_tensor(x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        relaxed = tf.nn.avg_pool2d(x * x, ksize, strides, padding) / (
            SMOOTH_MAXPOOL_EPSILON + tf.nn.avg_pool2d(tf.abs(x), ksize, strides, padding))
    out = tape.gradient(relaxed, x, output_gradients=tf.convert_to_tensor(grad, dtype=x.dtype))
    return blur_gradient(out) if blur else out


def smooth_maxpool(x, ksize, strides, padding, blur=False):
    """``tf.nn.max_pool2d(x, ...)`` whose gradient is :func:`smooth_maxpool_grad`."""
    @tf.custom_gradient
    def pool(x_in):
        def grad(upstream):
            return smooth_maxpool_grad(x_in, upstream, ksize, strides, padding, blur=blur)
        return tf.nn.max_pool2d(x_in, ksize, strides, padding), grad
    return pool(x)


_RELU_GRAD_NAME = "LucidFastRedirectedRelu"
_RELU6_GRAD_NAME = "LucidFastRedirectedRelu6"
_MAXPOOL_GRAD_NAMES = {"smooth": "LucidFastSmoothMaxPool", "smooth_blur": "LucidFastSmoothBlurMaxPool"}
_registered = False
_register_lock = threading.Lock()


def _register_override_gradients():
    """Registers the redirected gradients for ``gradient_override_map`` (once per process)."""
    global _registered
    with _register_lock:
        if _registered:
            return

        @tf.RegisterGradient(_RELU_GRAD_NAME)
        def _relu_grad(op, grad):  # noqa: ANN001 - TF's gradient function signature
            return redirected_relu_grad(op.inputs[0], grad)

        @tf.RegisterGradient(_RELU6_GRAD_NAME)
        def _relu6_grad(op, grad):  # noqa: ANN001
            return redirected_relu_grad(op.inputs[0], grad, upper=6.0)

        def maxpool_grad_fn(blur):
            def _maxpool_grad(op, grad):  # noqa: ANN001
                if op.get_attr("data_format") not in (b"NHWC", "NHWC"):
                    raise ValueError(f"smooth MaxPool gradient: only NHWC pools are supported, op {op.name!r} "
                                     f"is {op.get_attr('data_format')}")
                padding = op.get_attr("padding")
                padding = padding.decode() if isinstance(padding, bytes) else padding
                return smooth_maxpool_grad(op.inputs[0], grad, list(op.get_attr("ksize")),
                                           list(op.get_attr("strides")), padding, blur=blur)
            return _maxpool_grad

        tf.RegisterGradient(_MAXPOOL_GRAD_NAMES["smooth"])(maxpool_grad_fn(False))
        tf.RegisterGradient(_MAXPOOL_GRAD_NAMES["smooth_blur"])(maxpool_grad_fn(True))
        _registered = True


# ---------------------------------------------------------------------------------------------------------------
# The interface
# ---------------------------------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class LayerInfo:
    """What a model exposes at one tap.

    Attributes:
        name: The canonical layer name, as accepted by :meth:`ModelAdapter.activation_fn`.
        channels: The size of the last axis (channels, or units of a dense layer); None if unknown.
        spatial: ``(height, width)`` at the model's nominal input size for NHWC activations, else None.
        kind: ``"input"``, ``"conv"``, ``"pre_relu"``, ``"relu"``, ``"pool"``, ``"dense"``, ``"concat"``, ...
    """

    name: str
    channels: int | None
    spatial: tuple | None
    kind: str


class ModelAdapter:
    """Base class of the adapters: what the render engine calls to get activations from a model.

    Attributes:
        name: A display name.
        input_channels: The channel count the model's input expects (3 for RGB).
        image_shape: The nominal ``(h, w, c)`` input size, or None if the model has none.
        image_value_range: Lucid's ``(lo, hi)``: the range of the model's raw input. The adapter maps the
            engine's images in [0, 1] linearly onto it (``lo + x * (hi - lo)``).
        labels: The class names of a classifier, in logit order (Lucid's ``model.labels``), or None. Set it on
            an adapter of your own classifier to name classes in :mod:`lucid_fast.attribution`.
        logits_layer: The layer holding the classifier's pre-softmax logits ``(N, classes)``, or None.
    """

    name = "model"
    input_channels = 3
    image_shape = None
    image_value_range = (0.0, 1.0)
    labels = None
    logits_layer = None

    # -- to be provided by subclasses ---------------------------------------------------------------------------
    def _canonical_names(self):
        """All names :meth:`resolve` returns (a list, in model order)."""
        raise NotImplementedError

    def _compute_layers(self):
        raise NotImplementedError

    def activation_fn(self, layer_names, relu_override=False, maxpool_grad=None):
        """Returns ``f(x_t) -> {name: activation tensor}`` for each requested name.

        Args:
            layer_names: Layer names (or one name); Lucid's ``":0"`` suffix is accepted.
            relu_override: Use Lucid's redirected ReLU gradient (:func:`redirected_relu_grad`) for every
                ReLU/ReLU6 on the path to the requested layers.
            maxpool_grad: None (the ordinary gradient), ``"smooth"`` or ``"smooth_blur"``: the gradient of every
                2-D max-pool on the path becomes :func:`smooth_maxpool_grad` (without or with the blur), as in
                Lucid's AttrSpatial notebook. For attribution; renders keep the default.

        Returns:
            A function of ``x_t``, an NHWC float32 RGB image batch in [0, 1] of any batch size, height and width,
            returning a dict keyed by the names as given. It computes only what the requested layers need, can
            be traced inside ``tf.function``, and is differentiable with respect to ``x_t``.

        Raises:
            ValueError: an unknown layer name (naming the closest ones); from ``f``: an input that is not a
                rank-4 floating tensor with ``input_channels`` channels.
        """
        raise NotImplementedError

    def channel_activation_fn(self, channels, relu_override=False):
        """Like :meth:`activation_fn`, for objectives that read only some channels of their layers.

        Args:
            channels: ``{layer name: channel indices}``; the indices are a sequence of ints or a 1-D int32
                tensor (its values are not checked, as with ``tf.gather``).
            relu_override: As in :meth:`activation_fn`.

        Returns:
            ``f(x_t) -> {name: activation tensor}`` whose values equal
            ``tf.gather(activation_fn(names)(x_t)[name], indices, axis=-1)``: the listed channels, in the given
            order, along the last axis. This base version computes the whole layer and gathers; an adapter that
            can do better (:class:`KerasAdapter`: a convolution or dense layer at the end of the path computes
            only the listed output channels, which saves that layer's forward and backward work) overrides it.
            ``f.sliced`` names the layers computed that way.

        Raises:
            ValueError: an unknown layer, an empty ``channels``, or an int index outside the layer's channels.
        """
        names, indices = self._check_channel_request(channels)
        full = self.activation_fn(names, relu_override=relu_override)

        def activations(x_t):
            acts = full(x_t)
            return {n: tf.gather(acts[n], idx, axis=-1) for n, idx in zip(names, indices)}

        activations.layer_names = full.layer_names
        activations.relu_override = full.relu_override
        activations.sliced = ()
        return activations

    def _check_channel_request(self, channels):
        """``channels`` -> (names, indices): names as given, indices as int lists or int32 tensors."""
        if not isinstance(channels, dict) or not channels:
            raise ValueError(f"{self.name}: channels must be a non-empty dict {{layer name: channel indices}}, "
                             f"got {channels!r}")
        names, indices = list(channels), []
        for name in names:
            canon = self.resolve(name)
            idx = channels[name]
            if isinstance(idx, (tf.Tensor, tf.Variable)):
                if idx.shape.rank != 1 or not idx.dtype.is_integer:
                    raise ValueError(f"{self.name}: the channels of {name!r} must be a 1-D integer tensor, got "
                                     f"{idx.dtype.name} of shape {idx.shape}")
                indices.append(idx)
                continue
            try:
                ok = all(not isinstance(c, bool) and int(c) == c for c in idx)
                idx = [int(c) for c in idx]
            except (TypeError, ValueError):
                ok = False
            if not ok or not idx:
                raise ValueError(f"{self.name}: the channels of {name!r} must be a non-empty sequence of ints, "
                                 f"got {channels[name]!r}")
            n = self._layer_channel_count(canon)
            bad = [c for c in idx if c < 0 or (n is not None and c >= n)]
            if bad:
                raise ValueError(f"{self.name}: channel(s) {bad} of {name!r} are outside its {n} channels "
                                 f"(valid: 0..{'n-1' if n is None else n - 1})")
            indices.append(idx)
        return names, indices

    def _layer_channel_count(self, canonical):
        for info in self.layers():
            if info.name == canonical:
                return info.channels
        return None

    def spliced_fn(self, layer, layer_names, relu_override=False, maxpool_grad=None):
        """Returns ``f(x_t, acts_t) -> {name: tensor}``: the requested layers computed with the activations of
        ``layer`` replaced by ``acts_t`` (Lucid's ``feed_dict={T(layer): acts}``), e.g. to evaluate a class
        logit along a path of scaled activations.

        ``acts_t`` may hold a batch of B activations for one image ``x_t`` (batch 1): parts of the model that
        do not depend on ``layer`` but join the requested layers (a residual connection around ``layer``)
        are computed from ``x_t`` and broadcast to B. ``x_t`` may be None when nothing bypasses ``layer``;
        ``f.needs_input`` says whether it does. Arguments as :meth:`activation_fn`.

        Raises:
            ValueError: an unknown layer, or a requested layer that does not depend on ``layer``.
        """
        raise NotImplementedError

    # -- shared ---------------------------------------------------------------------------------------------------
    def layers(self):
        """The model's taps, in model order, as a list of :class:`LayerInfo` (computed once)."""
        if getattr(self, "_layers_cache", None) is None:
            self._layers_cache = list(self._compute_layers())
        return list(self._layers_cache)

    def layer_names(self):
        """The names of :meth:`layers`."""
        return [info.name for info in self.layers()]

    def resolve(self, name):
        """Returns the canonical name of a layer.

        Accepts the canonical name, the name with Lucid's ``":0"`` (or ``"import/"`` prefix), and, for graphs
        with scoped op names, a unique trailing part after a ``/`` (``"conv1/Relu"`` for
        ``"model/conv1/Relu"``).

        Raises:
            ValueError: the name is unknown or ambiguous; the message lists the closest names.
        """
        if not isinstance(name, str):
            raise ValueError(f"{self.name}: a layer name must be a string, got {type(name).__name__} {name!r}")
        names = self._canonical_names()
        known = self._name_set()
        candidates = [name.strip()]
        if candidates[0].endswith(":0"):
            candidates.append(candidates[0][:-2])
        for c in list(candidates):
            if c.startswith("import/"):
                candidates.append(c[len("import/"):])
        for c in candidates:
            if c in known:
                return c
        suffix_hits = sorted({n for c in candidates for n in names if n.endswith("/" + c)})
        if len(suffix_hits) == 1:
            return suffix_hits[0]
        key = candidates[-1]
        msg = f"{self.name}: unknown layer {name!r}."
        if len(suffix_hits) > 1:
            msg = f"{self.name}: layer name {name!r} is ambiguous; it matches {suffix_hits[:8]}."
        else:
            close = difflib.get_close_matches(key, names, n=6, cutoff=0.5)
            # scoped op names ("model/conv1/Relu"): also compare against their trailing parts
            tails = {}
            for n in names:
                parts = n.split("/")
                for k in range(1, min(len(parts), 3)):
                    tails.setdefault("/".join(parts[-k:]), n)
            for tail in difflib.get_close_matches(key, list(tails), n=6, cutoff=0.5):
                if tails[tail] not in close:
                    close.append(tails[tail])
            close = close[:8]
            if close:
                msg += f" Closest names: {close}."
        msg += (" List all layers with model.layers() (or lucid_fast.modelzoo.layer_info(model)); "
                f"this model has {len(names)} names.")
        raise ValueError(msg)

    def activation_bytes(self, layer_names, input_shape):
        """Bytes of every floating tensor the forward pass to ``layer_names`` computes on an input of
        ``input_shape`` (NHWC, fully known): the raw material of :func:`estimate_step_bytes`.

        Raises:
            ValueError (or a TF shape error): the model cannot run on an input of that shape.
        """
        raise NotImplementedError

    def _name_set(self):
        if getattr(self, "_name_set_cache", None) is None:
            self._name_set_cache = frozenset(self._canonical_names())
        return self._name_set_cache

    def _resolve_all(self, layer_names):
        if isinstance(layer_names, str):
            layer_names = [layer_names]
        layer_names = list(layer_names)
        if not layer_names:
            raise ValueError(f"{self.name}: activation_fn needs at least one layer name")
        return layer_names, [self.resolve(n) for n in layer_names]

    def _map_input(self, x_t):
        """Checks the engine's image batch and maps it from [0, 1] into ``image_value_range``."""
        x_t = self._check_input(x_t)
        lo, hi = (float(v) for v in self.image_value_range)
        if (lo, hi) == (0.0, 1.0):
            return x_t
        return lo + x_t * (hi - lo)

    def _check_input(self, x_t):
        """The engine's image batch as float32, after checking it is NHWC with ``input_channels`` channels."""
        x_t = tf.convert_to_tensor(x_t)
        if not x_t.dtype.is_floating:
            raise ValueError(f"{self.name}: the input image must be a floating tensor, got dtype {x_t.dtype.name}")
        if x_t.dtype != tf.float32:
            x_t = tf.cast(x_t, tf.float32)
        if x_t.shape.rank != 4:
            raise ValueError(f"{self.name}: the input image must be NHWC (rank 4), got shape {x_t.shape}")
        channels = x_t.shape[-1]
        if channels is None:
            raise ValueError(f"{self.name}: the input's channel dimension must be static "
                             f"(expected {self.input_channels}), got shape {x_t.shape}")
        if self.input_channels is not None and channels != self.input_channels:
            raise ValueError(f"{self.name}: the model expects {self.input_channels} input channels, "
                             f"got an image with {channels} (shape {x_t.shape})"
                             f"{_channel_conversion_hint(channels, self.input_channels)}")
        return x_t

    def __repr__(self):
        return (f"<{type(self).__name__} {self.name!r} input_channels={self.input_channels} "
                f"image_shape={self.image_shape} image_value_range={self.image_value_range}>")


def _channel_conversion_hint(got, want):
    """How to turn a ``got``-channel image into a ``want``-channel one, for error messages."""
    if got == 3 and want == 1:
        return ("; convert RGB to grayscale first, e.g. (image @ [0.299, 0.587, 0.114])[..., None] "
                "(lucid_fast.modelzoo.fer_emotion.face_input does it for faces)")
    if got == 1 and want == 3:
        return "; convert grayscale to RGB first, e.g. np.repeat(image, 3, axis=-1)"
    if got == 4 and want == 3:
        return "; drop the alpha channel first (image[..., :3]) or composite it over a background"
    return ""


def _check_value_range(image_value_range, who):
    try:
        lo, hi = (float(v) for v in image_value_range)
    except (TypeError, ValueError):
        raise ValueError(f"{who}: image_value_range must be a pair (lo, hi), got {image_value_range!r}") from None
    if not (np.isfinite(lo) and np.isfinite(hi)) or hi <= lo:
        raise ValueError(f"{who}: image_value_range must be finite with lo < hi, got {image_value_range!r}")
    return (lo, hi)


def _default_value_range(image_value_range, input_dtype, who):
    """image_value_range as given, else (0, 1) for a floating input and the dtype's range for an unsigned one."""
    if image_value_range is not None:
        return image_value_range
    if input_dtype.is_floating:
        return (0.0, 1.0)
    if input_dtype.is_integer and input_dtype.is_unsigned:
        return (0.0, float(input_dtype.max))
    raise ValueError(f"{who}: the model's input has dtype {input_dtype.name}; pass image_value_range=(lo, hi), "
                     f"the range of the values the model was trained on")


def _check_image_shape(image_shape, who):
    if image_shape is None:
        return None
    try:
        shape = tuple(None if d is None else int(d) for d in image_shape)
    except (TypeError, ValueError):
        raise ValueError(f"{who}: image_shape must be (h, w, c), got {image_shape!r}") from None
    if len(shape) != 3:
        raise ValueError(f"{who}: image_shape must be (h, w, c), got {image_shape!r}")
    return shape


def _info_from_shape(name, shape, kind):
    shape = tf.TensorShape(shape)
    if shape.rank is None or shape.rank == 0:
        return LayerInfo(name, None, None, kind)
    channels = shape[-1]
    spatial = None
    if shape.rank == 4 and shape[1] is not None and shape[2] is not None:
        spatial = (int(shape[1]), int(shape[2]))
    return LayerInfo(name, None if channels is None else int(channels), spatial, kind)


# ---------------------------------------------------------------------------------------------------------------
# Keras
# ---------------------------------------------------------------------------------------------------------------

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


class KerasAdapter(ModelAdapter):
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

    def activation_fn(self, layer_names, relu_override=False, maxpool_grad=None):
        requested, canonical = self._resolve_all(layer_names)
        keys = [self._taps[c] for c in canonical]
        steps = self._needed_steps(keys)
        relu_override = bool(relu_override)
        maxpool_grad = _check_maxpool_grad(maxpool_grad)
        input_key, input_dtype = self._input_key, self._input_dtype

        def activations(x_t):
            x_raw = self._map_input(x_t)
            if x_raw.dtype != input_dtype:
                x_raw = tf.cast(x_raw, input_dtype)
            values = {input_key: x_raw}
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
        relu_override = bool(relu_override)
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
        relu_override = bool(relu_override)
        input_key, input_dtype = self._input_key, self._input_dtype

        def activations(x_t):
            x_raw = self._map_input(x_t)
            if x_raw.dtype != input_dtype:
                x_raw = tf.cast(x_raw, input_dtype)
            values = {input_key: x_raw}
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


def _keras_activation(step, pre, relu_override):
    """The fused activation of a "split" step applied to its pre-activation value."""
    if relu_override and step.act_kind == "relu":
        return redirected_relu(pre)
    if relu_override and step.act_kind == "relu6":
        return redirected_relu6(pre)
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
        values[step.out_keys[0]] = redirected_relu(x) if step.act_kind == "relu" else redirected_relu6(x)
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
    if step.act_kind == "relu":
        values[step.out_keys[0]] = redirected_relu(pre) if relu_override else tf.nn.relu(pre)
    else:
        values[step.out_keys[0]] = redirected_relu6(pre) if relu_override else tf.nn.relu6(pre)


# ---------------------------------------------------------------------------------------------------------------
# GraphDef (and SavedModel, frozen into one)
# ---------------------------------------------------------------------------------------------------------------

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


class GraphDefAdapter(ModelAdapter):
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
        wrapped = self._wrapped_function(tuple(canonical), bool(relu_override), maxpool_grad)

        def activations(x_t):
            # the value-range mapping runs inside the wrapped function, in front of the imported graph
            outputs = wrapped(self._check_input(x_t))
            return dict(zip(requested, outputs))

        activations.layer_names = tuple(canonical)
        activations.relu_override = bool(relu_override)
        activations.maxpool_grad = maxpool_grad
        return activations

    def _override_map(self, relu_override, maxpool_grad):
        mapping = {}
        if relu_override:
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
        overrides = self._override_map(bool(relu_override), maxpool_grad)

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
        activations.relu_override = bool(relu_override)
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


# ---------------------------------------------------------------------------------------------------------------
# Memory of a render step
# ---------------------------------------------------------------------------------------------------------------

# Peak memory of a render step on the CPU, as a multiple of the bytes of every floating tensor its forward pass
# computes (ModelAdapter.activation_bytes), plus a constant. Measured with bench/step_memory.py (vgg16_hed, each
# configuration in a fresh process, no transforms; the growth of the process's anonymous memory (RssAnon,
# sampled every millisecond) over two steps with the ReLU override on, as in a render's first 16 steps), 2
# cores, TF 2.21, a shared machine:
#
#     size  layer          batch  forward MiB  growth MiB  growth/forward  estimate/growth
#      128  block4_conv3       1           52          52            0.99             3.68
#      256  block4_conv3       1          209         158            0.76             2.39
#      512  block4_conv3       1          837         595            0.71             1.90
#     1024  block4_conv3       1         3348        2270            0.68             1.83
#     2048  block4_conv3       1        13392        8989            0.67             1.80
#      256  block1_conv2       1          114          91            0.80             2.95
#      512  block1_conv2       1          457         459            1.00             1.52
#      512  block5_conv3       1          851         604            0.71             1.90
#      256  block4_conv3       4          837         590            0.70             1.92
#      128  block2_pool        8          308         235            0.76             2.15
#
# Shallow layers need the most per forward byte (one layer's backward temporaries dominate); deep in the network
# many forward tensors are freed before the backward pass peaks. The factor takes the largest ratio (1.00) with a
# margin, so the estimate was never low in these runs and is up to about 1.9x high for deep layers at large sizes
# (LUCID_FAST_MEMORY_LIMIT raises the memory the check assumes when that caution costs a render).
STEP_MEMORY_FACTOR = 1.15
STEP_MEMORY_OVERHEAD = 128 << 20  # bytes: TF's per-step bookkeeping, the objective, small tensors


def _downstream_bytes(graph, source_op):
    """Bytes of the floating outputs of every op in ``graph`` that depends on ``source_op`` (in creation order,
    which is topological). Outputs of unknown shape count as nothing."""
    reached = {source_op.name}
    total = 0
    for op in graph.get_operations():
        if op.name in reached or not any(t.op.name in reached for t in op.inputs):
            continue
        reached.add(op.name)
        for t in op.outputs:
            if t.dtype.is_floating and t.shape.is_fully_defined():
                total += t.shape.num_elements() * t.dtype.size
    return total


def estimate_step_bytes(forward_bytes, native_bytes=0):
    """The memory a render step adds at its peak: STEP_MEMORY_FACTOR x the forward pass's tensors (see
    :meth:`ModelAdapter.activation_bytes`), the image side's arrays and STEP_MEMORY_OVERHEAD."""
    return int(STEP_MEMORY_FACTOR * forward_bytes) + int(native_bytes) + STEP_MEMORY_OVERHEAD


# ---------------------------------------------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------------------------------------------

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


_ACCEPTED = ("a ModelAdapter, a keras.Model (functional or Sequential), a path to a SavedModel directory, "
             "a path to a frozen GraphDef .pb file, a path to a .keras/.h5 Keras model file, a "
             "tf.compat.v1.GraphDef, or a modelzoo name (see lucid_fast.modelzoo.list_models())")


def load_model(model, **kwargs):
    """Returns a :class:`ModelAdapter` for ``model``.

    Args:
        model: One of

            * a :class:`ModelAdapter` (returned as is; no keyword arguments allowed);
            * a ``keras.Model`` / ``tf.keras.Model`` (functional or Sequential) -> :class:`KerasAdapter`
              (kwargs: ``image_value_range`` (default (0, 1)), ``image_shape``, ``name``);
            * a path to a SavedModel directory -> :func:`load_saved_model` (kwargs: ``signature``,
              ``input_name``, ``image_shape``, ``image_value_range``, ``name``);
            * a path to a frozen GraphDef ``.pb`` or a ``tf.compat.v1.GraphDef`` -> :class:`GraphDefAdapter`
              (kwargs as Lucid's modelzoo ``Model`` attributes: ``input_name``, ``image_shape``,
              ``image_value_range``; plus ``name``, ``layer_table``);
            * a path to a ``.keras`` / ``.h5`` Keras model file (loaded with ``keras.saving.load_model``);
            * a modelzoo name such as ``"vgg16_hed"`` -> ``lucid_fast.modelzoo.load(name, **kwargs)``;
            * a Lucid-style ``lucid_fast.modelzoo.vision_models`` model (``vision_models.InceptionV1()``) or a
              modelzoo entry: anything with a ``to_adapter()`` method.

    Raises:
        ValueError: anything else (the message says what is accepted).
    """
    if isinstance(model, ModelAdapter):
        if kwargs:
            raise ValueError(f"load_model: got a ModelAdapter and keyword arguments {sorted(kwargs)}; an adapter "
                             "is returned as is, so set these when creating it")
        return model
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
                             f"accepted: {_ACCEPTED}")
        if os.path.isfile(path):
            if os.path.basename(path) == "saved_model.pb":
                return load_saved_model(os.path.dirname(path) or ".", **kwargs)
            if path.endswith(".pb"):
                return load_graphdef(path, **kwargs)
            if path.endswith((".keras", ".h5")):
                adapter_kwargs = {k: kwargs.pop(k) for k in ("image_value_range", "image_shape", "name")
                                  if k in kwargs}
                return KerasAdapter(keras.saving.load_model(path, compile=False, **kwargs), **adapter_kwargs)
            raise ValueError(f"load_model: cannot tell the format of file {path!r} from its extension; "
                             f"accepted: {_ACCEPTED}")
        from lucid_fast import modelzoo  # noqa: PLC0415 - modelzoo imports this module

        if modelzoo.is_model_name(path):
            return modelzoo.load(path, **kwargs)
        close = difflib.get_close_matches(path.lower(), [m for m, _, _ in modelzoo.list_models()], n=3)
        hint = f" Closest modelzoo names: {close}." if close else ""
        raise ValueError(f"load_model: {path!r} is neither an existing path nor a modelzoo name.{hint} "
                         f"Accepted: {_ACCEPTED}")
    raise ValueError(f"load_model: cannot load a {type(model).__name__}; accepted: {_ACCEPTED}")
