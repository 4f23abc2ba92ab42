"""Objectives for feature visualization: what the rendered image should maximise.

An :class:`Objective` wraps a function ``T -> scalar tensor``, where ``T`` is the *layer accessor* the
render engine passes in on every step:

* ``T(layer_name)`` returns that layer's activations for the current batch of images (NHWC for convolutional
  layers, ``(N, C)`` for dense ones). Lucid's ``":0"`` suffix is accepted by the engine.
* ``T("input")`` returns the parameterized image *before* the transforms (NHWC float32 in [0, 1]), which is
  what regularisers such as :func:`L1`, :func:`blur_input_each_step` or :func:`total_variation` act on.

The tensors are the model framework's: TensorFlow's for a Keras or GraphDef model, PyTorch's (NHWC views of the
module's activations) for an ``nn.Module``. The factories here compute through
:mod:`lucid_fast.models.backend` and serve both; an objective of your own receives the framework's tensors
(``backend.of_accessor(T)`` gives the functions, or write it for the one framework you use).

Objectives are **maximised** (Lucid's sign convention). Penalties are therefore subtracted::

    obj = objectives.channel("mixed4a", 97) - 1e-3 * objectives.total_variation()

They combine with ``+``, ``-``, unary ``-``, ``*`` and ``/`` by numbers, ``Objective * Objective`` (a product),
:meth:`Objective.sum` and Python's ``sum``; factories are made with :func:`wrap_objective`.

The class, its algebra, native terms (:class:`NativeTerm`, e.g. the total variation of the input, computed by
the engine's kernels) and channel reads (which channels of which layers an objective reads) are described in
:mod:`lucid_fast.optvis.objective_core`, where they are defined; this module holds the objective factories
and re-exports that module's public names, so ``from lucid_fast.optvis.objectives import Objective`` works.
"""
import math
import numbers

import numpy as np

from lucid_fast.misc.errors import ArgumentError
from lucid_fast.models.backend import of_accessor, of_tensor
from lucid_fast.optvis.objective_core import (
    NATIVE_KINDS,  # noqa: F401  (re-exported: it was defined here before the split)
    NativeTerm,
    Objective,
    PerImageObjective,
    _base_layer_name,
    _callable_objective,
    _tv_sum,
    handle_batch,
    wrap_objective,
)
from lucid_fast.optvis.objectives_util import (
    _T_handle_batch,
    _check_position,
    _dot_cossim,
    _extract_act_pos,
    _is_int,
    _tf_blur,
    axis_size,
)

# pylint: disable=invalid-name  (T is the conventional name of the layer accessor)

__all__ = [
    "channels_per_image", "PerImageObjective",
    "NativeTerm", "Objective", "wrap_objective", "as_objective", "handle_batch",
    "neuron", "channel", "direction", "direction_cossim", "direction_neuron", "tensor_direction", "deepdream",
    "class_logit", "total_variation", "L1", "L2", "blur_input_each_step", "blur_alpha_each_step",
    "channel_interpolate", "penalize_boundary_complexity", "alignment", "diversity", "input_diff",
]


# ---------------------------------------------------------------------------------------------------------
# Factories


def _check_channel(op, n_channel):
    """An int (a string such as "5" is not converted): otherwise an ArgumentError, a ValueError that is also the
    TypeError raised here before. Negative ints index from the end, as in Python (tested: channel_reads)."""
    if not _is_int(n_channel):
        raise ArgumentError(f"{op}: the channel index must be an int, got {n_channel!r}")


def _channel_of(op, acts_t, n_channel, layer):
    """``acts_t[..., n_channel]``, with a clear error when the layer's (static) channel count is smaller."""
    c = acts_t.shape[-1] if of_tensor(acts_t).rank(acts_t) else None
    if c is not None and not -c <= n_channel < c:
        raise ValueError(f"{op}: channel {n_channel} is out of range: layer {layer!r} has {c} channels "
                         f"(0..{c - 1})")
    return acts_t[..., n_channel]


@wrap_objective(require_format="NHWC")
def neuron(layer_name, channel_n, x=None, y=None, batch=None):
    """Activation of one channel at one spatial position (the centre by default).

    As in Lucid, ``x`` indexes rows (axis 1) and ``y`` columns (axis 2); for even sizes the default is the
    lower-right of the four central positions. Dense layers are treated as 1x1 maps. The value is averaged
    over the batch (or taken from item ``batch`` only).
    """
    _check_channel("neuron", channel_n)
    _check_position("neuron", x, y)

    def inner(T):
        acts_t = _extract_act_pos(_T_handle_batch(T, batch)(layer_name), x, y, "neuron", layer_name)
        return of_accessor(T).mean(_channel_of("neuron", acts_t, channel_n, layer_name))
    inner.channel_reads = {layer_name: {channel_n}}
    return inner


@wrap_objective(require_format="NHWC")
def channel(layer, n_channel, batch=None):
    """Mean activation of one channel over positions and batch (or batch item ``batch`` only)."""
    _check_channel("channel", n_channel)

    def inner(T):
        return of_accessor(T).mean(_channel_of("channel", _T_handle_batch(T, batch)(layer), n_channel, layer))
    inner.channel_reads = {layer: {n_channel}}
    return inner
def channels_per_image(layer, channels, signs=None):
    """Image ``b`` of the batch maximizes ``signs[b]`` times the mean of channel ``channels[b]`` of ``layer``
    (a gallery unit: K channels in one optimization, with their negatives ``-channel`` as further images).

    The sum over the batch equals ``sum_b sign_b * channel(layer, channels[b], batch=b)``; each image's value is
    available per step (:class:`PerImageObjective`). Where the model computes only these channels of the layer,
    they are read as computed, without expanding them to the whole layer.
    """
    channels = list(channels)
    for c in channels:
        _check_channel("channels_per_image", c)  # an int: "5" or 5.7 are refused, not converted
        if c < 0:
            raise ValueError(f"channels_per_image: channels must be >= 0, got {c}")
    channels = [int(c) for c in channels]
    signs = [1.0] * len(channels) if signs is None else list(signs)
    if len(signs) != len(channels):
        raise ValueError(f"channels_per_image: {len(signs)} signs for {len(channels)} channels")
    if not all(isinstance(s, numbers.Real) and not isinstance(s, bool) and math.isfinite(s) for s in signs):
        raise ValueError(f"channels_per_image: signs must be finite numbers, got {signs!r}")
    signs = [float(s) for s in signs]

    def per_item(T):
        sliced = getattr(T, "sliced", None)
        acts_t, computed = sliced(layer) if sliced is not None else (T(layer), None)
        cols = [computed.index(c) for c in channels] if computed is not None else channels
        B = of_accessor(T)
        axes = tuple(range(1, B.rank(acts_t) - 1))
        means_t = B.mean(acts_t, axis=axes) if axes else acts_t       # (B, channels computed)
        return B.constant(signs, like=means_t) * B.pick_columns(means_t, cols)

    return PerImageObjective(per_item, "channels_per_image", f"channels_per_image({layer!r}, {channels})",
                             {layer: set(channels)})


def _as_direction(op, vec):
    vec = np.asarray(vec, dtype=np.float32)
    if vec.ndim != 1:
        raise ValueError(f"{op}: vec must be a 1-D vector over the layer's channels, got shape {vec.shape}")
    return vec


@wrap_objective(require_format="NHWC")
def direction(layer, vec, cossim_pow=0, batch=None):
    """Mean dot product of the activations with the channel-space direction ``vec``.

    With ``cossim_pow > 0`` each position's dot product is weighted by ``max(0.1, cos) ** cossim_pow``.
    """
    vec_np = _as_direction("direction", vec)[None, None, None]

    def inner(T):
        return _dot_cossim(_T_handle_batch(T, batch)(layer), vec_np, cossim_pow=cossim_pow)
    return inner


direction_cossim = direction  # Lucid's alias: direction with a cossim_pow argument


@wrap_objective(require_format="NHWC")
def direction_neuron(layer_name, vec, x=None, y=None, cossim_pow=0, batch=None):
    """:func:`direction` at a single spatial position (the centre by default; see :func:`neuron`)."""
    vec_np = _as_direction("direction_neuron", vec)[None, None, None]
    _check_position("direction_neuron", x, y)

    def inner(T):
        acts_t = _extract_act_pos(_T_handle_batch(T, batch)(layer_name), x, y, "direction_neuron", layer_name)
        return _dot_cossim(acts_t, vec_np, cossim_pow=cossim_pow)
    return inner


@wrap_objective(require_format="NHWC")
def tensor_direction(layer, vec, cossim_pow=0, batch=None):
    """Mean dot product of the central ``h x w`` window of the activations with the tensor ``vec``.

    ``vec`` has shape ``(h, w, C)`` or ``(1, h, w, C)``; the window is centred with offsets
    ``(H - h) // 2`` and ``(W - w) // 2``.
    """
    vec = np.asarray(vec, dtype=np.float32)
    if vec.ndim not in (3, 4):
        raise ValueError(f"tensor_direction: vec must have shape (h, w, C) or (1, h, w, C), got {vec.shape}")
    if vec.ndim == 3:
        vec = vec[None]
    vh, vw = vec.shape[1], vec.shape[2]

    def inner(T):
        acts_t = _T_handle_batch(T, batch)(layer)
        top = (axis_size(acts_t, 1) - vh) // 2
        left = (axis_size(acts_t, 2) - vw) // 2
        return _dot_cossim(acts_t[:, top:top + vh, left:left + vw, :], vec, cossim_pow=cossim_pow)
    return inner


@wrap_objective()
def deepdream(layer, batch=None):
    """Mean squared activation of a layer ("interestingness", Mordvintsev et al. 2015)."""
    def inner(T):
        return of_accessor(T).mean(_T_handle_batch(T, batch)(layer) ** 2)
    return inner


@wrap_objective()
def class_logit(layer, label, batch=None, labels=None):
    """Sum over the batch of one logit of a ``(N, classes)`` layer.

    Args:
        layer: the logits (or softmax) layer name.
        label: an int class index, or a class name looked up in ``labels`` (or in ``T("labels")`` when the
            engine provides it, as Lucid's did).
        batch: restrict to one batch item.
        labels: optional sequence of class names for string labels.
    """
    if _is_int(label):
        fixed_index = int(label)
    elif isinstance(label, str):
        fixed_index = None
        if labels is not None:
            fixed_index = _label_index(list(labels), label)
    else:
        raise TypeError(f"class_logit: label must be an int index or a class-name string, got {label!r}")

    def inner(T):
        class_n = fixed_index
        if class_n is None:
            try:
                model_labels = T("labels")
            except Exception as err:  # the accessor's own error type is unknown; explain what to do instead
                raise ValueError(f"class_logit: label {label!r} is a string, so a list of class names is needed: "
                                 f"pass labels=[...] (or use an int index); T('labels') is not available "
                                 f"({err})") from err
            class_n = _label_index(list(model_labels), label)
        logits_t = _T_handle_batch(T, batch)(layer)
        return of_accessor(T).sum(logits_t[:, class_n])
    return inner


def _label_index(labels, label):
    try:
        return labels.index(label)
    except ValueError:
        raise ValueError(f"class_logit: label {label!r} is not among the {len(labels)} class names") from None


@wrap_objective()
def total_variation(layer="input", batch=None):
    """Total variation of the input image (or of a layer's activations), summed over the batch.

    The value is ``sum(tf.image.total_variation(T(layer)))``: the sum of absolute differences between
    vertically and horizontally neighbouring values. It is positive; use it as a penalty by subtracting it.
    On ``"input"`` it is a :class:`NativeTerm` computed by the engine's kernel; on other layers it is computed
    by the model's framework.
    """
    if _base_layer_name(layer) == "input":
        return Objective(None, native_terms=[NativeTerm("total_variation", "input", 1.0, batch)])

    def inner(T):
        return _tv_sum(_T_handle_batch(T, batch)(layer), T)
    return inner


@wrap_objective()
def L1(layer="input", constant=0, batch=None):
    """``sum(|T(layer) - constant|)``: an L1 norm, usually subtracted as a penalty."""
    def inner(T):
        B = of_accessor(T)
        x_t = _T_handle_batch(T, batch)(layer)
        return B.sum(B.abs(x_t - _as_operand(B, constant, x_t)))
    return inner


@wrap_objective()
def L2(layer="input", constant=0, epsilon=1e-6, batch=None):
    """``sqrt(epsilon + sum((T(layer) - constant)**2))``: an L2 norm, usually subtracted as a penalty."""
    def inner(T):
        B = of_accessor(T)
        x_t = _T_handle_batch(T, batch)(layer)
        return B.sqrt(epsilon + B.sum((x_t - _as_operand(B, constant, x_t)) ** 2))
    return inner


def _as_operand(B, value, like_t):
    """A number stays a number; an array becomes a tensor of ``like_t``'s framework and device."""
    return value if isinstance(value, numbers.Real) else B.constant(value, like=like_t)


def _blur_step_value(x_t):
    B = of_tensor(x_t)
    return 0.5 * B.sum((x_t - B.stop_gradient(_tf_blur(x_t))) ** 2)


@wrap_objective()
def blur_input_each_step():
    """``0.5 * ||x - stop_gradient(blur(x))||^2`` on the input image.

    A gradient step of size k on ``-blur_input_each_step()`` moves the image k of the way towards its blurred
    self (Nguyen et al. 2015). The value is positive.
    """
    def inner(T):
        return _blur_step_value(T("input"))
    return inner


@wrap_objective()
def blur_alpha_each_step():
    """:func:`blur_input_each_step` on the alpha channel (channel 3) of an RGBA input."""
    def inner(T):
        return _blur_step_value(T("input")[..., 3:4])
    return inner


def _static_batch(op, t, name):
    n = t.shape[0] if of_tensor(t).rank(t) else None
    if n is None:
        raise ValueError(f"{op}: needs a static batch size for layer {name!r}, got shape {t.shape}")
    return n


@wrap_objective()
def channel_interpolate(layer1, n_channel1, layer2, n_channel2):
    """Interpolate across the batch from ``layer1:n_channel1`` (item 0) to ``layer2:n_channel2`` (item N-1).

    Item ``n`` maximises ``(1 - n/(N-1)) * mean(layer1[n, ..., n_channel1]) + n/(N-1) * mean(layer2[n, ...,
    n_channel2])``; the objective is the sum over items. Needs a batch of at least 2.
    """
    def inner(T):
        acts1_t, acts2_t = T(layer1), T(layer2)
        B = of_accessor(T)
        batch_n = _static_batch("channel_interpolate", acts1_t, layer1)
        if batch_n < 2:
            raise ValueError(f"channel_interpolate: needs a batch of at least 2 images, got {batch_n}")
        total = 0.0
        for n in range(batch_n):
            w = n / float(batch_n - 1)
            total += (1 - w) * B.mean(acts1_t[n, ..., n_channel1])
            total += w * B.mean(acts2_t[n, ..., n_channel2])
        return total
    if _is_int(n_channel1) and _is_int(n_channel2):
        reads = {layer1: {n_channel1}}
        reads[layer2] = reads.get(layer2, set()) | {n_channel2}
        inner.channel_reads = reads
    return inner


@wrap_objective()
def penalize_boundary_complexity(shp, w=20, mask=None, C=0.5):
    """Minus the squared deviation of the image border from its blur and from the colour ``C``.

    Value: ``-sum(mask * ((blur5(x) - x)**2 + 0.8 * (x - C)**2))`` where ``mask`` is 1 on a border of
    width ``w`` of an image of shape ``shp`` (or the given ``mask``). Negative, as in Lucid.
    """
    if mask is None:
        mask_np = np.ones(shp, dtype=np.float32)
        mask_np[:, w:-w, w:-w] = 0
    else:
        mask_np = np.asarray(mask, dtype=np.float32)

    def inner(T):
        x_t = T("input")
        B = of_accessor(T)
        diffs_t = (_tf_blur(x_t, w=5) - x_t) ** 2 + 0.8 * (x_t - C) ** 2
        return -B.sum(diffs_t * B.constant(mask_np, like=x_t))
    return inner


@wrap_objective()
def alignment(layer, decay_ratio=2):
    """Minus the mean squared difference of the activations of neighbouring batch items.

    Value: ``-sum_{d=1..4} sum_i mean((A[i] - A[i+d])**2) / decay_ratio**d``. Negative, as in Lucid.
    """
    def inner(T):
        acts_t = T(layer)
        B = of_accessor(T)
        batch_n = _static_batch("alignment", acts_t, layer)
        accum = B.constant(0.0, like=acts_t)
        for d in (1, 2, 3, 4):
            for i in range(batch_n - d):
                accum += B.mean((acts_t[i] - acts_t[i + d]) ** 2) / decay_ratio ** float(d)
        return -accum
    return inner


@wrap_objective(require_format="NHWC")
def diversity(layer):
    """Mean over items of the summed cosine similarity of its Gram matrix to the other items' ones.

    Value: ``sum_{i != j} <G_i, G_j> / N`` where ``G_i`` is item i's channel Gram matrix normalised to unit
    Frobenius norm. Positive; subtract it to make the batch diverse (Lucid's convention).
    """
    def inner(T):
        acts_t = T(layer)
        B = of_accessor(T)
        batch_n = _static_batch("diversity", acts_t, layer)
        channels = acts_t.shape[-1]
        flat_t = B.reshape(acts_t, [batch_n, -1, channels])
        grams_t = B.matmul(flat_t, flat_t, transpose_a=True)
        grams_t = B.l2_normalize(grams_t, axis=(1, 2), epsilon=1e-10)
        total = B.constant(0.0, like=acts_t)
        for i in range(batch_n):
            for j in range(batch_n):
                if i != j:
                    total += B.sum(grams_t[i] * grams_t[j])
        return total / batch_n
    return inner


@wrap_objective()
def input_diff(orig_img):
    """Root mean squared difference between the input image and ``orig_img`` (subtract it as a penalty)."""
    orig_np = np.asarray(orig_img, dtype=np.float32)

    def inner(T):
        B = of_accessor(T)
        x_t = T("input")
        return B.sqrt(B.mean((x_t - B.constant(orig_np, like=x_t)) ** 2))
    return inner


def as_objective(obj):
    """Converts ``obj`` into an :class:`Objective`.

    Args:
        obj: an Objective (returned unchanged), a string ``"layer:n"`` (-> ``channel(layer, n)``; the last
            ``:`` separates the channel, so ``"mixed4a:0:12"`` is channel 12 of ``mixed4a:0``) or a callable
            ``T -> tensor`` (wrapped).

    Raises:
        ValueError: a string without a ``:n`` channel suffix (use ``deepdream(layer)`` for a whole layer), or
            whose channel is not an integer >= 0 written in digits (``"block1_conv2:-1"``, ``":+3"``, ``":1.5"``).
        ArgumentError (a ValueError, also a TypeError): anything else (a number, a class, None).
    """
    if isinstance(obj, Objective):
        return obj
    if isinstance(obj, str):
        layer, sep, n = obj.rpartition(":")
        try:
            n_channel = int(n)
        except ValueError:
            n_channel = None
        if not sep or not layer.strip() or n_channel is None or not n.strip().isascii() \
                or not n.strip().isdigit():
            raise ValueError(f"as_objective: a string objective must be 'layer:channel' with the channel an "
                             f"integer >= 0, such as 'mixed4a:97', got {obj!r} (for a whole layer use "
                             f"objectives.deepdream(layer))")
        return channel(layer.strip(), n_channel)
    if callable(obj) and not isinstance(obj, type):
        return _callable_objective(obj)
    raise ArgumentError(f"as_objective: the objective must be an Objective, a 'layer:channel' string or a "
                        f"T -> tensor callable, got {type(obj).__name__} {obj!r}")
