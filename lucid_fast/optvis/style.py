"""Style-transfer losses (Gatys et al. 2015) as objectives, with Lucid's ``optvis.style`` semantics.

Lucid's :class:`StyleLoss` took activation *tensors* of a TF1 graph and loaded the style image's statistics
into variables with a session. Here the layers are given by name (or as ``T -> tensor`` callables, e.g.
``lambda T: T("mixed3a")[0]``), the style statistics come from precomputed activations
(:meth:`StyleLoss.set_style` with a dict ``{layer: array}`` or a function ``layer -> array``), and the loss is
an :class:`~lucid_fast.optvis.objectives.Objective` over ``T``. Its value is a *loss* (positive, to be
minimised), so maximise its negation::

    style_loss = style.StyleLoss(["conv2d2", "mixed3a", "mixed4a"], style=style_activations)
    content_loss = style.ActivationLoss(["mixed3b"], target=content_activations)
    objective = -style_loss - 100 * content_loss

Lucid's style_transfer_2d notebook compares layers of images within one batch instead; that is
:func:`activation_difference`.

The losses work on TensorFlow and PyTorch models alike (:mod:`lucid_fast.models.backend`). The targets are kept
as numpy (``target_stats``) and handed to the framework where the loss is evaluated: as non-trainable
``tf.Variable`` s for TensorFlow (``target_vars``; assigned in place by a new ``set_style``, so a traced step
sees the new style), as tensors on the activations' device for PyTorch.
"""
import collections.abc
import importlib.util
import sys

import numpy as np

from lucid_fast.models import backend as _backend
from lucid_fast.optvis.objectives import Objective

__all__ = ["gram_style", "mean_l1_loss", "mean_l2_loss", "StyleLoss", "ActivationLoss", "activation_difference"]


def gram_style(a):
    """Gram matrix of activations over every leading position, divided by the number of positions.

    Args:
        a: activations ``(..., C)``; all leading axes (batch included) are flattened into ``P`` positions.

    Returns:
        ``(C, C)`` tensor ``A^T A / P`` with ``A`` the ``(P, C)`` flattened activations.
    """
    B = _of_value(a)
    a = B.as_float(a)
    channels = int(a.shape[-1])
    flat = B.reshape(a, [-1, channels])
    positions = flat.shape[0]
    if positions is None:  # a dynamic TensorFlow shape
        positions = B.as_float(B.size(flat, 0))
    return B.matmul(flat, flat, transpose_a=True) / positions


def mean_l1_loss(g1, g2):
    """Mean absolute difference ``mean(|g1 - g2|)``."""
    B = _of_value(g1)
    return B.mean(B.abs(g1 - g2))


def mean_l2_loss(g1, g2):
    """Root mean squared difference ``sqrt(mean((g1 - g2)**2))`` (its gradient is undefined at g1 == g2)."""
    B = _of_value(g1)
    return B.sqrt(B.mean(B.square(g1 - g2)))


def _of_value(value):
    """The backend of a tensor; for other values (numpy, numbers) TensorFlow when it is installed."""
    if isinstance(value, np.ndarray) or not hasattr(value, "shape"):
        return _backend.get("tensorflow" if importlib.util.find_spec("tensorflow") else "torch")
    return _backend.of_tensor(value)


def _identity(a):
    return a


def _gram_np(a_np):
    """:func:`gram_style` of a reference's activations, in numpy (float64 sums)."""
    flat = a_np.reshape(-1, a_np.shape[-1]).astype(np.float64)
    return (flat.T @ flat / max(flat.shape[0], 1)).astype(np.float32)


def _layer_fn(spec):
    """A layer spec (name or ``T -> tensor`` callable) as a function of ``T``."""
    if isinstance(spec, str):
        return lambda T: T(spec)
    if callable(spec):
        return spec
    raise TypeError(f"style: layers must be given as layer names or T -> tensor callables, got "
                    f"{type(spec).__name__} (TF1 tensors are replaced by names in lucid_fast)")


def _layer_label(spec):
    if isinstance(spec, str):
        return spec
    name = getattr(spec, "__name__", "")
    return name if name and name != "<lambda>" else "<fn>"


def _as_array(value):
    """Reference activations as float32 numpy (numpy, lists, TensorFlow or PyTorch tensors)."""
    if hasattr(value, "detach"):
        value = value.detach().cpu()
    return np.asarray(value, dtype=np.float32)


class _StatisticMatchLoss(Objective):
    """Sum over layers of ``loss_func(stat_func(T(layer)), target)``, targets held as numpy (see the module)."""

    def __init__(self, layers, stat_func, loss_func, ema_decay, kind):
        if isinstance(layers, (str, bytes)) or not isinstance(layers, collections.abc.Iterable):
            raise TypeError(f"{kind}: layers must be a list of layer names or T -> tensor callables, got {layers!r}")
        self.layers = list(layers)
        if not self.layers:
            raise ValueError(f"{kind}: needs at least one layer")
        self._layer_fns = [_layer_fn(spec) for spec in self.layers]
        if ema_decay is not None and not 0.0 <= float(ema_decay) <= 1.0:
            raise ValueError(f"{kind}: ema_decay must be None or in [0, 1], got {ema_decay!r}")
        self.ema_decay = None if ema_decay is None else float(ema_decay)
        self._stat_func = stat_func
        self.loss_func = loss_func
        self._kind = kind
        self.target_stats = None  # numpy statistics of the reference, one per layer, set by _set_targets
        self._target_vars = None  # their tf.Variables, made on first use by a TensorFlow model
        self._ema = {}            # framework -> [steps, zero-debiased moving averages] (when ema_decay)
        super().__init__(self._total_loss, name=kind,
                         description=f"{kind} [" + ", ".join(_layer_label(s) for s in self.layers) + "]")

    # -- targets ------------------------------------------------------------------------------------------

    def _target_statistics(self, feeds):
        """Statistics of the reference image's activations given as a mapping, a function or a list."""
        if isinstance(feeds, collections.abc.Mapping):
            def T_ref(name):
                if name not in feeds:
                    raise ValueError(f"{self._kind}: no activations given for layer {name!r} "
                                     f"(got layers {sorted(map(str, feeds))})")
                return _as_array(feeds[name])
            acts = [fn(T_ref) for fn in self._layer_fns]
        elif callable(feeds):
            acts = [fn(lambda name: _as_array(feeds(name))) for fn in self._layer_fns]
        elif isinstance(feeds, collections.abc.Sequence) and not isinstance(feeds, (str, bytes)):
            if len(feeds) != len(self.layers):
                raise ValueError(f"{self._kind}: got {len(feeds)} activation arrays for {len(self.layers)} layers")
            acts = [_as_array(a) for a in feeds]
        else:
            raise TypeError(f"{self._kind}: reference activations must be a dict {{layer: array}}, a function "
                            f"layer -> array or a list of arrays (one per layer), got {type(feeds).__name__}")
        return [self._reference_statistic(np.asarray(a, dtype=np.float32)) for a in acts]

    def _reference_statistic(self, a_np):
        """The statistic of a reference's activations, as float32 numpy. The built-in statistics compute in
        numpy; one of your own gets a tensor of TensorFlow (PyTorch where TensorFlow is not installed)."""
        if self._stat_func is gram_style:
            return _gram_np(a_np)
        if self._stat_func is _identity:
            return a_np
        B = _of_value(a_np)
        value = self._stat_func(B.constant(a_np))
        return np.asarray(value.detach().cpu() if hasattr(value, "detach") else value, dtype=np.float32)

    def _set_targets(self, feeds):
        stats = self._target_statistics(feeds)
        if self.target_stats is not None:
            for old, s, spec in zip(self.target_stats, stats, self.layers):
                if old.shape != s.shape:
                    raise ValueError(f"{self._kind}: the new target for layer {_layer_label(spec)!r} has shape "
                                     f"{s.shape}, the previous one {old.shape}; make a new loss instead")
        self.target_stats = stats
        if self._target_vars is not None:
            for var, s in zip(self._target_vars, stats):
                var.assign(s)
        elif "tensorflow" in sys.modules:  # TensorFlow in use: its state is made now, outside any traced step
            _ = self.target_vars
            if self.ema_decay is not None:
                self._ema_tf_state(_backend.get("tensorflow").tf, stats)

    @property
    def target_vars(self):
        """The targets as non-trainable ``tf.Variable`` s (made on first use; None before a target is set)."""
        if self.target_stats is None:
            return None
        if self._target_vars is None:
            tf = _backend.get("tensorflow").tf
            with tf.init_scope():  # made eagerly even when first asked for inside a traced step
                self._target_vars = [tf.Variable(s, trainable=False) for s in self.target_stats]
        return self._target_vars

    def _targets(self, B, like_ts):
        """The targets as ``B``'s tensors (TensorFlow: the variables; PyTorch: tensors on each statistic's
        device)."""
        if B.name == "tensorflow":
            return [B.tf.convert_to_tensor(v) for v in self.target_vars]
        return [B.constant(s, like=like_t) for s, like_t in zip(self.target_stats, like_ts)]

    # -- evaluation ---------------------------------------------------------------------------------------

    def input_statistics(self, T):
        """The statistic of each layer for the images being optimised."""
        return [self._stat_func(fn(T)) for fn in self._layer_fns]

    def effective_statistics(self, T):
        """:meth:`input_statistics`, replaced in value (not in gradient) by their moving averages when
        ``ema_decay`` is set. Updates the averages: call it once per optimisation step."""
        stats = self.input_statistics(T)
        if self.ema_decay is None:
            return stats
        B = _backend.of_accessor(T)
        decay = self.ema_decay
        if B.name == "tensorflow":
            return self._ema_tf(B.tf, stats, decay)
        state = self._ema.get(B.name)
        if state is None:
            state = self._ema[B.name] = [0, [B.stop_gradient(s) * 0.0 for s in stats]]
        state[0] += 1
        out = []
        for k, s in enumerate(stats):
            state[1][k] = decay * state[1][k] + (1.0 - decay) * B.stop_gradient(s)
            average = state[1][k] / (1.0 - decay ** state[0])
            out.append(s + B.stop_gradient(average - s))
        return out

    def _ema_tf_state(self, tf, stats):
        state = self._ema.get("tensorflow")
        if state is None:
            with tf.init_scope():
                state = self._ema["tensorflow"] = [tf.Variable(0.0, trainable=False),
                                                   [tf.Variable(np.zeros(s.shape, np.float32), trainable=False)
                                                    for s in stats]]
        return state

    def _ema_tf(self, tf, stats, decay):
        state = self._ema_tf_state(tf, stats)
        steps = state[0].assign_add(1.0, read_value=True)
        out = []
        for s, biased in zip(stats, state[1]):
            new_biased = biased.assign(decay * biased + (1.0 - decay) * tf.stop_gradient(s), read_value=True)
            average = new_biased / (1.0 - tf.pow(decay, steps))
            out.append(s + tf.stop_gradient(average - s))
        return out

    def losses(self, T):
        """The loss of each layer (a list of scalar tensors)."""
        if self.target_stats is None:
            raise RuntimeError(f"{self._kind}: no reference set yet; call set_style/set_target first")
        stats = self.effective_statistics(T)
        targets = self._targets(_backend.of_accessor(T), stats)
        return [self.loss_func(s, v) for s, v in zip(stats, targets)]

    def _total_loss(self, T):
        return _backend.of_accessor(T).add_n(self.losses(T))


class StyleLoss(_StatisticMatchLoss):
    """Image style loss: distance between Gram matrices of the optimised image and a style image.

    The objective's value is ``sum_l loss_func(style_func(T(l)), style_func(style activations at l))``,
    positive, so maximise ``-StyleLoss(...)``.

    Args:
        style_layers: layer names, or ``T -> tensor`` callables (e.g. ``lambda T: T("mixed3a")[0]``).
        ema_decay: None, or a decay in [0, 1]: the loss then compares the style statistics' exponential moving
            average over steps (zero-debiased, as TF1's ExponentialMovingAverage did for tensors) while the
            gradient still flows through the current step's statistics. Useful when each step sees only part
            of the output. The averages update on every evaluation of the objective.
        style_func: statistic of a layer (default :func:`gram_style`).
        loss_func: distance between statistics (default :func:`mean_l1_loss`).
        style: optional style activations, passed to :meth:`set_style` right away.

    Attributes:
        target_stats: the style statistics, float32 numpy, one per layer (None before set_style).
        target_vars: the same as non-trainable tf.Variables, for TensorFlow models (None before set_style).
    """

    def __init__(self, style_layers, ema_decay=None, style_func=gram_style, loss_func=mean_l1_loss, style=None):
        super().__init__(style_layers, style_func, loss_func, ema_decay, kind="StyleLoss")
        self.style_func = style_func
        if style is not None:
            self.set_style(style)

    @property
    def style_layers(self):
        return self.layers

    def set_style(self, input_feeds):
        """Sets the target statistics from the style image's activations.

        Args:
            input_feeds: ``{layer_name: array}`` (the activations of the style image at each layer name the
                specs use), a function ``layer_name -> array``, or a list of arrays, one per style layer.
                Callable layer specs are applied to these activations as they are to ``T``.
        """
        self._set_targets(input_feeds)

    def input_grams(self, T):
        """The style statistics (Gram matrices) of the images being optimised."""
        return self.input_statistics(T)

    def style_losses(self, T):
        """The loss of each style layer (Lucid's ``style_losses``)."""
        return self.losses(T)


class ActivationLoss(_StatisticMatchLoss):
    """Content loss: distance between the activations of the optimised image and of a reference image.

    The objective's value is ``sum_l loss_func(transform_f(T(l)), transform_f(target at l))``, positive.

    Args:
        layers: layer names or ``T -> tensor`` callables.
        loss_func: distance (default :func:`mean_l1_loss`).
        transform_f: optional statistic applied to both sides (None: the activations themselves).
        target: optional reference activations, passed to :meth:`set_target` right away.
    """

    def __init__(self, layers, loss_func=mean_l1_loss, transform_f=None, target=None):
        super().__init__(layers, transform_f or _identity, loss_func, None, kind="ActivationLoss")
        self.transform_f = transform_f
        if target is not None:
            self.set_target(target)

    def set_target(self, input_feeds):
        """Sets the reference activations (same formats as :meth:`StyleLoss.set_style`)."""
        self._set_targets(input_feeds)


def activation_difference(layer_names, activation_loss_f=mean_l1_loss, transform_f=None, difference_to=1,
                          optimized_index=0):
    """Loss between two images of the same batch: ``sum_l loss(f(T(l)[difference_to]), f(T(l)[optimized_index]))``.

    This is the helper of Lucid's style_transfer_2d notebook, where the batch stacks the optimised image
    (index 0), the content image (1) and the style image (2). The reference side is treated as constant
    (stop_gradient), as the notebook's reference images were.

    Args:
        layer_names: layers to compare.
        activation_loss_f: distance (default :func:`mean_l1_loss`).
        transform_f: optional statistic (e.g. :func:`gram_style` for a style loss).
        difference_to: batch index of the reference image.
        optimized_index: batch index of the optimised image.

    Returns:
        An Objective whose value is the (positive) loss.
    """
    layer_names = list(layer_names)
    f = transform_f or (lambda a: a)

    def inner(T):
        B = _backend.of_accessor(T)
        losses = []
        for name in layer_names:
            acts_t = T(name)
            reference = f(B.stop_gradient(acts_t[difference_to]))
            optimized = f(acts_t[optimized_index])
            losses.append(activation_loss_f(reference, optimized))
        return B.add_n(losses)

    return Objective(inner, name="activation_difference",
                     description="Activation_Difference [" + ", ".join(layer_names) + "]")
