"""Lucid's layer accessor ``T``, written once: every place that evaluates an objective reads the model
through :class:`LayerAccessor` (the optimization step, layer discovery, the checks before the first step,
printed objectives, ``render.import_model``). Framework-neutral: what it returns is whatever the adapter's
``get`` returns."""
from __future__ import annotations

ALPHA_TRANSFORMED = "alpha_transformed"  # T(...) name: the RGBA image's alpha after the transforms
INPUT_NAMES = ("input", "input_transformed")


def strip_name(name):
    """A layer name without Lucid's tensor suffix ``":0"``."""
    return name[:-2] if isinstance(name, str) and name.endswith(":0") else name


class LayerAccessor:
    """Lucid's ``T``: ``T(name)`` is a layer's activations, or one of the named inputs.

    Args:
        resolve: canonical layer name from a user's spelling (``adapter.resolve``).
        get: ``get(canonical) -> (activations, channels)``: the layer's activations and, when only some channels
            were computed, the tuple of channel numbers along their last axis (None: all channels).
        named: ``{name: value or zero-argument function}`` for the names that are not layers ("input", ...).
        expand: ``expand(acts, channels, canonical) -> full-layer tensor``, for sliced layers read whole.
        backend: the framework of the tensors it returns, a :class:`lucid_fast.models.backend.Backend`
            (``backend.get("torch")``, ...); None means TensorFlow. The built-in objectives compute with it
            (``backend.of_accessor(T)``).
    """

    def __init__(self, resolve, get, named=None, expand=None, backend=None):
        self._resolve, self._get, self._named, self._expand = resolve, get, dict(named or {}), expand
        self.backend = backend

    def __call__(self, name):
        name = strip_name(name)
        if isinstance(name, str) and name in self._named:
            value = self._named[name]
            return value() if callable(value) else value
        canon = self._resolve(name)
        acts, channels = self._get(canon)
        if channels is not None and self._expand is not None:
            return self._expand(acts, channels, canon)
        return acts

    def sliced(self, name):
        """``(activations, channels)``: the layer as computed, without expanding a sliced layer to all its
        channels (``channels`` is None when every channel was computed). For objectives that know how to read
        only their channels (``objectives.channels_per_image``)."""
        return self._get(self._resolve(strip_name(name)))


def channel_slices(objective, layers, layer_channels, resolve):
    """``{layer: channels}`` to compute for an objective whose reads are declared (``Objective.channel_reads``):
    for every layer in ``layers`` (canonical names, those the objective reads), the sorted channels it reads.
    Empty (compute every channel) when the reads are unknown or do not cover every layer read, when a layer's
    channel count (``layer_channels``) is unknown or a declared channel is outside it, or when no layer would
    lose a channel. Both frameworks' steps use it."""
    reads = getattr(objective, "channel_reads", None)
    if not reads:
        return {}
    declared = {}
    for layer, chans in reads.items():
        if layer in INPUT_NAMES:
            continue
        canon = resolve(layer)
        declared[canon] = declared.get(canon, frozenset()) | frozenset(chans)
    if not set(layers) <= set(declared):
        return {}
    out = {}
    for canon in layers:
        count = layer_channels.get(canon)
        if count is None or not all(-count <= c < count for c in declared[canon]):
            return {}
        out[canon] = tuple(sorted({c % count for c in declared[canon]}))
    if all(len(chans) == layer_channels[canon] for canon, chans in out.items()):
        return {}
    return out
