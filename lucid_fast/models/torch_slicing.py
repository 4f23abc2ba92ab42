"""Channel slicing for PyTorch models: computing only the output channels an objective reads (and
:func:`to_nhwc`, the channels-last view objectives get).

A layer is computed sliced when its output is a convolution's or a linear layer's, or an elementwise,
per-channel function of one: the producer (an ``nn.Conv2d`` with ``groups=1`` or an ``nn.Linear``) runs with its
weight and bias sliced to the listed output channels, then each module between it and the layer in the same
``nn.Sequential`` runs on the sliced tensor. :func:`slice_chain` decides, conservatively, where that gives the
same values; :func:`run_sliced_chain` runs it. Used by :class:`lucid_fast.models.torch_adapter.TorchAdapter`.

A module in the chain after the producer must be one of (exact types, not subclasses):

* channel-blind elementwise modules (:data:`ELEMENTWISE`): ``ReLU``, ``ReLU6``, ``LeakyReLU``, ``ELU``,
  ``GELU``, ``SiLU``, ``Sigmoid``, ``Tanh``, ``Hardtanh``, ``Hardswish``, ``Hardsigmoid``, ``Softplus``,
  ``Mish``, ``Identity``, ``Dropout`` (the model is in eval mode, so it is the identity);
* ``BatchNorm1d`` / ``BatchNorm2d``, run with its running statistics and affine parameters sliced (per-channel
  statistics of the batch when it keeps none, which slicing does not change either).

Refused (the layer is then computed whole and gathered): grouped or depthwise convolutions, ``Conv2d`` /
``Linear`` subclasses, any other module between producer and layer (``PReLU``, ``GroupNorm``, ``LayerNorm``,
pools...), a container whose ``forward`` is not ``nn.Sequential``'s, modules with forward hooks of their own
(weight norm's pre-hook, ...), and modules called more than once per forward.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

__all__ = ["ELEMENTWISE", "slice_chain", "run_sliced_chain", "to_nhwc"]

ELEMENTWISE = (nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.ELU, nn.GELU, nn.SiLU, nn.Sigmoid, nn.Tanh, nn.Hardtanh,
               nn.Hardswish, nn.Hardsigmoid, nn.Softplus, nn.Mish, nn.Identity, nn.Dropout)
_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d)


def to_nhwc(act_t):
    """A module's output in the project's layout: channels last (a view); 2-D ``(N, C)`` stays as it is."""
    return act_t.movedim(1, -1) if act_t.dim() >= 3 else act_t


def _producer_ok(module):
    if type(module) is nn.Conv2d:
        return module.groups == 1
    return type(module) is nn.Linear


def _chain_ok(module):
    return type(module) in ELEMENTWISE or type(module) in _NORMS


def _has_own_hooks(module):
    return bool(module._forward_hooks or module._forward_pre_hooks)


def slice_chain(modules, name, calls):
    """The modules to run for a sliced ``name``: ``[producer, *elementwise]`` ending at ``name``'s module, or None
    when the layer cannot be sliced (see the module docstring).

    Args:
        modules: ``{name: module}`` of the model (``dict(model.named_modules())``, the root as ``""``).
        name: the layer.
        calls: ``{name: times called in one forward}``.
    """
    module = modules.get(name)
    if module is None or calls.get(name) != 1 or _has_own_hooks(module):
        return None
    if _producer_ok(module):
        return [name]
    if not _chain_ok(module):
        return None
    parent_name, own = name.rsplit(".", 1) if "." in name else ("", name)
    parent = modules.get(parent_name)
    if not isinstance(parent, nn.Sequential) or type(parent).forward is not nn.Sequential.forward:
        return None
    keys = list(parent._modules)
    children = [parent._modules[k] for k in keys]
    if own not in keys or sum(c is module for c in children) != 1:
        return None
    chain = [name]
    for k in reversed(keys[:keys.index(own)]):
        child, child_name = parent._modules[k], f"{parent_name}.{k}" if parent_name else k
        if child is None or sum(c is child for c in children) != 1 or calls.get(child_name) != 1 \
                or _has_own_hooks(child):
            return None
        chain.insert(0, child_name)
        if _producer_ok(child):
            return chain
        if not _chain_ok(child):
            return None
    return None


def _slice_param(p, index_t):
    return None if p is None else p.index_select(0, index_t)


def run_sliced_chain(chain_modules, x_t, channels):
    """Runs ``chain_modules`` (from :func:`slice_chain`) on the producer's input ``x_t`` computing only output
    ``channels`` (a list of ints, in that order); returns the last module's output with ``len(channels)``
    channels on axis 1."""
    producer = chain_modules[0]
    index_t = torch.as_tensor(channels, dtype=torch.long, device=producer.weight.device)
    weight_t = producer.weight.index_select(0, index_t)
    bias_t = _slice_param(producer.bias, index_t)
    if isinstance(producer, nn.Conv2d):
        y_t = producer._conv_forward(x_t, weight_t, bias_t)  # honours padding_mode
    else:
        y_t = F.linear(x_t, weight_t, bias_t)
    for module in chain_modules[1:]:
        if type(module) in _NORMS:
            training = module.training or module.running_mean is None
            y_t = F.batch_norm(y_t, _slice_param(module.running_mean, index_t),
                               _slice_param(module.running_var, index_t), _slice_param(module.weight, index_t),
                               _slice_param(module.bias, index_t), training,
                               0.0 if module.momentum is None else module.momentum, module.eps)
        else:
            y_t = module(y_t)  # elementwise and channel-blind (a ReLU goes through the override mode)
    return y_t
