"""The TensorFlow side of an optimization step: the model, the objective and their input gradients, in one
``tf.function``.

The engine (:mod:`lucid_fast.optvis.engine`) runs the image side natively and asks the model's adapter for an
:class:`ObjectiveStep` (``adapter.objective_step(...)``, see :mod:`lucid_fast.models.protocol`). What crosses
the seam are aligned numpy arrays, handed to TensorFlow by DLPack without copies, and numpy arrays back:

    step(x, x_raw, relu_override, feeds) -> StepOutput(loss, grad_x, grad_raw, per_item)

with ``x`` the transformed image the model sees (its transformed alpha as one more channel when the objective
reads ``T("alpha_transformed")``), ``x_raw`` the untransformed image (``T("input")``), ``feeds`` the values of
any extra inputs the objective reads by name. Everything an objective reads goes through ONE layer accessor,
:class:`LayerAccessor` (Lucid's ``T``), here and in every other place that evaluates an objective (layer
discovery, the preflight trace, printed objectives, ``render.import_model``).
"""
from __future__ import annotations


import numpy as np
import tensorflow as tf

from lucid_fast._bindings import dlpack
from lucid_fast.models.protocol import StepOutput
from lucid_fast.models.accessor import ALPHA_TRANSFORMED, LayerAccessor, channel_slices, strip_name
from lucid_fast.models.tf_overrides import relu_override_mode

def expand_channels(acts_t, channels, count):
    """Sliced activations (``acts_t[..., k]`` is channel ``channels[k]``) as the whole layer's ``count``
    channels, zeros for the others: one channel by padding (its gradient is a slice), several by a gather."""
    if len(channels) == 1:
        c = channels[0]
        return tf.pad(acts_t, [[0, 0]] * (acts_t.shape.rank - 1) + [[c, count - c - 1]])
    index = np.full(count, len(channels), np.int32)
    index[list(channels)] = np.arange(len(channels), dtype=np.int32)
    padded_t = tf.concat([acts_t, tf.zeros_like(acts_t[..., :1])], axis=-1)
    return tf.gather(padded_t, index, axis=-1)


class ObjectiveStep:
    """The model and an objective compiled for images of one shape (see the module docstring).

    Built by ``adapter.objective_step``; the engine calls it once per step. Finds the layers the objective reads
    by tracing it once (nothing runs), computes only the channels the objective declares where the adapter can
    (``channel_activation_fn``), and traces one ``tf.function`` per ReLU-override setting.

    Args:
        adapter: a TensorFlow model adapter.
        objective: an :class:`~lucid_fast.optvis.objectives.Objective` (``tf_part``, ``channel_reads``,
            ``description``; ``tf_per_item`` when ``per_item``).
        image_shape: the untransformed image's shape (NHWC).
        transforms: TensorFlow functions applied to the transformed image before the model (user transforms).
        on_alpha: called when the objective reads ``T("alpha_transformed")`` (it may raise).
        per_item: also return each image's objective (``objective.tf_per_item(T)``, whose sum is the loss).
        feeds: ``{name: (shape, dtype)}`` extra inputs the objective reads as ``T(name)``, given each step.
        who: the name errors start with.
    """

    def __init__(self, adapter, objective, image_shape, transforms=(), on_alpha=None, per_item=False, feeds=None,
                 who="render_vis"):
        self.adapter, self.objective, self.who = adapter, objective, who
        self.image_shape = tuple(int(v) for v in image_shape)
        self.transforms = tuple(transforms)
        self.per_item = bool(per_item)
        self.feeds = {name: tf.TensorSpec(shape, dtype) for name, (shape, dtype) in (feeds or {}).items()}
        self._slice_channels = True  # compute only the channels the objective declares it reads (channel_slices)
        self.layer_channels = {}
        self.wants_alpha = False
        self.sliced = ()
        self._fns = {}
        self._act_fn, self._act_names = None, ()
        self.layers = self._discover(on_alpha)

    # ---- specs and the accessor ------------------------------------------------------------------------------
    def _model_spec(self, with_alpha=False):
        c = self.adapter.input_channels + (1 if with_alpha else 0)  # the transformed alpha rides along last
        return tf.TensorSpec([self.image_shape[0], None, None, c], tf.float32)

    def _raw_spec(self):
        return tf.TensorSpec(list(self.image_shape), tf.float32)

    def accessor(self, acts, x_raw_t, x_t, alpha_t=None, slices=None, feeds=None):
        """The layer accessor on a step's activations (``acts``: ``{canonical: tensor}``, sliced as ``slices``
        says) and inputs."""
        slices = slices or {}
        named = {"input": x_raw_t, "input_transformed": x_t, ALPHA_TRANSFORMED: alpha_t, **(feeds or {})}

        def get(canon):
            chans = slices.get(canon)
            if chans is not None and len(chans) == self.layer_channels[canon]:
                chans = None
            return acts[canon], chans

        return LayerAccessor(self.adapter.resolve, get, named,
                             lambda a, chans, canon: expand_channels(a, chans, self.layer_channels[canon]))

    def _discover(self, on_alpha):
        """The layers the objective reads, found by tracing it once (graph only, nothing runs)."""
        seen = []

        def probe(x_t, x_raw_t, *feed_ts):
            x_in_t = x_t
            for fn in self.transforms:
                x_in_t = fn(x_in_t)

            def alpha():
                if on_alpha is not None:
                    on_alpha()
                self.wants_alpha = True
                return x_in_t[..., :1]  # a stand-in of the right shape while tracing

            def get(canon):
                if canon not in seen:
                    seen.append(canon)
                acts_t = self.adapter.activation_fn([canon], relu_override=False)(x_in_t)[canon]
                if acts_t.shape.rank:
                    self.layer_channels[canon] = acts_t.shape[-1]
                return acts_t, None

            named = {"input": x_raw_t, "input_transformed": x_in_t, ALPHA_TRANSFORMED: alpha,
                     **dict(zip(self.feeds, feed_ts))}
            return self.objective.tf_part(LayerAccessor(self.adapter.resolve, get, named))

        try:
            tf.function(probe, autograph=False).get_concrete_function(self._model_spec(), self._raw_spec(),
                                                                      *self.feeds.values())
        except (ValueError, IndexError, TypeError, tf.errors.InvalidArgumentError) as err:
            msg = str(err).strip().splitlines()
            raise ValueError(f"{self.who}: the objective {self.objective.description!r} cannot be evaluated on "
                             f"model {self.adapter.name!r}: {msg[-1].strip(chr(34)) if msg else repr(err)}"
                             ) from err
        return tuple(seen)

    @property
    def slice_channels(self):
        """Whether the model computes only the channels the objective declares (on by default); setting it
        traces the step again."""
        return self._slice_channels

    @slice_channels.setter
    def slice_channels(self, on):
        self._slice_channels = bool(on)
        self._fns = {}
        self.sliced = ()

    def channel_slices(self):
        """``{layer: channels}`` for every layer the objective reads, when it declares which channels of each
        (``Objective.channel_reads``): the model computes only these where it can and ``T(layer)`` gives zeros
        for the others. Empty when the objective's reads are unknown or do not cover every layer it reads, when
        a layer's channel count is unknown, when no layer would lose a channel, or when ``slice_channels`` is
        off."""
        if not self.slice_channels:
            return {}
        return channel_slices(self.objective, self.layers, self.layer_channels, self.adapter.resolve)

    # ---- the step ---------------------------------------------------------------------------------------------
    def set_transforms(self, transforms):
        """New framework-side transforms (a preset's next phase): the step is traced again if they differ."""
        transforms = tuple(transforms)
        if transforms != self.transforms:
            self.transforms = transforms
            self._fns = {}

    def _function(self, override):
        fn = self._fns.get(override)
        if fn is not None:
            return fn
        slices = self.channel_slices()
        act_fn = None
        if slices:
            act_fn = self.adapter.channel_activation_fn({c: list(slices[c]) for c in self.layers},
                                                        relu_override=override)
            self.sliced = tuple(act_fn.sliced)
        elif self.layers:
            act_fn = self.adapter.activation_fn(list(self.layers), relu_override=override)
        objective, transforms, per_item = self.objective, self.transforms, self.per_item
        n_model = self.adapter.input_channels
        with_alpha = self.wants_alpha
        feed_names = tuple(self.feeds)

        @tf.function(input_signature=[self._model_spec(with_alpha), self._raw_spec(), *self.feeds.values()],
                     autograph=False)
        def step(x_t, x_raw_t, *feed_ts):
            with tf.GradientTape() as tape:
                tape.watch(x_t)
                tape.watch(x_raw_t)
                x_in_t, alpha_t = (x_t[..., :n_model], x_t[..., n_model:]) if with_alpha else (x_t, None)
                for f in transforms:
                    x_in_t = f(x_in_t)
                acts = act_fn(x_in_t) if act_fn is not None else {}
                T = self.accessor(acts, x_raw_t, x_in_t, alpha_t, slices, dict(zip(feed_names, feed_ts)))
                if per_item:
                    per_item_t = tf.convert_to_tensor(objective.tf_per_item(T), tf.float32)
                    loss_t = tf.reduce_sum(per_item_t)
                else:
                    per_item_t = tf.zeros([0], tf.float32)
                    loss_t = tf.reshape(tf.convert_to_tensor(objective.tf_part(T), tf.float32), [])
            grad_x_t, grad_raw_t = tape.gradient(loss_t, [x_t, x_raw_t],
                                                 unconnected_gradients=tf.UnconnectedGradients.ZERO)
            return loss_t, grad_x_t, grad_raw_t, per_item_t

        self._fns[override] = step
        return step

    def __call__(self, x, x_raw, relu_override=False, feeds=None):
        """One step's model side on aligned NHWC float32 arrays; returns a :class:`StepOutput`."""
        feed_ts = [tf.constant(np.asarray(feeds[name]), spec.dtype) for name, spec in self.feeds.items()]
        loss_t, grad_x_t, grad_raw_t, per_item_t = self._function(relu_override_mode(relu_override))(
            dlpack.to_tf(x), dlpack.to_tf(x_raw), *feed_ts)
        return StepOutput(float(loss_t.numpy()), dlpack.from_tf(grad_x_t), dlpack.from_tf(grad_raw_t),
                          per_item_t.numpy() if self.per_item else None)

    # ---- checks before the first step (optvis.preflight) ------------------------------------------------------
    def gradient_reaches_image(self, shape):
        """Traces objective and gradient on a static model-input ``shape``; True when a gradient reaches the
        image. Errors of the trace come back as ValueError (the objective cannot be evaluated there)."""
        layers = list(self.layers)
        act_fn = self.adapter.activation_fn(layers, relu_override=False) if layers else None
        found = {}
        with_alpha = self.wants_alpha
        n_model = self.adapter.input_channels
        if with_alpha:
            shape = (*shape[:3], shape[3] + 1)

        def probe(x_t, x_raw_t, *feed_ts):
            with tf.GradientTape() as tape:
                tape.watch(x_t)
                tape.watch(x_raw_t)
                x_in_t, alpha_t = (x_t[..., :n_model], x_t[..., n_model:]) if with_alpha else (x_t, None)
                for fn in self.transforms:
                    x_in_t = fn(x_in_t)
                acts = act_fn(x_in_t) if act_fn is not None else {}
                T = self.accessor(acts, x_raw_t, x_in_t, alpha_t, feeds=dict(zip(self.feeds, feed_ts)))
                loss_t = tf.convert_to_tensor(self.objective.tf_part(T), tf.float32)
            grads = tape.gradient(loss_t, [x_t, x_raw_t])
            found["connected"] = any(g is not None for g in grads)
            return loss_t

        try:
            tf.function(probe, autograph=False).get_concrete_function(
                tf.TensorSpec(shape, tf.float32), self._raw_spec(), *self.feeds.values())
        except tf.errors.InvalidArgumentError as err:
            raise ValueError(str(err)) from err
        return found["connected"]

    def runs_at(self, shape):
        """Whether the model's layers the objective reads can be computed for inputs of ``shape``."""
        try:
            self.adapter.activation_bytes(list(self.layers), shape)
        except (ValueError, TypeError, IndexError, tf.errors.InvalidArgumentError):
            return False
        return True

    # ---- reading -----------------------------------------------------------------------------------------------
    def activations(self, x, layer):
        """A layer's activations (numpy) on the aligned image ``x`` (the model's channels)."""
        name = self.adapter.resolve(strip_name(layer))
        if self._act_fn is None or name not in self._act_names:
            names = sorted(set(self.layers) | {name})
            self._act_names = names
            self._act_fn = tf.function(self.adapter.activation_fn(names, relu_override=False))
        return self._act_fn(dlpack.to_tf(x))[name].numpy()

    def evaluate(self, objective, x, activations):
        """The value of ``objective`` on the untransformed image ``x`` (numpy), reading layers through
        ``activations(layer) -> numpy`` (printed objectives at thresholds)."""
        x_t = tf.constant(x)
        named = {"input": x_t, "input_transformed": x_t,
                 ALPHA_TRANSFORMED: lambda: x_t[..., 3:4]}  # printed values: the untransformed alpha stands in
        T = LayerAccessor(lambda name: name, lambda name: (tf.constant(activations(name)), None), named)
        return float(objective(T))

