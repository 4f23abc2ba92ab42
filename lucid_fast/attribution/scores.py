"""Scores: what attribution explains, one value per image, as :class:`lucid_fast.optvis.objectives.Objective`\\ s.

A :class:`Score` is an objective (its value on a batch, ``score(T)``, is the sum of its values on the images)
that also knows the layers it reads (the traced functions splice the model up to them) and a hashable key (their
cache key). Scores combine with the objectives' algebra (``a - b``, ``a + b``, ``-a``, ``2 * a``, ``a / 2``);
:class:`Score` only adds the layers, the key and the description to what that algebra returns. The value of each
image, :meth:`Score.tf_per_item`, is the objective evaluated on a batch of that one image (vectorized over the
batch), so a combination needs no per-image algebra of its own.

The scores compute through the accessor's backend (:mod:`lucid_fast.models.backend`), so one definition serves
TensorFlow and PyTorch models; the framework is imported on use (a score on a PyTorch model never loads
TensorFlow). ``lucid_fast.attribution`` imports this module on first use of ``Score`` or ``score``.
"""
from __future__ import annotations

import difflib
import numbers

from lucid_fast.attribution.frameworks import framework_of
from lucid_fast.misc.errors import ArgumentError
from lucid_fast.models import backend
from lucid_fast.models.accessor import LayerAccessor
from lucid_fast.optvis.objectives import Objective

# pylint: disable=invalid-name  (T is the conventional name of the layer accessor)

__all__ = ["Score", "score"]


def _is_number(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


class Score(Objective):
    """A score per image computed from a model's layers (what attribution explains).

    Args:
        fn: ``T -> (N,) tensor``: one score per image from ``T(name) -> (N, ...) tensor``.
        layers: The canonical layer names ``fn`` reads.
        description: A readable description (``"happy - neutral"``).
        key: A hashable identity, used to cache traced functions.

    Attributes:
        layers, description, key: As given (for combinations: the union of the layers, a composed description
            and key).

    A Score is an :class:`~lucid_fast.optvis.objectives.Objective`: ``score(T)`` is the sum of the scores of the
    images of the batch (a float32 scalar); :meth:`tf_per_item` gives each image's score, ``(N,)``. Scores
    subtract, add, negate, scale by numbers and divide by numbers, through the objectives' algebra; with a plain
    Objective they make a plain Objective.
    """

    def __init__(self, fn, layers, description, key):
        super().__init__(fn, name=description, description=description)
        self.layers = tuple(layers)
        self.key = key

    def tf_per_item(self, T):
        """Each image's score, a float32 ``(N,)`` tensor of the accessor's framework whose sum is ``self(T)``: the
        objective evaluated on a batch of that image alone, for all images at once (``tf.vectorized_map`` for
        TensorFlow, ``torch.func.vmap`` for PyTorch)."""
        if backend.of_accessor(T).name == "torch":
            return _torch_per_item(self, T)
        import tensorflow as tf  # noqa: PLC0415 - TensorFlow tensors: TensorFlow is loaded

        n = tf.shape(T(self.layers[0]))[0]

        def one(i):
            index = tf.reshape(i, [1])
            return self.tf_part(lambda name: tf.gather(T(name), index))

        return tf.vectorized_map(one, tf.range(n))

    def _made(self, objective, other, description, key):
        """``objective`` (what the objectives' algebra returned) as a Score reading this score's layers and
        ``other``'s."""
        layers = self.layers if other is None else tuple(dict.fromkeys(self.layers + other.layers))
        return Score(objective.objective_func, layers, description, key)

    def _refuse_number(self, op, other):
        """Scores add and subtract scores only: a constant changes no attribution. An ArgumentError (a ValueError
        and the TypeError Python's operators raised here before)."""
        if _is_number(other):
            raise ArgumentError(f"Score: cannot {op} the number {other!r} and the score {self.description!r}; "
                                "scores add and subtract other scores, and multiply or divide by numbers")

    def __add__(self, other):
        if not isinstance(other, Score):
            self._refuse_number("add", other)
            return NotImplemented
        return self._made(super().__add__(other), other, f"{self.description} + {other.description}",
                          ("+", self.key, other.key))

    def __radd__(self, other):
        if _is_number(other) and other == 0:  # sum([...]) starts from 0
            return self
        self._refuse_number("add", other)
        return NotImplemented

    def __sub__(self, other):
        if not isinstance(other, Score):
            self._refuse_number("subtract", other)
            return NotImplemented
        return self._made(super().__sub__(other), other, f"{self.description} - {other.description}",
                          ("-", self.key, other.key))

    def __rsub__(self, other):
        self._refuse_number("subtract", other)
        return NotImplemented

    def __neg__(self):
        return self._made(super().__neg__(), None, f"-({self.description})", ("neg", self.key))

    def __mul__(self, factor):
        if isinstance(factor, Score):
            raise ArgumentError(f"Score: cannot multiply the scores {self.description!r} and "
                                f"{factor.description!r}; a score multiplies by numbers only")
        if not _is_number(factor):
            return NotImplemented
        f = float(factor)
        return self._made(super().__mul__(f), None, f"{f:g} * ({self.description})", ("mul", f, self.key))

    __rmul__ = __mul__

    def __truediv__(self, factor):
        if isinstance(factor, Score):
            raise ArgumentError(f"Score: cannot divide the score {self.description!r} by the score "
                                f"{factor.description!r}; a score can only be divided by a number")
        if not _is_number(factor):
            return NotImplemented
        f = float(factor)
        return self._made(super().__truediv__(f), None, f"({self.description}) / {f:g}", ("div", f, self.key))

    def __repr__(self):
        return f"Score({self.description!r})"


class _Picked:
    """An accessor reading ``T``'s tensors at one batch index (a batch of one), with ``T``'s backend."""

    def __init__(self, T, pick):
        self._T, self._pick, self.backend = T, pick, backend.of_accessor(T)

    def __call__(self, name):
        return self._pick(self._T(name))


def _torch_per_item(the_score, T):
    """:meth:`Score.tf_per_item` on torch tensors: the score of each image by ``torch.func.vmap`` over the batch
    index; a score that vmap cannot run (data-dependent Python control flow, ``.item()``) is evaluated image by
    image instead (the same values)."""
    import torch  # noqa: PLC0415 - torch tensors: torch is loaded

    first_t = T(the_score.layers[0])
    n = int(first_t.shape[0])

    def one(i_t):
        return the_score.tf_part(_Picked(T, lambda x_t: x_t.index_select(0, i_t.reshape(1))))

    try:
        return torch.func.vmap(one)(torch.arange(n, device=first_t.device))
    except (RuntimeError, ValueError) as err:
        if "vmap" not in str(err) and "Batched" not in str(err):
            raise
    return torch.stack([the_score.tf_part(_Picked(T, lambda x_t, i=i: x_t[i:i + 1])) for i in range(n)])


def _adapter(model):
    from lucid_fast.modelzoo import load_model  # noqa: PLC0415

    return load_model(model)


def _logits_layer(adapter, spec):
    layer = getattr(adapter, "logits_layer", None)
    if layer is None:
        raise ValueError(f"score {spec!r}: model {adapter.name!r} has no logits_layer; set model.logits_layer to "
                         "the layer of its pre-softmax logits (and model.labels to its class names), or use a "
                         "'layer:channel' score")
    return adapter.resolve(layer)


def _logit_score(adapter, index, description):
    layer = _logits_layer(adapter, description)

    def fn(T):
        B = backend.of_accessor(T)  # noqa: N806 - the backend, as in the objectives
        logits = T(layer)
        if B.rank(logits) != 2:
            logits = B.reshape(logits, (B.size(logits, 0), -1))
        n = logits.shape[-1]
        if n is not None and not 0 <= index < n:
            raise ValueError(f"score {description!r}: class index {index} is out of range for the {n} logits of "
                             f"{layer!r} (0..{n - 1})")
        return logits[:, index]

    return Score(fn, [layer], description, ("logit", layer, index))


def _channel_score(adapter, layer, channel_n, description):
    canonical = adapter.resolve(layer)

    def fn(T):
        B = backend.of_accessor(T)  # noqa: N806
        acts = T(canonical)
        c = acts.shape[-1]
        if c is not None and not 0 <= channel_n < c:
            raise ValueError(f"score {description!r}: channel {channel_n} is out of range: layer {canonical!r} has "
                             f"{c} channels (0..{c - 1})")
        picked = acts[..., channel_n]
        rank = B.rank(picked)
        if rank > 1:
            picked = B.mean(picked, axis=tuple(range(1, rank)))
        return picked

    return Score(fn, [canonical], description, ("channel", canonical, channel_n))


def _logsumexp_score(adapter):
    layer = _logits_layer(adapter, "logsumexp")

    def lse(T):
        B = backend.of_accessor(T)  # noqa: N806
        logits = T(layer)
        if B.rank(logits) != 2:
            logits = B.reshape(logits, (B.size(logits, 0), -1))
        return B.logsumexp(logits, axis=1)

    return Score(lse, [layer], "logsumexp", ("logsumexp", layer))


def _discover_layers(adapter, fn):
    """The layers a callable score reads, found by evaluating it once: traced on symbolic activations of any
    image size for TensorFlow, run on a grey image of the model's nominal size (no gradient) for PyTorch."""
    seen = []

    def probe(x_t, named_backend=None):
        def get(canonical):
            if canonical not in seen:
                seen.append(canonical)
            return adapter.activation_fn([canonical])(x_t)[canonical], None

        return fn(LayerAccessor(adapter.resolve, get, backend=named_backend))

    if framework_of(adapter) == "torch":
        out = _probe_torch(adapter, fn, probe)
    else:
        out = _probe_tf(adapter, fn, probe)
    if not seen:
        raise ValueError(f"score: the callable {fn!r} reads no layer (call T(name) for the layers it needs)")
    if not hasattr(out, "shape") or len(out.shape) == 0:
        raise ValueError(f"score: the callable {fn!r} must return one score per image, a tensor of shape (N,) "
                         f"or (N, ...), got {out!r}")
    return seen


def _probe_tf(adapter, fn, probe):
    import tensorflow as tf  # noqa: PLC0415 - a TensorFlow adapter: TensorFlow is loaded

    spec = tf.TensorSpec([1, None, None, adapter.input_channels], tf.float32)
    try:
        return tf.function(probe, autograph=False).get_concrete_function(spec).structured_outputs
    except (TypeError, IndexError, tf.errors.InvalidArgumentError) as err:
        raise ValueError(f"score: the callable {fn!r} could not be evaluated on model {adapter.name!r}: {err}") \
            from err


def _probe_torch(adapter, fn, probe):
    import torch  # noqa: PLC0415 - a PyTorch adapter: torch is loaded

    h, w, c = adapter.image_shape
    x_t = torch.full((1, h, w, c), 0.5, device=adapter.torch_device)
    try:
        with torch.no_grad():
            return probe(x_t, backend.get("torch"))
    except (TypeError, IndexError, RuntimeError) as err:
        raise ValueError(f"score: the callable {fn!r} could not be evaluated on model {adapter.name!r}: {err}") \
            from err


def _callable_score(adapter, fn):
    layers = _discover_layers(adapter, fn)

    def wrapped(T):
        B = backend.of_accessor(T)  # noqa: N806
        out = B.as_float(fn(T)) if B.name == "torch" else _tf_tensor(fn(T))
        rank = B.rank(out)
        if rank == 0:
            raise ValueError(f"score: the callable {fn!r} must return one score per image (shape (N,))")
        if rank > 1:
            out = B.sum(out, axis=tuple(range(1, rank)))
        return out

    return Score(wrapped, layers, getattr(fn, "__name__", "callable"), ("callable", id(fn)))


def _tf_tensor(value):
    import tensorflow as tf  # noqa: PLC0415 - a TensorFlow accessor: TensorFlow is loaded

    return tf.convert_to_tensor(value)


def _string_score(adapter, spec):
    text = spec.strip()
    labels = list(getattr(adapter, "labels", None) or [])
    if text in labels:
        return _logit_score(adapter, labels.index(text), text)
    if text == "logsumexp":
        return _logsumexp_score(adapter)
    if " - " in text:
        left, right = text.split(" - ", 1)
        return score(adapter, left) - score(adapter, right)
    if ":" in text:
        layer, _, channel_text = text.rpartition(":")
        digits = channel_text.strip()
        if not (digits.isascii() and digits.isdigit()):
            raise ValueError(f"score {spec!r}: 'layer:channel' needs an integer channel >= 0 written in digits, "
                             f"got {channel_text!r} (a negative channel does not count from the last)")
        return _channel_score(adapter, layer, int(digits), text)
    if labels:
        close = difflib.get_close_matches(text, labels + ["logsumexp"], n=4, cutoff=0.4)
        hint = f" Closest: {close}." if close else ""
        listed = f"{labels}" if len(labels) <= 20 else f"{labels[:10]} ... ({len(labels)} in model.labels)"
        raise ValueError(f"score: unknown class label {spec!r} for model {adapter.name!r}.{hint} Labels: "
                         f"{listed}; also accepted: a class index, 'logsumexp', 'layer:channel', 'a - b'")
    raise ValueError(f"score: {spec!r} is not a score for model {adapter.name!r}, which has no class labels "
                     "(model.labels); use 'layer:channel', a class index with model.logits_layer set, or a "
                     "callable T -> scores")


def score(model, spec):
    """The :class:`Score` a spec names on ``model``.

    Args:
        model: The model (its ``labels`` / ``logits_layer`` name classes).
        spec: A :class:`Score`; a class label (``"happy"``: its logit); a class index (an int >= 0);
            ``"logsumexp"``; ``"layer:channel"`` (the channel >= 0; its mean activation over positions); a pair
            ``(a, b)`` or the string ``"a - b"`` (``a`` minus ``b``); or a callable ``T -> tensor`` whose first
            axis is the image (other axes are summed).

    Raises:
        ValueError: an unknown label (with the closest labels), layer (closest layer names) or channel, a model
            without labels for a label, anything else.
    """
    adapter = _adapter(model)
    if isinstance(spec, Score):
        return spec
    if isinstance(spec, tuple) and len(spec) == 2:
        return score(adapter, spec[0]) - score(adapter, spec[1])
    if isinstance(spec, numbers.Integral) and not isinstance(spec, bool):
        if spec < 0:
            raise ValueError(f"score: the spec (score_spec) {int(spec)} is a negative class index; a class index "
                             "must be an int >= 0 (a negative one does not count from the last class)")
        return _logit_score(adapter, int(spec), f"logit {int(spec)}")
    if isinstance(spec, str):
        return _string_score(adapter, spec)
    if callable(spec):
        return _callable_score(adapter, spec)
    raise ValueError(f"score: cannot make a score of {spec!r}; accepted: a class label, a class index, "
                     "'logsumexp', 'layer:channel', a pair (a, b), 'a - b', a Score or a callable T -> scores")
