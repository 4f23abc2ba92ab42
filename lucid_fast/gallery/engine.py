"""Renders one unit of a gallery job: up to K channels of one layer in one optimization, one image per channel.

The images of a unit form one batch (Lucid's channel objective with ``batch=``: image b maximizes channel
``channels[b]`` of the layer; with negatives, image K+b minimizes it). The step is lucid_fast's
:class:`~lucid_fast.optvis.render.VisSession` with one change: the model part asks the adapter for only the
unit's channels of the layer (:meth:`~lucid_fast.models.ModelAdapter.channel_activation_fn`), so the layer's
own convolution computes K output channels instead of all of them, and the step also keeps each image's
objective (the per-image trace every record carries).
"""
from __future__ import annotations

import os
import platform
import socket
import time

import numpy as np

from .settings import Settings, unit_seed


def model_fingerprint(adapter):
    """A hash of a model's weights (Keras) or graph (GraphDef): the identity a gallery job is bound to."""
    import hashlib

    cached = getattr(adapter, "_gallery_fingerprint", None)
    if cached is not None:
        return cached
    h = hashlib.sha256()
    keras_model = getattr(adapter, "model", None)
    graph_def = getattr(adapter, "graph_def", None)
    if keras_model is not None and hasattr(keras_model, "weights"):
        for w in keras_model.weights:
            h.update(w.path.encode() if hasattr(w, "path") else w.name.encode())
            h.update(np.ascontiguousarray(np.asarray(w.numpy())).tobytes())
    elif graph_def is not None:
        h.update(graph_def.SerializeToString(deterministic=True))
    else:
        raise ValueError(f"gallery: cannot fingerprint model {adapter!r} (neither Keras weights nor a GraphDef)")
    adapter._gallery_fingerprint = h.hexdigest()
    return adapter._gallery_fingerprint


class UnitResult:
    """What a worker sends back for one unit (small: uint8 images and float traces)."""

    def __init__(self, layer, channels, images_u8, traces, negatives_u8, negative_traces, wall_time_s, info):
        self.layer = layer
        self.channels = list(channels)
        self.images_u8 = images_u8            # (K, size, size, 3) uint8
        self.traces = traces                  # (steps, K) float64: the objective of each image before each step
        self.negatives_u8 = negatives_u8      # None or (K, size, size, 3)
        self.negative_traces = negative_traces
        self.wall_time_s = wall_time_s
        self.info = info                      # host, pid, threads, model fingerprint, sliced


def _session_class():
    from lucid_fast.optvis import render

    class ChannelBatchSession(render.VisSession):
        """A VisSession whose objective is ``sum_b sign_b * channel(layer, cols_b, batch=b)``, computed through the
        adapter's channel slicing, and whose step also stores each image's objective in ``per_item_v``."""

        def __init__(self, model, layer, channels, negative, **kwargs):
            from lucid_fast.optvis import objectives

            self.gallery_layer = layer
            self.gallery_channels = [int(c) for c in channels]
            k = len(self.gallery_channels)
            self.cols = list(range(k)) * (2 if negative else 1)
            self.signs = [1.0] * k + ([-1.0] * k if negative else [])
            terms = [objectives.channel(layer, self.gallery_channels[col], batch=b)
                     for b, col in enumerate(self.cols)]
            terms = [t if s > 0 else -t for t, s in zip(terms, self.signs)]
            super().__init__(model, objectives.Objective.sum(terms), **kwargs)
            self.per_item_v = self.tf.Variable(np.zeros(len(self.cols), np.float32), trainable=False)

        def _step_fn(self, override):
            fn = self._step_fns.get(override)
            if fn is not None:
                return fn
            tf = self.tf
            layer = self.model.resolve(self.gallery_layer)
            act_fn = self.model.channel_activation_fn({layer: self.gallery_channels}, relu_override=override)
            self.sliced = act_fn.sliced
            cols_t = tf.constant(self.cols, tf.int32)
            signs_t = tf.constant(self.signs, tf.float32)
            tf_fns, per_item_v = self.chain.tf_fns, self.per_item_v

            @tf.function(input_signature=[self._model_input_spec(), self._raw_spec()], autograph=False)
            def step(x_t, x_raw_t):
                with tf.GradientTape() as tape:
                    tape.watch(x_t)
                    x_in_t = x_t
                    for f in tf_fns:
                        x_in_t = f(x_in_t)
                    acts_t = act_fn(x_in_t)[layer]                      # (B, ..., K): the unit's channels
                    axes = list(range(1, acts_t.shape.rank - 1))
                    means_t = tf.reduce_mean(acts_t, axis=axes) if axes else acts_t       # (B, K)
                    per_item_t = signs_t * tf.gather(means_t, cols_t[:, None], axis=1, batch_dims=1)[:, 0]
                    loss_t = tf.reduce_sum(per_item_t)
                grad_x_t = tape.gradient(loss_t, x_t)
                per_item_v.assign(per_item_t)
                return loss_t, grad_x_t, tf.zeros_like(x_raw_t)

            self._step_fns[override] = step
            return step

    return ChannelBatchSession


class ChannelBatchRenderer:
    """Renders units of one job; holds the loaded model (load it once per process)."""

    def __init__(self, model, settings: Settings):
        from lucid_fast import models

        self.adapter = models.load_model(model)
        self.settings = settings
        self._fingerprint = None
        self._session_cls = _session_class()

    @property
    def fingerprint(self):
        if self._fingerprint is None:
            self._fingerprint = model_fingerprint(self.adapter)
        return self._fingerprint

    def layer_channels(self, layer):
        canon = self.adapter.resolve(layer)
        for info in self.adapter.layers():
            if info.name == canon:
                if info.channels is None:
                    raise ValueError(f"gallery: layer {layer!r} of {self.adapter.name!r} has no known channel count")
                return info.channels
        raise ValueError(f"gallery: layer {layer!r} is not a tap of {self.adapter.name!r}")

    def render_unit(self, layer, channels, progress=None):
        """Renders ``channels`` of ``layer`` in one optimization; returns a :class:`UnitResult`.

        Args:
            progress: optional ``f(step, steps)`` called after each step.
        """
        from lucid_fast.misc.io import _to_uint8
        from lucid_fast.optvis import param, render, transform

        s = self.settings
        channels = [int(c) for c in channels]
        k = len(channels)
        b = 2 * k if s.negative else k
        t0 = time.perf_counter()
        c_in = self.adapter.input_channels
        if c_in in (None, 3):
            def param_f():
                return param.image(s.size, batch=b, fft=s.fft, decorrelate=s.decorrelate)
        else:  # e.g. fer_emotion's grayscale input: no colour to decorrelate
            def param_f():
                return param.image(s.size, batch=b, fft=s.fft, channels=c_in)
        phases = s.phases()
        first = phases[0]
        vis = self._session_cls(
            self.adapter, layer, channels, s.negative,
            param_f=param_f,
            optimizer=first.learning_rate,
            transforms=transform.standard_transforms if first.transforms is None else list(first.transforms),
            relu_gradient_override=s.relu_override, seed=unit_seed(s.seed, layer, channels))
        trace = np.empty((s.steps, b), np.float64)
        i = 0
        for phase in phases:
            if s.preset is not None:  # as render_vis(preset=...): learning rate and transforms, moments kept
                render._enter_phase(vis, phase)
            for _ in range(phase.steps):
                vis.step()
                trace[i] = vis.per_item_v.numpy()
                i += 1
                if progress is not None:
                    progress(i, s.steps)
        images = _to_uint8(vis.image())
        if images.shape[-1] == 1:  # grayscale models: sprites are stored and shown as RGB
            images = np.repeat(images, 3, axis=-1)
        wall = time.perf_counter() - t0
        info = {"host": socket.gethostname(), "pid": os.getpid(), "python": platform.python_version(),
                "tf_intra_op_threads": _tf_threads(), "model_fingerprint": self.fingerprint,
                "sliced": bool(getattr(vis, "sliced", ()))}
        return UnitResult(layer, channels, images[:k], trace[:, :k],
                          images[k:] if s.negative else None, trace[:, k:] if s.negative else None, wall, info)


def _tf_threads():
    import tensorflow as tf

    return tf.config.threading.get_intra_op_parallelism_threads() or os.cpu_count()
