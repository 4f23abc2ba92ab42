"""Renders one unit of a gallery job: up to K channels of one layer in one optimization, one image per channel.

The images of a unit form one batch (Lucid's channel objective with ``batch=``: image b maximizes channel
``channels[b]`` of the layer; with negatives, image K+b minimizes it): ``objectives.channels_per_image``, run by
the one optimization step (:class:`lucid_fast.optvis.engine.Engine`) with ``per_item=True`` for the per-image
trace every record carries. The model computes only the unit's channels of the layer (the engine slices the
objective's layer to the channels it declares), so the layer's own convolution computes K output channels
instead of all of them.
"""
from __future__ import annotations

import os
import platform
import socket
import sys
import time

import numpy as np

from .settings import Settings, unit_seed


def model_fingerprint(adapter):
    """A hash of a model's weights (Keras, PyTorch) or graph (GraphDef): the identity a gallery job is bound to."""
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
    elif keras_model is not None and hasattr(keras_model, "state_dict"):  # a PyTorch module
        h.update(type(keras_model).__qualname__.encode())
        for name, value_t in keras_model.state_dict().items():
            h.update(name.encode())
            h.update(np.ascontiguousarray(value_t.detach().cpu().numpy()).tobytes())
    else:
        raise ValueError(f"gallery: cannot fingerprint model {adapter!r} (neither Keras weights, a GraphDef nor a "
                         f"PyTorch state_dict)")
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


class ChannelBatchRenderer:
    """Renders units of one job; holds the loaded model (load it once per process)."""

    def __init__(self, model, settings: Settings):
        from lucid_fast import modelzoo

        self.adapter = modelzoo.load_model(model)
        self.settings = settings
        self._fingerprint = None

    @property
    def fingerprint(self):
        if self._fingerprint is None:
            self._fingerprint = model_fingerprint(self.adapter)
        return self._fingerprint

    def layer_channels(self, layer):
        canon = self.adapter.resolve(layer)
        # the adapter's own count: it also knows names that resolve but are left out of layers() as duplicates
        # (a PyTorch container that re-emits a child's tensor, efficientnet_lite0's "_blocks.3")
        n = self.adapter._layer_channel_count(canon)
        if n is not None:
            return n
        if canon in self.adapter.layer_names():
            raise ValueError(f"gallery: layer {layer!r} of {self.adapter.name!r} has no known channel count")
        raise ValueError(f"gallery: layer {layer!r} is not a tap of {self.adapter.name!r}")

    def unit_engine(self, layer, channels, seed=None):
        """The optimization of one unit (an :class:`~lucid_fast.optvis.engine.Engine` with ``per_item=True``):
        ``channels`` of ``layer``, and with negatives their ``-channel`` optima, one image each, under the job's
        settings. ``seed`` defaults to the unit's own (:func:`~lucid_fast.gallery.settings.unit_seed`)."""
        from lucid_fast.optvis import objectives, param, transform
        from lucid_fast.optvis.engine import Engine
        from lucid_fast.optvis.optimizers import Adam

        s = self.settings
        channels = [int(c) for c in channels]
        k = len(channels)
        b = 2 * k if s.negative else k
        c_in = self.adapter.input_channels
        if c_in in (None, 3):
            node = param.image(s.size, batch=b, fft=s.fft, decorrelate=s.decorrelate)
        else:  # e.g. fer_emotion's grayscale input: no colour to decorrelate
            node = param.image(s.size, batch=b, fft=s.fft, channels=c_in)
        first = s.phases()[0]
        # image b maximizes channel channels[b]; with negatives, image k + b maximizes -channel channels[b]
        objective = objectives.channels_per_image(layer, channels * (2 if s.negative else 1),
                                                  [1.0] * k + ([-1.0] * k if s.negative else []))
        return Engine(self.adapter, objective, param.ParamGraph(node),
                      transform.make_chain(None if first.transforms is None else list(first.transforms)),
                      Adam(float(first.learning_rate)), unit_seed(s.seed, layer, channels) if seed is None else seed,
                      relu_gradient_override=s.relu_override, per_item=True, who="gallery")

    def render_unit(self, layer, channels, progress=None):
        """Renders ``channels`` of ``layer`` in one optimization; returns a :class:`UnitResult`.

        Args:
            progress: optional ``f(step, steps)`` called after each step.
        """
        from lucid_fast.misc.image import to_uint8

        s = self.settings
        channels = [int(c) for c in channels]
        k = len(channels)
        b = 2 * k if s.negative else k
        t0 = time.perf_counter()
        vis = self.unit_engine(layer, channels)
        phases = s.phases()
        trace = np.empty((s.steps, b), np.float64)

        def record(i, _loss):
            trace[i] = vis.last_per_item
            if progress is not None:
                progress(i + 1, s.steps)

        # with a preset, each phase sets the learning rate and transforms (moments kept), as render_vis does
        vis.run(phases=phases if s.preset is not None else None,
                steps=None if s.preset is not None else s.steps, on_step=record)
        images = to_uint8(vis.image())
        if images.shape[-1] == 1:  # grayscale models: sprites are stored and shown as RGB
            images = np.repeat(images, 3, axis=-1)
        wall = time.perf_counter() - t0
        info = {"host": socket.gethostname(), "pid": os.getpid(), "python": platform.python_version(),
                **_threads(self.adapter), "model_fingerprint": self.fingerprint,
                "sliced": bool(vis.sliced)}
        return UnitResult(layer, channels, images[:k], trace[:, :k],
                          images[k:] if s.negative else None, trace[:, k:] if s.negative else None, wall, info)


def model_framework(adapter):
    """``"torch"`` for a model PyTorch runs (a ``TorchAdapter``), else ``"tensorflow"`` (Keras, GraphDef); named in
    a gallery's manifest, records and site. Imports no framework."""
    torch = sys.modules.get("torch")  # a torch module exists only once torch is imported
    if torch is not None and isinstance(getattr(adapter, "model", None), torch.nn.Module):
        return "torch"
    return "tensorflow"


def _threads(adapter):
    """The framework, its version and its thread count, for the unit's record."""
    if model_framework(adapter) == "torch":
        torch = sys.modules["torch"]
        return {"framework": "torch", "framework_version": torch.__version__,
                "torch_threads": torch.get_num_threads()}
    import tensorflow as tf

    return {"framework": "tensorflow", "framework_version": tf.__version__,
            "tf_intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads() or os.cpu_count()}
