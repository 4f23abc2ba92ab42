"""Attribution's computations, written once for every framework: inputs, activations, the path points and
batching, :func:`attribute` and the functions built on it, :func:`spatial_to_spatial` and :func:`neuron_groups`.
The batched gradient functions are the framework's (:mod:`~lucid_fast.attribution.tf_impl`,
:mod:`~lucid_fast.attribution.torch_impl`; the seam: :mod:`~lucid_fast.attribution.frameworks`), cached on the
adapter (:func:`function_cache`). Scores are in :mod:`lucid_fast.attribution.scores`; the package's docstring
(``lucid_fast.attribution``) describes the whole. The framework is imported on use.
"""
from __future__ import annotations

import dataclasses
import numbers
import re

import numpy as np

from lucid_fast.attribution.frameworks import NORM_FLOOR, framework_of, function_cache
from lucid_fast.misc.seeding import check_seed

__all__ = ["Attribution", "activations", "attribute", "score_with", "channel", "spatial", "group",
           "spatial_to_spatial", "neuron_groups", "function_cache", "METHODS"]

METHODS = ("linear", "path", "stochastic_path")
DEFAULT_STEPS = 100         # Lucid's AttrChannel notebook: N = 100 path points
DEFAULT_BATCH = 32          # path points / positions per model call
STOCHASTIC_MAX_WIGGLE = 0.45  # |a1|, |a2| of each channel's schedule: alpha' = 1 + a1 cos(pi t) + a2 cos(2 pi t) > 0


def _impl(adapter):
    """The module of the framework's batched functions for ``adapter`` (imported on first use)."""
    if framework_of(adapter) == "torch":
        from lucid_fast.attribution import torch_impl  # noqa: PLC0415

        return torch_impl
    from lucid_fast.attribution import tf_impl  # noqa: PLC0415

    return tf_impl


def _adapter(model):
    from lucid_fast.modelzoo import load_model  # noqa: PLC0415

    return load_model(model)


def _score(adapter, spec):
    """:func:`lucid_fast.attribution.scores.score`, imported on use (it imports the objectives)."""
    from lucid_fast.attribution.scores import score  # noqa: PLC0415

    return score(adapter, spec)


# ---------------------------------------------------------------------------------------------------------------
# inputs
# ---------------------------------------------------------------------------------------------------------------

def _as_images(adapter, images, who, single=False):
    """NHWC float32 in [0, 1] with the model's channel count; a clear ValueError otherwise."""
    from lucid_fast.models.protocol import channel_conversion_hint  # noqa: PLC0415

    if hasattr(images, "detach"):  # a torch tensor
        images = images.detach().cpu()
    if hasattr(images, "numpy"):
        images = images.numpy()
    arr = np.asarray(images)
    if arr.dtype == np.uint8:
        arr = arr.astype(np.float32) / 255.0
    if not np.issubdtype(arr.dtype, np.number) or np.iscomplexobj(arr):
        raise ValueError(f"{who}: image must be a real numeric array (float in [0, 1] or uint8), got dtype "
                         f"{arr.dtype}")
    arr = np.asarray(arr, np.float32)
    if arr.ndim == 3:
        arr = arr[None]
    if arr.ndim != 4 or min(arr.shape) < 1:
        raise ValueError(f"{who}: image must be (H, W, C) or a batch (N, H, W, C), got shape {arr.shape}")
    want = adapter.input_channels
    if want is not None and arr.shape[-1] != want:
        raise ValueError(f"{who}: image has {arr.shape[-1]} channels but model {adapter.name!r} takes {want} "
                         f"(shape {arr.shape}){channel_conversion_hint(arr.shape[-1], want)}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{who}: image contains NaN or infinite values")
    lo, hi = float(arr.min()), float(arr.max())
    if lo < -1e-3 or hi > 1.0 + 1e-3:
        raise ValueError(f"{who}: image values must be in [0, 1] (or uint8 in [0, 255]), got range "
                         f"[{lo:.4g}, {hi:.4g}]")
    if single and arr.shape[0] != 1:
        raise ValueError(f"{who}: attribution explains one image at a time; got a batch of {arr.shape[0]} "
                         f"(shape {arr.shape}); pass image[i]")
    return np.ascontiguousarray(arr)


def _check_finite(arr, who, what):
    if not np.isfinite(arr).all():
        raise ValueError(f"{who}: {what} contain NaN or infinite values (shape {arr.shape}); the model produced "
                         "non-finite activations on this image")


def _check_int(value, name, who, lo=1):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < lo:
        raise ValueError(f"{who}: {name} must be an int >= {lo}, got {value!r}")
    return int(value)


def _as_real(value, name, who):
    """``value`` as a float32 array: refused (naming ``name``) when it is not real numbers (strings, complex
    numbers, objects: numpy would raise its own error or drop the imaginary part) or holds NaN or infinity."""
    try:
        arr = np.asarray(value.numpy() if hasattr(value, "numpy") else value)
    except ValueError as err:  # ragged nested sequences
        raise ValueError(f"{who}: {name} must be an array of real numbers, got {value!r:.200}") from err
    if arr.dtype == np.bool_ or not np.issubdtype(arr.dtype, np.number) or np.iscomplexobj(arr):
        raise ValueError(f"{who}: {name} must be an array of real numbers, got dtype {arr.dtype}")
    arr = np.asarray(arr, np.float32)
    if not np.isfinite(arr).all():
        raise ValueError(f"{who}: {name} contain NaN or infinite values (shape {arr.shape})")
    return arr


_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_FRAMEWORK_MARKS = ("Exception encountered when calling", "Negative dimension size", "Computed output size",
                    "must be at least", "input size", "Input size")


def _framework_reason(err):
    """The line of a TensorFlow / Keras error that says what went wrong, without the graph node's details."""
    lines = [_ANSI.sub("", line).strip() for line in str(err).splitlines()]
    lines = [line for line in lines if line]
    picked = next((line for line in lines if any(m in line for m in _FRAMEWORK_MARKS[1:])), None)
    if picked is None:
        picked = next((line for line in lines if not line.startswith("Exception encountered")), repr(err))
    return re.split(r" for '\{\{node | \[\[\{\{node |\{\{node ", picked)[0].strip()[:300]


def _run_model(call, who, adapter, x, layers):
    """``call()``, a model run on the image ``x``; the framework's errors for an image the model cannot run on (an
    image smaller than its convolutions and poolings: Keras's ValueError at tracing, TensorFlow's
    InvalidArgumentError, PyTorch's RuntimeError) become a ValueError naming the image size and the layers. Other
    errors (this package's own checks, a score's) pass through unchanged."""
    try:
        return call()
    except Exception as err:  # noqa: BLE001 - the framework decides which of its errors these are
        if not _impl(adapter).is_framework_error(err, _FRAMEWORK_MARKS):
            raise
        h, w = x.shape[1], x.shape[2]
        names = ", ".join(repr(n) for n in layers)
        nominal = getattr(adapter, "image_shape", None)
        hint = ""
        if nominal is not None and None not in tuple(nominal)[:2]:
            hint = f"; model {adapter.name!r} was made for {nominal[0]}x{nominal[1]} images"
            if h < nominal[0] or w < nominal[1]:
                hint += ": the image is probably too small for these layers, pass a larger one"
        raise ValueError(f"{who}: model {adapter.name!r} cannot compute layer(s) {names} on a {h}x{w} image "
                         f"(image shape {tuple(x.shape[1:])}): {_framework_reason(err)}{hint}") from err


# ---------------------------------------------------------------------------------------------------------------
# activations
# ---------------------------------------------------------------------------------------------------------------

def activations(model, images, layers, batch_size=16):
    """The activations of ``layers`` on ``images``: ``{name: (N, ...) numpy array}``.

    Args:
        model: Anything :func:`lucid_fast.modelzoo.load_model` accepts.
        images: ``(H, W, C)`` or ``(N, H, W, C)`` in [0, 1] (any size; uint8 is divided by 255).
        layers: A layer name or a list of names.
        batch_size: Images per model call.
    """
    adapter = _adapter(model)
    who = "attribution.activations"
    x = _as_images(adapter, images, who)
    names = [layers] if isinstance(layers, str) else list(layers)
    if not names:
        raise ValueError(f"{who}: layers must name at least one layer")
    return _activations(adapter, x, names, _check_int(batch_size, "batch_size", who), who)


def _activations(adapter, x, names, batch_size, who):
    """:func:`activations` on checked images ``x``; errors name ``who``."""
    impl = _impl(adapter)
    canonical = tuple(adapter.resolve(n) for n in names)
    fn = impl.act_fn(adapter, canonical)
    parts = {c: [] for c in canonical}
    for start in range(0, x.shape[0], batch_size):
        chunk = x[start:start + batch_size]
        out = _run_model(lambda chunk=chunk: fn(impl.constant(chunk, adapter)), who, adapter, x, canonical)
        for c in canonical:
            parts[c].append(impl.to_numpy(out[c]))
    result = {}
    for name, c in zip(names, canonical):
        arr = np.concatenate(parts[c], 0)
        _check_finite(arr, who, f"the activations of {c!r}")
        result[name] = arr
    return result


# ---------------------------------------------------------------------------------------------------------------
# the batched gradient engine
# ---------------------------------------------------------------------------------------------------------------

def _splice_grad_fn(adapter, layer, the_score, maxpool_grad):
    """The framework's cached ``(x_t or None, acts_t (B, ...)) -> (scores (B,), d sum(scores) / d acts_t)``: the
    gradient of the score as an objective (whose value is the sum of the images' scores)."""
    return _impl(adapter).splice_grad_fn(adapter, layer, the_score, maxpool_grad)


def _score_fn(adapter, layer, the_score):
    """The framework's cached ``(x_t or None, acts_t) -> scores`` (no gradient)."""
    return _impl(adapter).score_fn(adapter, layer, the_score)


def _input(adapter, fn, x):
    """The image as the framework's tensor when ``fn`` needs it, else None."""
    return _impl(adapter).constant(x, adapter) if fn.needs_input else None


def _batched(fn, x_t, batch_np, batch_size, adapter=None):
    """Runs ``fn(x_t, chunk)`` over chunks of ``batch_np``; returns the concatenated numpy outputs (``adapter``:
    the framework's tensors; default TensorFlow's)."""
    if adapter is None:
        from lucid_fast.attribution import tf_impl as impl  # noqa: PLC0415
    else:
        impl = _impl(adapter)
    outs = None
    for start in range(0, batch_np.shape[0], batch_size):
        res = fn(x_t, impl.constant(batch_np[start:start + batch_size], adapter))
        res = res if isinstance(res, (tuple, list)) else (res,)
        if outs is None:
            outs = [[] for _ in res]
        for o, r in zip(outs, res):
            o.append(impl.to_numpy(r))
    return [np.concatenate(o, 0) for o in outs]


def _path_points(method, steps, channels, rng):
    """Path positions ``alpha (steps, C)`` and speeds ``d alpha / dt (steps, C)`` at the midpoints of [0, 1];
    ``rng`` (a Generator) draws the stochastic schedules."""
    t = (np.arange(steps, dtype=np.float64) + 0.5) / steps
    if method == "linear":
        return np.ones((1, channels)), np.ones((1, channels))
    if method == "path":
        return np.repeat(t[:, None], channels, 1), np.ones((steps, channels))
    a1, a2 = rng.uniform(-STOCHASTIC_MAX_WIGGLE, STOCHASTIC_MAX_WIGGLE, size=(2, channels))
    tt = t[:, None]
    alpha = tt + a1 * np.sin(np.pi * tt) / np.pi + a2 * np.sin(2 * np.pi * tt) / (2 * np.pi)
    speed = 1.0 + a1 * np.cos(np.pi * tt) + a2 * np.cos(2 * np.pi * tt)
    return alpha, speed


@dataclasses.dataclass
class Attribution:
    """The attribution of a score to the activations of one layer on one image.

    Attributes:
        layer: The canonical layer name.
        score: The score's description.
        method: ``"linear"``, ``"path"`` or ``"stochastic_path"``.
        steps: Path points used (1 for linear).
        acts: The layer's activations on the image, without the batch axis (``(H, W, C)`` or ``(C,)``).
        grad: The gradient of the score at ``acts`` (linear), or its average along the path (weighted by each
            channel's schedule speed for stochastic_path); same shape.
        attr: ``acts * grad``: each activation's contribution; same shape.
        score_value: The score on the image.
        score_baseline: The score with the layer's activations set to zero.
    """

    layer: str
    score: str
    method: str
    steps: int
    acts: np.ndarray
    grad: np.ndarray
    attr: np.ndarray
    score_value: float
    score_baseline: float

    def channel(self):
        """Per-channel attribution: ``attr`` summed over positions, ``(C,)``."""
        return self.attr.reshape(-1, self.attr.shape[-1]).sum(0)

    def spatial(self):
        """Per-position attribution: ``attr`` summed over channels, ``(H, W)``."""
        if self.attr.ndim < 2:
            raise ValueError(f"Attribution.spatial: layer {self.layer!r} has no spatial axes (shape "
                             f"{self.attr.shape})")
        return self.attr.sum(-1)

    def total(self):
        """The sum of all attributions."""
        return float(self.attr.sum(dtype=np.float64))

    @property
    def completeness_error(self):
        """``|total() - (score_value - score_baseline)|``: ~0 for the path methods (quadrature error), and what
        the linear estimate misses for ``"linear"``."""
        return abs(self.total() - (self.score_value - self.score_baseline))


def _prepare(model, image, layer, who):
    adapter = _adapter(model)
    x = _as_images(adapter, image, who, single=True)
    canonical = adapter.resolve(layer)
    acts = _activations(adapter, x, [canonical], 16, who)[canonical]
    return adapter, x, canonical, acts


def attribute(model, image, layer, score_spec, method="linear", steps=DEFAULT_STEPS, seed=0, maxpool_grad=None,
              batch_size=DEFAULT_BATCH):
    """Attributes a score to the activations of ``layer`` on one image.

    Args:
        model: Anything :func:`lucid_fast.modelzoo.load_model` accepts.
        image: ``(H, W, C)`` (or ``(1, H, W, C)``) in [0, 1].
        layer: The layer whose activations get the credit.
        score_spec: What to explain; see :func:`score`.
        method: ``"linear"``, ``"path"`` or ``"stochastic_path"`` (see the module docstring).
        steps: Path points for the path methods (Lucid: 100); an int >= 1 (checked for ``"linear"`` too, which
            uses one point).
        seed: The random schedules of ``"stochastic_path"``: None, an int >= 0 (or a sequence of them) or a
            ``numpy.random.Generator`` (checked for every method).
        maxpool_grad: None, ``"smooth"`` or ``"smooth_blur"`` (Lucid's AttrSpatial gradient override).
        batch_size: Path points per model call.

    Returns:
        An :class:`Attribution`.
    """
    who = "attribution.attribute"
    if not isinstance(method, str) or method not in METHODS:
        raise ValueError(f"{who}: method must be one of {list(METHODS)}, got {method!r}")
    steps = _check_int(steps, "steps", who)  # checked for "linear" too, which uses one point
    if method == "linear":
        steps = 1
    rng = check_seed(who, seed)  # checked for every method; only "stochastic_path" draws from it
    batch_size = _check_int(batch_size, "batch_size", who)
    adapter, x, canonical, acts = _prepare(model, image, layer, who)
    the_score = _score(adapter, score_spec)
    grad_fn = _splice_grad_fn(adapter, canonical, the_score, maxpool_grad)
    x_t = _input(adapter, grad_fn, x)
    alpha, speed = _path_points(method, steps, acts.shape[-1], rng)
    shape = (-1,) + (1,) * (acts.ndim - 2) + (acts.shape[-1],)
    points = (acts * alpha.reshape(shape)).astype(np.float32)
    layers = [canonical, *the_score.layers]
    _, grads = _run_model(lambda: _batched(grad_fn, x_t, points, batch_size, adapter), who, adapter, x, layers)
    grad = (grads * speed.reshape(shape)).mean(0, dtype=np.float64).astype(np.float32)
    values = _run_model(lambda: _batched(_score_fn(adapter, canonical, the_score), x_t,
                                         np.concatenate([acts, np.zeros_like(acts)], 0), 2, adapter)[0],
                        who, adapter, x, layers)
    _check_finite(grad, who, "the gradients")
    return Attribution(layer=canonical, score=the_score.description, method=method, steps=steps, acts=acts[0],
                       grad=grad, attr=acts[0] * grad, score_value=float(values[0]), score_baseline=float(values[1]))


def score_with(model, image, layer, score_spec, acts, batch_size=DEFAULT_BATCH):
    """The score with ``layer``'s activations replaced by ``acts`` (Lucid's ``feed_dict={T(layer): acts}``):
    what-if experiments such as removing a neuron group.

    Args:
        model, image, layer, score_spec: As :func:`attribute`.
        acts: Activations for ``layer``: one ``(H, W, C)`` or a batch ``(N, H, W, C)`` (for a dense layer
            ``(C,)`` or ``(N, C)``).

    Returns:
        ``(N,)`` float32 scores (N = 1 for one set of activations).
    """
    who = "attribution.score_with"
    batch_size = _check_int(batch_size, "batch_size", who)
    adapter, x, canonical, real = _prepare(model, image, layer, who)
    arr = _as_real(acts, "acts", who)
    if arr.shape == real.shape[1:]:
        arr = arr[None]
    if arr.shape[1:] != real.shape[1:]:
        raise ValueError(f"{who}: acts must have the shape of {canonical!r}'s activations, "
                         f"{real.shape[1:]} (or a batch of them), got {np.shape(acts)}")
    the_score = _score(adapter, score_spec)
    fn = _score_fn(adapter, canonical, the_score)
    x_t = _input(adapter, fn, x)
    return _run_model(lambda: _batched(fn, x_t, np.ascontiguousarray(arr), batch_size, adapter)[0], who, adapter, x,
                      [canonical, *the_score.layers])


def channel(model, image, layer, score_spec, method="linear", steps=DEFAULT_STEPS, seed=0, maxpool_grad=None,
            batch_size=DEFAULT_BATCH):
    """Per-channel attribution ``(C,)`` of a score to ``layer`` (Lucid's AttrChannel); arguments as
    :func:`attribute`."""
    return attribute(model, image, layer, score_spec, method, steps, seed, maxpool_grad, batch_size).channel()


def spatial(model, image, layer, score_spec, method="linear", steps=DEFAULT_STEPS, seed=0, maxpool_grad=None,
            batch_size=DEFAULT_BATCH):
    """Per-position attribution ``(H, W)`` of a score to ``layer`` (Lucid's AttrSpatial class hints); arguments as
    :func:`attribute`."""
    return attribute(model, image, layer, score_spec, method, steps, seed, maxpool_grad, batch_size).spatial()


def group(model, image, layer, score_spec, group_vectors, method="linear", steps=DEFAULT_STEPS, seed=0,
          maxpool_grad=None, batch_size=DEFAULT_BATCH):
    """Per-group attribution ``(G,)`` of a score (Lucid's NeuronGroups): ``sum(group_vector * grad)`` for each
    group, with ``grad`` the gradient (linear) or path-averaged gradient of :func:`attribute`.

    Args:
        group_vectors: ``(G, H, W, C)`` activation-shaped vectors (Lucid: each NMF group's spatial factor times
            its channel factor, which sum to about the activations), or ``(G, C)`` channel directions applied at
            every position.
        Others: as :func:`attribute`.
    """
    who = "attribution.group"
    vecs = _as_real(group_vectors, "group_vectors", who)  # both forms, before the (costly) attribution
    if vecs.ndim < 2 or vecs.shape[0] < 1:
        raise ValueError(f"{who}: group_vectors must be (G, H, W, C) or (G, C) with G >= 1, got shape "
                         f"{vecs.shape}")
    a = attribute(model, image, layer, score_spec, method, steps, seed, maxpool_grad, batch_size)
    if vecs.ndim == 2 and vecs.shape[1] == a.grad.shape[-1]:
        grad_channels = a.grad.reshape(-1, a.grad.shape[-1]).sum(0)
        return vecs @ grad_channels
    if vecs.shape[1:] != a.grad.shape:
        raise ValueError(f"{who}: group_vectors must have shape (G, {', '.join(map(str, a.grad.shape))}) or "
                         f"(G, {a.grad.shape[-1]}) for layer {a.layer!r}, got {vecs.shape}")
    return vecs.reshape(vecs.shape[0], -1) @ a.grad.reshape(-1)


# ---------------------------------------------------------------------------------------------------------------
# spatial to spatial
# ---------------------------------------------------------------------------------------------------------------

def spatial_to_spatial(model, image, layer1, layer2, maxpool_grad=None, batch_size=DEFAULT_BATCH):
    """Attribution between the positions of two layers (Lucid's AttrSpatial): for every position of ``layer2``,
    how much each position of ``layer1`` contributed to its activation magnitude.

    The score of a ``layer2`` position is the norm of its activation vector; its linear attribution to
    ``layer1`` is gradient x activation summed over ``layer1``'s channels. The forward pass from ``layer1`` to
    ``layer2`` runs once; the gradients of ``batch_size`` positions at a time come from one vectorized backward
    pass (not one pass per position, as Lucid's notebook looped).

    Args:
        model, image: As :func:`attribute`.
        layer1: The earlier layer (gets the credit).
        layer2: The later layer (whose positions are explained).
        maxpool_grad: None, ``"smooth"`` or ``"smooth_blur"``.
        batch_size: ``layer2`` positions per backward pass.

    Returns:
        ``(H2, W2, H1, W1)`` float32: ``[i, j]`` is the ``(H1, W1)`` map of what ``layer1`` contributed to
        position ``(i, j)`` of ``layer2``.
    """
    who = "attribution.spatial_to_spatial"
    batch_size = _check_int(batch_size, "batch_size", who)
    adapter, x, canonical1, acts1 = _prepare(model, image, layer1, who)
    canonical2 = adapter.resolve(layer2)
    if acts1.ndim != 4:
        raise ValueError(f"{who}: layer1 {canonical1!r} must be a spatial (N, H, W, C) layer, got shape "
                         f"{acts1.shape}")
    shape2 = _activations(adapter, x, [canonical2], 16, who)[canonical2].shape
    if len(shape2) != 4:
        raise ValueError(f"{who}: layer2 {canonical2!r} must be a spatial (N, H, W, C) layer, got shape {shape2}")
    n2 = shape2[1] * shape2[2]
    rows = _run_model(lambda: _impl(adapter).s2s_rows(adapter, canonical1, canonical2, maxpool_grad, batch_size, x,
                                                      acts1, n2), who, adapter, x, [canonical1, canonical2])
    out = rows.reshape(shape2[1], shape2[2], acts1.shape[1], acts1.shape[2])
    _check_finite(out, who, "the attributions")
    return out


# ---------------------------------------------------------------------------------------------------------------
# neuron groups
# ---------------------------------------------------------------------------------------------------------------

def neuron_groups(acts, n_groups, reduction_alg="NMF", sort="x", **kwargs):
    """Lucid's NeuronGroups factorization of one image's activations into groups of neurons.

    Args:
        acts: ``(H, W, C)`` or ``(1, H, W, C)`` activations (non-negative for NMF: a post-ReLU layer).
        n_groups: The number of groups.
        reduction_alg: Passed to :class:`lucid_fast.misc.channel_reducer.ChannelReducer`.
        sort: ``"x"``: order groups by the column of their spatial peak (left to right, as Lucid), or None.
        **kwargs: Passed to the estimator (default ``random_state=0``, ``max_iter=1000`` for NMF).

    Returns:
        ``(spatial_factors (G, H, W), channel_factors (G, C))``, float32. ``spatial_factors[g][..., None] *
        channel_factors[g]`` summed over ``g`` approximates ``acts``; :func:`group` takes those products.
    """
    from lucid_fast.misc.channel_reducer import ChannelReducer  # noqa: PLC0415

    arr = _as_real(acts, "acts", "neuron_groups")
    if arr.ndim == 4 and arr.shape[0] == 1:
        arr = arr[0]
    if arr.ndim != 3:
        raise ValueError(f"neuron_groups: acts must be (H, W, C) or (1, H, W, C), got shape {np.shape(acts)}")
    if reduction_alg == "NMF":
        kwargs = {"random_state": 0, "max_iter": 1000, **kwargs}
    reducer = ChannelReducer(n_groups, reduction_alg, **kwargs)
    spatial_factors = reducer.fit_transform(arr).transpose(2, 0, 1).astype(np.float32)
    channel_factors = np.asarray(reducer.components_, np.float32)
    if sort == "x":
        order = np.argsort(np.argmax(spatial_factors.max(1), 1), kind="stable")
        spatial_factors, channel_factors = spatial_factors[order], channel_factors[order]
    elif sort is not None:
        raise ValueError(f"neuron_groups: sort must be 'x' or None, got {sort!r}")
    return spatial_factors, channel_factors
