"""The :class:`Objective` class and its algebra, :class:`NativeTerm`, and the tools that make objectives
(:func:`wrap_objective`, :func:`handle_batch`, :class:`PerImageObjective`).

The objective factories (``channel``, ``neuron``, ``total_variation``, ...) and ``as_objective`` are in
:mod:`lucid_fast.optvis.objectives`, which re-exports everything public here; import from there. This module
does not import that one (``as_objective`` turns ``"layer:n"`` strings into ``objectives.channel``, so it lives
with the factories; the algebra here only needs the callable case, :func:`_callable_objective`).

An objective wraps a function ``T -> scalar tensor`` of the layer accessor ``T`` (see
:mod:`lucid_fast.optvis.objectives`), to be **maximised**.

Native terms
------------
Some terms are computed by the engine's native kernels instead of TensorFlow: today the total variation of the
input image. An objective therefore has two parts:

* :meth:`Objective.tf_part` — the TensorFlow value, *without* native terms (what the engine differentiates);
* :attr:`Objective.native_terms` — a tuple of :class:`NativeTerm` ``(kind, layer, weight, batch)`` whose
  weighted values the engine adds to the objective and whose weighted gradients it adds to d/d input.

Linear algebra (``+``, ``-``, scaling, ``sum``) carries and scales native terms; non-linear combinations
(``Objective * Objective``) evaluate both sides entirely in TensorFlow. Calling an objective, ``obj(T)``,
always evaluates everything in TensorFlow (native terms through their TF fallback), so ``obj(T)`` equals
``obj.tf_part(T) + sum(term.tf_value(T) for term in obj.native_terms)``.

Channel reads
-------------
:attr:`Objective.channel_reads` says which channels of which layers the objective reads: ``None`` (unknown:
any channel of any layer; the default for custom objectives) or a dict ``{layer: frozenset of channel
indices}`` naming every model layer it reads (``"input"`` aside) and, per layer, the only channels ``c`` of
``T(layer)[..., c]`` its value depends on. ``objectives.channel``, ``objectives.neuron`` and
``objectives.channel_interpolate`` declare theirs, and the algebra merges them (a sum of ``channel(layer, c_i,
batch=i)`` reads the set of the ``c_i``). The render engine uses this to compute only those channels of the
deepest layers (the convolution's kernel sliced to them): unread channels of ``T(layer)`` are then zeros. A
factory declares its reads by giving the function it returns a ``channel_reads`` attribute; an objective that
declares wrongly gets wrong values and gradients, so declare only what is certain.
"""
import dataclasses
import functools
import inspect
import math
import numbers
from typing import Optional

import numpy as np

from lucid_fast.misc.errors import ArgumentError
from lucid_fast.models.backend import of_accessor
from lucid_fast.optvis.objectives_util import _T_force_NHWC, _T_handle_batch, _is_int, _make_arg_str

# pylint: disable=invalid-name  (T is the conventional name of the layer accessor)

__all__ = ["NativeTerm", "Objective", "PerImageObjective", "wrap_objective", "handle_batch"]

NATIVE_KINDS = ("total_variation",)


def _is_number(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _fmt_number(value):
    value = float(value)
    return str(int(value)) if value.is_integer() and abs(value) < 1e15 else f"{value:g}"


def _scaled_description(factor, base):
    if factor == 1:
        return base
    if factor == -1:
        return "-" + base
    return f"{_fmt_number(factor)} * {base}"


def _base_layer_name(layer):
    """``"input:0"`` -> ``"input"`` (Lucid's tensor-name suffix), anything else unchanged."""
    return layer[:-2] if isinstance(layer, str) and layer.endswith(":0") else layer


def _as_scalar(value, T):
    """A float32 scalar tensor of ``T``'s framework from an objective function's result (non-scalars are
    summed, as TF1 did)."""
    B = of_accessor(T)
    value_t = B.as_float(value)
    if B.rank(value_t) != 0:
        value_t = B.sum(value_t)
    return value_t


def _tv_sum(images_t, T):
    """``tf.image.total_variation`` summed over the batch: the definition of the native TV term."""
    B = of_accessor(T)
    return B.sum(B.total_variation(images_t))


# ---------------------------------------------------------------------------------------------------------
# Native terms


@dataclasses.dataclass(frozen=True)
class NativeTerm:
    """A term of an objective that the engine evaluates with a native kernel instead of TensorFlow.

    Its contribution to the objective is ``weight * value`` where, for ``kind == "total_variation"``,
    ``value = sum(tf.image.total_variation(T(layer)))`` restricted to item ``batch`` when it is an int; its
    gradient ``weight * d value / d T(layer)`` is added to the engine's gradient with respect to the input.

    Attributes:
        kind: ``"total_variation"`` (the only kind so far).
        layer: the tensor it acts on; only ``"input"`` (the image before transforms) is native.
        weight: the factor it enters the objective with (negative for a penalty).
        batch: ``None`` for the whole batch, or the index of the one batch item it applies to.
    """

    kind: str
    layer: str = "input"
    weight: float = 1.0
    batch: Optional[int] = None

    def __post_init__(self):
        if self.kind not in NATIVE_KINDS:
            raise ValueError(f"NativeTerm: kind must be one of {NATIVE_KINDS}, got {self.kind!r}")
        if self.layer != "input":
            raise ValueError(f"NativeTerm: only layer 'input' has native terms, got {self.layer!r}")
        if not _is_number(self.weight) or not math.isfinite(self.weight):
            raise ValueError(f"NativeTerm: weight must be a finite real number, got {self.weight!r}")
        if self.batch is not None and not _is_int(self.batch):
            raise ValueError(f"NativeTerm: batch must be None or an int, got {self.batch!r}")
        object.__setattr__(self, "weight", float(self.weight))
        if self.batch is not None:
            object.__setattr__(self, "batch", int(self.batch))

    @property
    def key(self):
        """What identifies a term apart from its weight: like terms are merged by adding weights."""
        return (self.kind, self.layer, self.batch)

    def scaled(self, factor):
        """The same term with its weight multiplied by ``factor``."""
        return dataclasses.replace(self, weight=self.weight * float(factor))

    def tf_value(self, T):
        """The weighted value of the term computed in TensorFlow (the reference / fallback path)."""
        images_t = _T_handle_batch(T, self.batch)(self.layer)
        return self.weight * _tv_sum(images_t, T)

    def native_value_and_grad(self, images, grad_out=None):
        """The weighted value and gradient computed by the native kernel (``lucid_fast.ops.total_variation``).

        Args:
            images: the value of ``T(layer)``: float32 NHWC numpy (CPU) or cupy (GPU) array, C-contiguous.
            grad_out: optional float32 array of the images' shape; ``weight * d value / d images`` is ADDED
                to it in place. When None, a zero array is allocated (64-byte aligned on the CPU).

        Returns:
            (value, grad_out): ``value`` is a Python float, ``weight * TV``; ``grad_out`` holds the gradient.
        """
        from lucid_fast import ops  # the native extension, imported only when a native term is evaluated

        if grad_out is None:
            xp = np
            if type(images).__module__.split(".")[0] == "cupy":
                import cupy as xp  # noqa: N813  (same array API)
            grad_out = ops.zeros_aligned(images.shape, xp=xp)
        if self.batch is None:
            view, grad_view = images, grad_out
        else:
            n = images.shape[0]
            if not -n <= self.batch < n:
                raise ValueError(f"NativeTerm: batch={self.batch} is outside the batch of {n} image(s)")
            b = self.batch % n
            view, grad_view = images[b:b + 1], grad_out[b:b + 1]
        value, _ = ops.total_variation(view, weight=self.weight, grad_out=grad_view)
        return self.weight * value, grad_out


def _check_channel_reads(reads):
    """``None`` or ``{layer: frozenset of ints}`` (validated copy)."""
    if reads is None:
        return None
    if not isinstance(reads, dict):
        raise ArgumentError(f"Objective: channel_reads must be None or a dict {{layer: channels}}, got "
                            f"{type(reads).__name__}")
    out = {}
    for layer, channels in reads.items():
        if not isinstance(layer, str):
            raise ArgumentError(f"Objective: channel_reads keys must be layer names, got {layer!r}")
        channels = frozenset(channels)
        if not all(_is_int(c) for c in channels):
            raise ArgumentError(f"Objective: channel_reads[{layer!r}] must hold int channel indices, got "
                                f"{sorted(channels, key=repr)!r}")
        out[_base_layer_name(layer)] = out.get(_base_layer_name(layer), frozenset()) | frozenset(
            int(c) for c in channels)
    return out


def _merge_channel_reads(objs):
    """The channel reads of a combination of objectives: the union, or None if any part's reads are unknown."""
    merged = {}
    for o in objs:
        if not isinstance(o, Objective):
            continue
        if o.channel_reads is None:
            return None
        for layer, channels in o.channel_reads.items():
            merged[layer] = merged.get(layer, frozenset()) | channels
    return merged


def _merge_native_terms(terms):
    """Like terms (same kind, layer, batch) merged by adding weights, in first-seen order; zero weights dropped."""
    weights = {}
    for term in terms:
        if not isinstance(term, NativeTerm):
            raise ArgumentError(f"Objective: native_terms must hold NativeTerm instances, got {type(term).__name__}")
        weights[term.key] = weights.get(term.key, 0.0) + term.weight
    return tuple(NativeTerm(kind, layer, w, batch) for (kind, layer, batch), w in weights.items() if w != 0.0)


# ---------------------------------------------------------------------------------------------------------
# The Objective class and its algebra


class Objective:
    """An objective: a function of the layer accessor ``T`` to a scalar to maximise, plus native terms.

    Args:
        objective_func: ``T -> tf.Tensor`` giving the TensorFlow part of the objective, or None when the
            objective is made only of native terms. A non-scalar result is summed.
        name: short name (the factory's name for built-in objectives).
        description: human-readable description, composed by the algebra (``"Sum(...)"``, ``"2 * ..."``).
        native_terms: iterable of :class:`NativeTerm` added to the objective by the engine's kernels.
        channel_reads: None (unknown), or ``{layer: channels}``: every model layer ``objective_func`` reads and
            the only channels of each it depends on (see "Channel reads" above). Default: None, or ``{}``
            when ``objective_func`` is None.

    Attributes:
        objective_func: as given (the TF part only).
        name, description: as given or composed.
        native_terms: tuple of :class:`NativeTerm`, like terms merged.
        channel_reads: None or ``{layer: frozenset of channel indices}``.
        has_tf_part: False when the objective is made only of native terms (its ``tf_part`` is a constant 0).
    """

    __array_ufunc__ = None  # numpy scalars on the left defer to our reflected operators

    def __init__(self, objective_func, name="", description="", native_terms=(), channel_reads=None):
        if objective_func is not None and not callable(objective_func):
            raise ArgumentError(f"Objective: objective_func must be callable (T -> tensor) or None, "
                                f"got {type(objective_func).__name__}")
        self.objective_func = objective_func
        self.name = name
        self.description = description
        self.native_terms = _merge_native_terms(native_terms)
        self.channel_reads = {} if objective_func is None else _check_channel_reads(channel_reads)

    @property
    def description(self):
        return self._description

    @description.setter
    def description(self, text):
        # a description set by hand (as Lucid's notebooks do) is an atom for the algebra's descriptions
        self._description = text
        self._sum_parts = None   # descriptions of the summands when this is a Sum (for flat descriptions)
        self._compound = False   # description is "k * X" / "-X" / "X / k" (parenthesised when scaled again)
        self._scale = None       # (k, "X") when the description is "k * X": rescaling folds k

    # -- evaluation ---------------------------------------------------------------------------------------

    @property
    def has_tf_part(self):
        return self.objective_func is not None

    def tf_part(self, T):
        """The TensorFlow part of the objective (native terms excluded) as a float32 scalar tensor."""
        if self.objective_func is None:
            return of_accessor(T).constant(0.0)
        return _as_scalar(self.objective_func(T), T)

    def __call__(self, T):
        """The whole objective in TensorFlow: ``tf_part(T)`` plus every native term's TF fallback."""
        value_t = self.tf_part(T)
        for term in self.native_terms:
            value_t = value_t + term.tf_value(T)
        return value_t

    def __repr__(self):
        extra = f", native_terms={list(self.native_terms)}" if self.native_terms else ""
        return f"{type(self).__name__}({self.description or self.name!r}{extra})"

    # -- construction helpers -----------------------------------------------------------------------------

    def _derive(self, objective_func, description, native_terms, compound):
        out = Objective(objective_func, name=self.name, description=description, native_terms=native_terms,
                        channel_reads=self.channel_reads)
        out._compound = compound
        return out

    def _scaled(self, factor, objective_func):
        """A copy scaled by ``factor`` (TF part given as ``objective_func``); descriptions fold the factors."""
        k0, base = self._scale if self._scale is not None else (1.0, self._desc_operand())
        k = k0 * factor
        out = self._derive(objective_func, _scaled_description(k, base),
                           [t.scaled(factor) for t in self.native_terms], compound=k != 1)
        out._scale = (k, base)
        return out

    def _copy(self):
        out = Objective(self.objective_func, self.name, self.description, self.native_terms, self.channel_reads)
        out._sum_parts, out._compound, out._scale = self._sum_parts, self._compound, self._scale
        return out

    def _desc_operand(self):
        return f"({self.description})" if self._compound else self.description

    # -- linear algebra -----------------------------------------------------------------------------------

    @staticmethod
    def sum(objs):
        """The sum of an iterable of objectives (numbers and ``T -> tensor`` callables are accepted too)."""
        items = [_coerce_operand(o, "sum") for o in objs]
        if not items:
            raise ValueError("Objective.sum: needs at least one objective, got an empty iterable")
        constant = sum(float(o) for o in items if _is_number(o))
        objectives = [o for o in items if isinstance(o, Objective)]
        funcs = [o.objective_func for o in objectives if o.objective_func is not None]
        if funcs:
            def objective_func(T):
                value_t = _as_scalar(funcs[0](T), T)
                for f in funcs[1:]:
                    value_t = value_t + _as_scalar(f(T), T)
                return value_t + constant if constant != 0.0 else value_t
        elif constant != 0.0:
            def objective_func(T):  # a constant objective
                return of_accessor(T).constant(constant)
        else:
            objective_func = None
        parts = []
        for o in objectives:
            parts.extend(o._sum_parts if o._sum_parts is not None else [o.description])
        if constant != 0.0:
            parts.append(_fmt_number(constant))
        out = Objective(objective_func,
                        name=", ".join(o.name for o in objectives if o.name),
                        description="Sum(" + " +\n".join(parts) + ")",
                        native_terms=[t for o in objectives for t in o.native_terms],
                        channel_reads=_merge_channel_reads(objectives))
        out._sum_parts = parts
        return out

    def __add__(self, other):
        other = _coerce_operand(other, "+")
        if _is_number(other) and other == 0:
            return self._copy()  # makes sum([...]) (which starts from 0) leave descriptions clean
        return Objective.sum([self, other])

    def __radd__(self, other):
        other = _coerce_operand(other, "+")
        if _is_number(other) and other == 0:
            return self._copy()
        return Objective.sum([other, self])

    def __neg__(self):
        func = self.objective_func
        return self._scaled(-1.0, None if func is None else (lambda T: -_as_scalar(func(T), T)))

    def __sub__(self, other):
        other = _coerce_operand(other, "-")
        return self + (-other)

    def __rsub__(self, other):
        other = _coerce_operand(other, "-")
        return (-self) + other

    def __mul__(self, other):
        if _is_number(other):
            k = float(other)
            func = self.objective_func
            return self._scaled(k, None if func is None else (lambda T: k * _as_scalar(func(T), T)))
        if isinstance(other, Objective) or (callable(other) and not isinstance(other, type)):
            other = _callable_objective(other)
            left, right = self, other
            out = Objective(lambda T: left(T) * right(T),
                            name=", ".join(n for n in (left.name, right.name) if n),
                            description="Product(" + " *\n".join([left.description, right.description]) + ")",
                            channel_reads=_merge_channel_reads([left, right]))
            return out
        raise ArgumentError(f"Objective: can only be multiplied by a number (int or float) or by another Objective "
                            f"(a product), not by {type(other).__name__}")

    def __rmul__(self, other):
        return self.__mul__(other)

    def __truediv__(self, other):
        if not _is_number(other):
            raise ArgumentError(f"Objective: can only be divided by a number (int or float), not by "
                                f"{type(other).__name__}")
        if other == 0:
            raise ZeroDivisionError("Objective: division by zero")
        k = float(other)
        func = self.objective_func
        return self._derive(None if func is None else (lambda T: _as_scalar(func(T), T) / k),
                            f"{self._desc_operand()} / {_fmt_number(other)}",
                            [t.scaled(1.0 / k) for t in self.native_terms], compound=True)

    def __rtruediv__(self, other):
        raise ArgumentError(f"Objective: cannot divide {type(other).__name__} by an Objective; "
                            f"only Objective / number is supported")


def _coerce_operand(other, op):
    """Numbers stay numbers, Objectives stay, ``T -> tensor`` callables become Objectives; the rest is an
    ArgumentError (a ValueError, also a TypeError)."""
    if _is_number(other) or isinstance(other, Objective):
        return other
    if callable(other) and not isinstance(other, type):
        return _callable_objective(other)
    raise ArgumentError(f"Objective: the operands of {op!r} must be Objectives, numbers (int or float) or "
                        f"T -> tensor callables, not {type(other).__name__}")


def _callable_objective(obj):
    """``obj`` unchanged when it is an :class:`Objective`, else the callable ``T -> tensor`` wrapped in one
    (what ``objectives.as_objective`` does with these two kinds of argument)."""
    if isinstance(obj, Objective):
        return obj
    name = getattr(obj, "__name__", "")
    return Objective(obj, name=name, description=name if name and name != "<lambda>" else "custom objective")


# ---------------------------------------------------------------------------------------------------------
# Making objectives


def wrap_objective(require_format=None, handle_batch=False):
    """Decorator turning ``f(*args) -> (T -> tensor)`` into a factory ``f(*args) -> Objective``.

    The factory keeps ``f``'s name and docstring; its objectives are named ``f.__name__`` and described as
    ``"Name [arg1, arg2, key=value]"``. Use it bare (``@wrap_objective``, as older Lucid and its notebooks do)
    or called (``@wrap_objective()``, ``@wrap_objective(require_format="NHWC")``, as Lucid 0.3 does).

    Args:
        require_format: ``"NHWC"`` makes ``T`` return dense ``(N, C)`` activations as ``(N, 1, 1, C)``; when
            the decorator is used bare, this first argument is the function being wrapped.
        handle_batch: when True and ``f`` has no ``batch`` parameter of its own, the factory accepts a
            keyword ``batch=None`` restricting every ``T(...)`` to that batch item (Lucid declared this
            option but ignored it; the default keeps Lucid's behaviour).

    ``f`` may also return an :class:`Objective` (e.g. one with native terms); it is then re-labelled with the
    factory's name and description.
    """
    f = None
    if callable(require_format):  # used bare: @wrap_objective
        f, require_format = require_format, None
    if require_format not in (None, "NHWC"):
        raise ValueError(f"wrap_objective: require_format must be None or 'NHWC', got {require_format!r}")

    def decorate(func):
        try:
            params = inspect.signature(func).parameters
            own_batch = "batch" in params
        except (TypeError, ValueError):
            own_batch = True
        pop_batch = handle_batch and not own_batch

        @functools.wraps(func)
        def factory(*args, **kwargs):
            batch = kwargs.pop("batch", None) if pop_batch else None
            result = func(*args, **kwargs)
            arg_strs = [_make_arg_str(a) for a in args]
            arg_strs += [f"{k}={_make_arg_str(v)}" for k, v in kwargs.items()]
            if batch is not None:
                arg_strs.append(f"batch={batch}")
            description = func.__name__.title() + " [" + ", ".join(arg_strs) + "]"
            if isinstance(result, Objective):
                return Objective(result.objective_func, name=func.__name__, description=description,
                                 native_terms=result.native_terms, channel_reads=result.channel_reads)
            if not callable(result):
                raise ArgumentError(f"wrap_objective: {func.__name__} must return a function T -> tensor or an "
                                    f"Objective, got {type(result).__name__}")

            def objective_func(T):
                if require_format == "NHWC":
                    T = _T_force_NHWC(T)
                return result(_T_handle_batch(T, batch))

            return Objective(objective_func, name=func.__name__, description=description,
                             channel_reads=getattr(result, "channel_reads", None))

        return factory

    return decorate if f is None else decorate(f)


def handle_batch(batch=None):
    """Lucid's decorator for an objective's inner function ``T -> tensor``: every ``T(name)`` it reads is
    restricted to batch item ``batch`` (kept as a batch of one; ``None`` leaves ``T`` unchanged)::

        def inner(T): ...
        objective = Objective(handle_batch(2)(inner))
    """
    if batch is not None and not _is_int(batch):
        raise ValueError(f"handle_batch: batch must be None or an int, got {batch!r}")
    return lambda f: lambda T: f(_T_handle_batch(T, batch=batch))


class PerImageObjective(Objective):
    """An objective that is a sum of one value per image of the batch, and can give those values
    (``tf_per_item(T)``, shape ``(B,)``): the engine's ``per_item=True`` returns them after every step. The
    algebra (``+``, ``*``, ...) makes plain objectives of it."""

    def __init__(self, per_item_func, name="", description="", channel_reads=None):
        super().__init__(lambda T: of_accessor(T).sum(per_item_func(T)), name, description, (), channel_reads)
        self.per_item_func = per_item_func

    def tf_per_item(self, T):
        """Each image's objective, a float32 ``(B,)`` tensor whose sum is :meth:`tf_part`."""
        return self.per_item_func(T)
