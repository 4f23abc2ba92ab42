"""The model protocol: what the render engine needs from a model of any framework (no TensorFlow here).

An adapter is a :class:`ModelAdapter`. The engine uses it for:

1. **A layer table.** :meth:`ModelAdapter.layers` lists the model's taps in model order as :class:`LayerInfo`
   (name, channel count, spatial size, kind); :meth:`ModelAdapter.layer_names` their names.
   :meth:`ModelAdapter.resolve` turns a name as a user writes it (Lucid's ``":0"`` suffix, an ``"import/"``
   prefix, a unique trailing part of a scoped name) into the canonical one, or raises a ValueError naming the
   closest names.
2. **Activations of named layers.** :meth:`ModelAdapter.activation_fn` returns ``f(x) -> {name: activations}``
   for an NHWC float32 RGB image batch ``x`` in [0, 1], computing only what the requested layers need.
3. **Lucid's redirected-ReLU gradient.** ``activation_fn(..., relu_override=True)``: every ReLU/ReLU6 on the
   path passes the gradient Lucid's override gives (``redirected_relu_grad`` in
   :mod:`lucid_fast.models.tf_overrides` for TensorFlow).
4. **Activations of some channels.** :meth:`ModelAdapter.channel_activation_fn` returns the channels an
   objective reads, slicing the objective's layer to them where the adapter can (``f.sliced`` says where).
5. **The gradient of a scalar with respect to the input.** The functions above are differentiable with respect
   to ``x``; :meth:`ModelAdapter.objective_step` compiles an objective on them into the model side of an
   optimization step: the objective's value and its gradient with respect to the image.

Attribution also uses :meth:`ModelAdapter.spliced_fn` (layers computed from replaced activations of an earlier
layer) and ``maxpool_grad=``; the memory check uses :meth:`ModelAdapter.activation_bytes` and
:meth:`ModelAdapter.runs_on_gpu`.

This module implements what needs no framework: the layer table's caching, :meth:`~ModelAdapter.resolve` with
its close-name error, the checks of a channel request, ``repr``. The rest is declared here and raises
NotImplementedError; :class:`lucid_fast.models.tf_base.TFModelAdapter` implements it for TensorFlow. An adapter
for another framework subclasses :class:`ModelAdapter` in one more file and never imports TensorFlow.
"""
from __future__ import annotations

import dataclasses
import difflib
import math

__all__ = ["LayerInfo", "ModelAdapter", "StepOutput", "channel_conversion_hint"]


@dataclasses.dataclass
class StepOutput:
    """What one step's model side returns (numpy; ``grad_x`` and ``grad_raw`` may be read-only views of the
    framework's buffers, valid until the next step)."""

    loss: float
    grad_x: object
    grad_raw: object
    per_item: object = None


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

    # -- to be provided by subclasses (the framework's side) -----------------------------------------------------
    def _canonical_names(self):
        """All names :meth:`resolve` returns (a list, in model order)."""
        raise NotImplementedError

    def _compute_layers(self):
        """The :class:`LayerInfo` of every tap, in model order (:meth:`layers` caches it)."""
        raise NotImplementedError

    def activation_fn(self, layer_names, relu_override=False, maxpool_grad=None):
        """Returns ``f(x_t) -> {name: activation tensor}`` for each requested name.

        Args:
            layer_names: Layer names (or one name); Lucid's ``":0"`` suffix is accepted.
            relu_override: Use Lucid's redirected ReLU gradient (``redirected_relu_grad``) for every
                ReLU/ReLU6 on the path to the requested layers.
            maxpool_grad: None (the ordinary gradient), ``"smooth"`` or ``"smooth_blur"``: the gradient of every
                2-D max-pool on the path becomes ``smooth_maxpool_grad`` (without or with the blur), as in
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
            order, along the last axis. The TensorFlow base version computes the whole layer and gathers; an
            adapter that can do better (``KerasAdapter``: a convolution or dense layer at the end of the path
            computes only the listed output channels, which saves that layer's forward and backward work)
            overrides it. ``f.sliced`` names the layers computed that way.

        Raises:
            ValueError: an unknown layer, an empty ``channels``, or an int index outside the layer's channels
                (:meth:`_check_channel_request`).
        """
        raise NotImplementedError

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

    def objective_step(self, objective, image_shape, transforms=(), **options):
        """The model side of one optimization step, compiled for images of ``image_shape`` (NHWC): a callable
        ``step(x, x_raw, relu_override, feeds)`` returning the objective and its gradients with respect to the
        transformed image ``x`` and the untransformed ``x_raw`` (numpy in, numpy out). It reads the layers the
        objective needs through :meth:`activation_fn` / :meth:`channel_activation_fn`, with Lucid's ReLU
        override when ``relu_override`` is set; ``transforms`` are the framework's functions applied to ``x``
        before the model. For TensorFlow: ``ObjectiveStep`` in :mod:`lucid_fast.models.tf_step`, whose further
        arguments ``options`` are."""
        raise NotImplementedError

    def activation_bytes(self, layer_names, input_shape):
        """Bytes of every floating tensor the forward pass to ``layer_names`` computes on an input of
        ``input_shape`` (NHWC, fully known): the raw material of ``estimate_step_bytes``.

        Raises:
            ValueError (or a framework's shape error): the model cannot run on an input of that shape.
        """
        raise NotImplementedError

    def estimate_step_bytes(self, layer_names, input_shape, native_bytes=0):
        """The memory a step adds at its peak for inputs of ``input_shape`` reading ``layer_names``, with
        ``native_bytes`` of image-side arrays (the framework's measured factor times :meth:`activation_bytes`,
        plus :attr:`step_memory_overhead`)."""
        raise NotImplementedError

    step_memory_overhead = 0  # bytes a step needs whatever the image size (the framework's bookkeeping)

    def runs_on_gpu(self):
        """Whether the framework runs this model on a GPU (then host memory is not what limits a step, and the
        memory check of ``optvis.preflight`` is skipped)."""
        raise NotImplementedError

    def device(self):
        """Where the model's tensors live, hence where the engine keeps the image side of a step: ``"cpu"``
        (numpy arrays, the default) or ``"cuda:N"`` (CuPy arrays on CUDA device N). With a CUDA device the
        step (:meth:`objective_step`) takes and returns CuPy arrays (docs/ARCHITECTURE.md, "Devices and
        streams")."""
        return "cpu"

    def cuda_stream(self):
        """The raw CUDA stream (``cudaStream_t`` as an int) the framework runs the model on, or None (the host,
        or CuPy's current stream). The engine runs its CUDA kernels on it, so both sides are ordered on one
        stream without host synchronization."""
        return None

    def _channel_index_tensor(self, name, idx):
        """The framework's form of a channel request: ``idx`` if it is a 1-D integer tensor of the framework
        (ValueError for another tensor), else None (then ``idx`` is read as a sequence of ints)."""
        return None

    def _check_input(self, x_t):
        """The engine's image batch as float32, after checking it is NHWC with ``input_channels`` channels."""
        raise NotImplementedError

    def _map_input(self, x_t):
        """Checks the engine's image batch and maps it from [0, 1] into ``image_value_range``."""
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

    def _check_channel_request(self, channels):
        """``channels`` -> (names, indices): names as given, indices as int lists or the framework's integer
        tensors (:meth:`_channel_index_tensor`)."""
        if not isinstance(channels, dict) or not channels:
            raise ValueError(f"{self.name}: channels must be a non-empty dict {{layer name: channel indices}}, "
                             f"got {channels!r}")
        names, indices = list(channels), []
        for name in names:
            canon = self.resolve(name)
            idx = channels[name]
            tensor = self._channel_index_tensor(name, idx)
            if tensor is not None:
                indices.append(tensor)
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

    def __repr__(self):
        return (f"<{type(self).__name__} {self.name!r} input_channels={self.input_channels} "
                f"image_shape={self.image_shape} image_value_range={self.image_value_range}>")


# ---------------------------------------------------------------------------------------------------------------
# Argument checks shared by the adapters (no framework needed)
# ---------------------------------------------------------------------------------------------------------------

def channel_conversion_hint(got, want):
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
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        raise ValueError(f"{who}: image_value_range must be finite with lo < hi, got {image_value_range!r}")
    return (lo, hi)


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
