"""PyTorch gradient overrides: Lucid's redirected ReLU / ReLU6 gradient, the torch twin of
:mod:`lucid_fast.models.tf_overrides` (no TensorFlow here; torch is imported by this module, which only the
PyTorch adapter loads).

:class:`RedirectedReLU` is a ``torch.autograd.Function`` whose backward is :func:`redirected_relu_grad` (the same
math as ``tf_overrides.redirected_relu_grad``). :class:`ReluOverrideMode` is a
``torch.overrides.TorchFunctionMode``, active only while the adapter runs a forward with ``relu_override`` set,
that routes these calls to it:

* ``nn.ReLU`` (``inplace`` or not), ``F.relu(x, inplace=...)``, ``F.relu_``, ``torch.relu``, ``torch.relu_``,
  ``Tensor.relu``, ``Tensor.relu_``: the redirected ReLU;
* ``nn.ReLU6`` and ``nn.Hardtanh(0, 6)`` (both call ``F.hardtanh(x, 0, 6)``), ``F.relu6``, ``F.hardtanh`` /
  ``F.hardtanh_`` with bounds exactly (0, 6): the redirected ReLU6.

Not covered (their ordinary gradient is used): ReLUs written as ``clamp`` / ``clamp_min`` / ``max(x, 0)`` /
``F.threshold``, ``F.hardtanh`` with other bounds, fused modules (``torch.ao.nn.intrinsic.ConvReLU2d``),
``torch.ops.aten.relu`` called directly, and anything inside TorchScript (no Python dispatch there).
An in-place call stays in place (the Function marks its input dirty and saves boolean masks, not the input).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F  # noqa: N812  (torch's own spelling)
from torch.overrides import TorchFunctionMode

__all__ = ["RELU_OVERRIDE_MODES", "relu_override_mode", "redirected_relu_grad", "redirected_relu",
           "ReluOverrideMode"]

RELU_OVERRIDE_MODES = (False, True, "force")


def relu_override_mode(value):
    """A ``relu_override`` setting: False (torch's ReLU gradient), True (Lucid's redirected gradient, decided per
    batch item) or ``"force"`` (the redirected gradient for every item), as ``tf_overrides.relu_override_mode``."""
    if isinstance(value, str):
        if value != "force":
            raise ValueError(f"relu_override must be False, True or 'force', got {value!r}")
        return "force"
    return bool(value)


def redirected_relu_grad(neg, over, grad, force=False):
    """Lucid's redirected ReLU (ReLU6) gradient, for an engine that maximizes its objective.

    Args:
        neg: boolean tensor, the ReLU's input ``x < 0``.
        over: boolean tensor ``x > upper`` for ReLU6, None for ReLU.
        grad: the upstream gradient ``d objective / d relu output``, same shape; the first axis is the batch.
        force: the redirected part for every batch item.

    Returns:
        ``d objective / d x``: per batch item, the ordinary part (``grad`` where ``x >= 0`` and not over the
        upper bound; an input exactly at 0 passes, as in Lucid) when any of its entries is non-zero, else the
        redirected part (``grad`` except where ``x < 0 and grad < 0`` or ``x > upper and grad > 0``: what
        would push the input further into the blocked region); with ``force`` the redirected part.
    """
    wrong_way = neg & (grad < 0)
    if over is not None:
        wrong_way = wrong_way | (over & (grad > 0))
    if force:
        return grad.masked_fill(wrong_way, 0.0)
    blocked = neg if over is None else neg | over
    ordinary = grad.masked_fill(blocked, 0.0)
    if ordinary.dim() == 0:
        return ordinary
    flat = ordinary.reshape(ordinary.shape[0], -1)
    if flat.shape[1] == 0:
        return ordinary
    # "not entirely zero" as max > 0 or min < 0, as the TensorFlow form
    passes = (flat.amax(dim=1) > 0) | (flat.amin(dim=1) < 0)
    if bool(passes.all()):  # usually every item passes (all but the first steps of a render)
        return ordinary
    passes = passes.reshape((-1,) + (1,) * (grad.dim() - 1))
    return torch.where(passes, ordinary, grad.masked_fill(wrong_way, 0.0))


class RedirectedReLU(torch.autograd.Function):
    """``relu(x)`` (``upper`` None) or ``relu6(x)`` (``upper`` 6.0) whose backward is
    :func:`redirected_relu_grad`; ``inplace`` writes into ``x`` as ``F.relu(x, inplace=True)`` does."""

    @staticmethod
    def forward(ctx, x, upper, force, inplace):  # noqa: D102
        neg = x < 0
        over = x > upper if upper is not None else None
        if upper is None:
            y = torch.relu_(x) if inplace else torch.relu(x)
        else:
            y = F.hardtanh(x, 0.0, float(upper), inplace)
        if inplace:
            ctx.mark_dirty(x)
        ctx.force = force
        ctx.save_for_backward(neg, over)
        return y

    @staticmethod
    def backward(ctx, grad):  # noqa: D102
        neg, over = ctx.saved_tensors
        return redirected_relu_grad(neg, over, grad, force=ctx.force), None, None, None


def redirected_relu(x, upper=None, force=False, inplace=False):
    """``relu(x)`` (or ``relu6`` with ``upper=6.0``) with Lucid's redirected gradient (``force``: for every item)."""
    return RedirectedReLU.apply(x, upper, bool(force), bool(inplace))


def _relu_table():
    """``{function: (upper, inplace, how to read the call)}`` for the calls :class:`ReluOverrideMode` routes."""
    table = {}
    for fn in (F.relu, torch.relu, torch.Tensor.relu):
        table[fn] = (None, False, "relu")
    for fn in (torch.relu_, torch.Tensor.relu_, getattr(F, "relu_", torch.relu_)):
        table[fn] = (None, True, "plain")
    table[F.relu6] = (6.0, False, "relu")
    table[F.hardtanh] = (6.0, False, "hardtanh")
    table[F.hardtanh_] = (6.0, True, "hardtanh_")
    return table


_RELU_CALLS = _relu_table()


def _relu_call(func, args, kwargs):
    """``(input, upper, inplace)`` when ``func(*args, **kwargs)`` is a ReLU or ReLU6 the mode redirects, else
    None."""
    spec = _RELU_CALLS.get(func)
    if spec is None or not args or not isinstance(args[0], torch.Tensor) or not args[0].is_floating_point():
        return None
    upper, inplace, how = spec
    if how == "relu":  # F.relu(input, inplace=False), F.relu6(input, inplace=False), torch.relu(input)
        if len(args) > 1:
            inplace = bool(args[1])
        inplace = bool(kwargs.get("inplace", inplace))
    elif how in ("hardtanh", "hardtanh_"):  # F.hardtanh(input, min_val=-1., max_val=1., inplace=False)
        names = ("min_val", "max_val", "inplace")
        given = dict(zip(names, args[1:]))
        given.update({k: v for k, v in kwargs.items() if k in names})
        if float(given.get("min_val", -1.0)) != 0.0 or float(given.get("max_val", 1.0)) != 6.0:
            return None
        if how == "hardtanh":
            inplace = bool(given.get("inplace", False))
    return args[0], upper, inplace


class ReluOverrideMode(TorchFunctionMode):
    """While active, the ReLU and ReLU6 calls listed in the module docstring compute :class:`RedirectedReLU`
    (``force``: the forced form); everything else runs unchanged."""

    def __init__(self, force=False):
        super().__init__()
        self.force = bool(force)

    def __torch_function__(self, func, types, args=(), kwargs=None):  # noqa: D105
        kwargs = kwargs or {}
        call = _relu_call(func, args, kwargs)
        if call is None:
            return func(*args, **kwargs)
        x, upper, inplace = call
        return redirected_relu(x, upper, self.force, inplace)
