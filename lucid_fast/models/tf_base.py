"""The TensorFlow side of the model protocol, shared by the Keras and GraphDef adapters.

:class:`TFModelAdapter` implements what :class:`~lucid_fast.models.protocol.ModelAdapter` declares and needs
TensorFlow for: checking the engine's image batch and mapping it into the model's ``image_value_range``, channel
requests given as integer tensors, the gather fallback of ``channel_activation_fn``, and the optimization step
(``objective_step``: :class:`~lucid_fast.models.tf_step.ObjectiveStep`).
:func:`layer_accessor` is Lucid's ``T`` on a given image (what ``render.import_model`` and
``vision_base.Model.import_graph`` return).
"""
from __future__ import annotations

import tensorflow as tf

from lucid_fast.models.accessor import LayerAccessor
from lucid_fast.models.protocol import LayerInfo, ModelAdapter, channel_conversion_hint

__all__ = ["TFModelAdapter", "layer_accessor"]


class TFModelAdapter(ModelAdapter):
    """Base class of the TensorFlow adapters (:class:`~lucid_fast.models.tf_keras.KerasAdapter`,
    :class:`~lucid_fast.models.tf_graphdef.GraphDefAdapter`): activations are TF tensors, the functions of
    :meth:`activation_fn` can be traced inside ``tf.function`` and differentiated with ``tf.GradientTape``."""

    def channel_activation_fn(self, channels, relu_override=False):
        """:meth:`ModelAdapter.channel_activation_fn`: the whole layers, gathered to the listed channels."""
        names, indices = self._check_channel_request(channels)
        full = self.activation_fn(names, relu_override=relu_override)

        def activations(x_t):
            acts = full(x_t)
            return {n: tf.gather(acts[n], idx, axis=-1) for n, idx in zip(names, indices)}

        activations.layer_names = full.layer_names
        activations.relu_override = full.relu_override
        activations.sliced = ()
        return activations

    def objective_step(self, objective, image_shape, transforms=(), **options):
        from lucid_fast.models.tf_step import ObjectiveStep  # noqa: PLC0415 - it needs the native bindings

        return ObjectiveStep(self, objective, image_shape, transforms, **options)

    @property
    def step_memory_overhead(self):
        from lucid_fast.models.tf_memory import STEP_MEMORY_OVERHEAD  # noqa: PLC0415

        return STEP_MEMORY_OVERHEAD

    def estimate_step_bytes(self, layer_names, input_shape, native_bytes=0):
        from lucid_fast.models.tf_memory import estimate_step_bytes  # noqa: PLC0415

        forward = self.activation_bytes(list(layer_names), input_shape) if layer_names else 0
        return estimate_step_bytes(forward, native_bytes)

    def runs_on_gpu(self):
        try:
            return bool(tf.config.list_logical_devices("GPU"))
        except Exception:  # noqa: BLE001 - no device information: assume the CPU
            return False

    def _channel_index_tensor(self, name, idx):
        if not isinstance(idx, (tf.Tensor, tf.Variable)):
            return None
        if idx.shape.rank != 1 or not idx.dtype.is_integer:
            raise ValueError(f"{self.name}: the channels of {name!r} must be a 1-D integer tensor, got "
                             f"{idx.dtype.name} of shape {idx.shape}")
        return idx

    def _map_input(self, x_t):
        x_t = self._check_input(x_t)
        lo, hi = (float(v) for v in self.image_value_range)
        if (lo, hi) == (0.0, 1.0):
            return x_t
        return lo + x_t * (hi - lo)

    def _check_input(self, x_t):
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
                             f"{channel_conversion_hint(channels, self.input_channels)}")
        return x_t


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


def _info_from_shape(name, shape, kind):
    shape = tf.TensorShape(shape)
    if shape.rank is None or shape.rank == 0:
        return LayerInfo(name, None, None, kind)
    channels = shape[-1]
    spatial = None
    if shape.rank == 4 and shape[1] is not None and shape[2] is not None:
        spatial = (int(shape[1]), int(shape[2]))
    return LayerInfo(name, None if channels is None else int(channels), spatial, kind)


def layer_accessor(adapter, image_t, image_raw_t=None, labels=None, who="layer_accessor"):
    """A layer accessor ``T`` on a given image (the core of Lucid's ``import_model``).

    ``T(layer)`` returns the activations of ``layer`` for ``image_t`` (computed once per layer), ``T("input")``
    returns ``image_raw_t`` (default ``image_t``) and ``T("labels")`` the model's labels. Works eagerly and
    inside ``tf.function`` (gradients flow to ``image_t``), so objectives can be evaluated:
    ``objectives.channel("mixed4a", 3)(T)``. Lucid's ``":0"`` suffix is accepted.

    Limitation: each layer is computed by its own forward pass from ``image_t`` (one ``activation_fn`` per
    layer, asked for lazily), not read from one imported graph as in Lucid. A gradient from one layer's
    activations to another's (Lucid's ``tf.gradients(T("mixed4d"), T("mixed4a"))``) is therefore ``None``:
    the two tensors are not connected, and TensorFlow says so only by returning ``None``. Take gradients with
    respect to ``image_t``, or use :mod:`lucid_fast.attribution` (``attribute``, ``spatial``, ``channel``,
    ``spatial_to_spatial``), which runs the model on from a layer's activations (docs/MIGRATING.md).

    Args:
        adapter: A :class:`TFModelAdapter`.
        image_t: The images: a TF tensor or an NHWC (or HWC: one image) numpy array in [0, 1].
        image_raw_t: What ``T("input")`` returns.
        labels: The class names, or a callable returning them (called on the first ``T("labels")``, so labels
            that load lazily load only when asked for). Default: ``adapter.labels``.
        who: The name error messages start with.

    Raises:
        ValueError (from ``T``): an unknown layer, or ``T("labels")`` on a model without labels.
    """
    image_t = tf.convert_to_tensor(image_t, tf.float32)
    if image_t.shape.rank == 3:
        image_t = image_t[None]
    raw_t = image_t if image_raw_t is None else tf.convert_to_tensor(image_raw_t, tf.float32)
    cache = {}

    def get(name):
        if name not in cache:
            cache[name] = adapter.activation_fn([name])(image_t)[name]
        return cache[name], None

    def find_labels():
        found = getattr(adapter, "labels", None) if labels is None else (labels() if callable(labels) else labels)
        if found is None:
            raise ValueError(f"{who}: model {adapter.name!r} has no labels")
        return found

    return LayerAccessor(adapter.resolve, get, {"input": raw_t, "labels": find_labels})
