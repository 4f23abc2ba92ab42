"""Attribution's batched gradient functions in PyTorch (the seam: :mod:`lucid_fast.attribution.frameworks`), the
twins of :mod:`~lucid_fast.attribution.tf_impl` for a :class:`~lucid_fast.models.torch_adapter.TorchAdapter`.

Nothing is compiled: each function runs the adapter's spliced forward (``adapter.spliced_fn``: the image once,
the layer's activations replaced by a batch of path points) and one ``torch.autograd.grad`` per batch. In
:func:`s2s_rows` the forward from ``layer1`` to ``layer2`` runs once and each chunk of ``layer2`` positions is one
batched backward pass (``is_grads_batched=True``, torch's vmap over the backward), the torch form of TensorFlow's
``jacobian`` with pfor. Functions are cached on the adapter like the TensorFlow ones.
"""
from __future__ import annotations

import numpy as np
import torch

from lucid_fast.attribution.frameworks import NORM_FLOOR, function_cache
from lucid_fast.models import backend
from lucid_fast.models.accessor import LayerAccessor

__all__ = ["constant", "to_numpy", "act_fn", "splice_grad_fn", "score_fn", "s2s_rows", "is_framework_error"]

def constant(arr_np, adapter):
    return torch.from_numpy(np.ascontiguousarray(arr_np)).to(adapter.torch_device)


def to_numpy(value_t):
    return value_t.detach().cpu().numpy()


def is_framework_error(err, marks):
    """PyTorch's refusals of an input (a convolution or pool larger than the map): RuntimeError."""
    return isinstance(err, RuntimeError)


def _accessor(adapter, out):
    return LayerAccessor(adapter.resolve, lambda canonical: (out[canonical], None), backend=backend.get("torch"))


def act_fn(adapter, canonical):
    key = ("acts", canonical)
    cache = function_cache(adapter)
    if key not in cache:
        fn = adapter.activation_fn(list(canonical))

        def run(x_t):
            with torch.no_grad():
                return fn(x_t)

        cache[key] = run
    return cache[key]


def _scalar(value_t):
    value_t = torch.as_tensor(value_t, dtype=torch.float32)
    return value_t.sum() if value_t.dim() else value_t


def splice_grad_fn(adapter, layer, the_score, maxpool_grad):
    """A cached function ``(x_t, acts_t (B, ...)) -> (scores (B,), d sum(scores) / d acts_t)``."""
    key = ("grad", layer, the_score.key, maxpool_grad)
    cache = function_cache(adapter)
    if key in cache:
        return cache[key]
    spliced = adapter.spliced_fn(layer, list(the_score.layers), maxpool_grad=maxpool_grad)

    def run(x_t, acts_t):
        acts_t = acts_t.detach().requires_grad_(True)
        with torch.enable_grad():
            T = _accessor(adapter, spliced(x_t, acts_t))  # noqa: N806 - Lucid's T
            total_t = _scalar(the_score(T))
            grad_t = None
            if total_t.requires_grad:
                grad_t = torch.autograd.grad(total_t, acts_t, allow_unused=True)[0]
        with torch.no_grad():
            scores_t = the_score.tf_per_item(T)
        return scores_t, torch.zeros_like(acts_t) if grad_t is None else grad_t

    run.needs_input = spliced.needs_input
    cache[key] = run
    return run


def score_fn(adapter, layer, the_score):
    """A cached function ``(x_t, acts_t) -> scores`` (no gradient)."""
    key = ("score", layer, the_score.key)
    cache = function_cache(adapter)
    if key not in cache:
        spliced = adapter.spliced_fn(layer, list(the_score.layers))

        def run(x_t, acts_t):
            with torch.no_grad():
                return the_score.tf_per_item(_accessor(adapter, spliced(x_t, acts_t)))

        run.needs_input = spliced.needs_input
        cache[key] = run
    return cache[key]


def _rows_grad(norms_t, acts1_t, start, count):
    """``d norms[start + k] / d acts1`` for ``k < count``, one batched backward pass: ``(count, *acts1.shape)``."""
    n = norms_t.shape[0]
    picks_t = torch.zeros(count, n, dtype=norms_t.dtype, device=norms_t.device)
    picks_t[torch.arange(count), torch.arange(start, start + count)] = 1.0
    return torch.autograd.grad(norms_t, acts1_t, grad_outputs=picks_t, is_grads_batched=True,
                               retain_graph=True)[0]


def s2s_rows(adapter, layer1, layer2, maxpool_grad, chunk, x_np, acts1_np, n2):
    """The ``(n2, H1, W1)`` attribution rows of every ``layer2`` position: one forward, then ``chunk`` positions
    per batched backward pass."""
    key = ("s2s", layer1, layer2, maxpool_grad)
    cache = function_cache(adapter)
    if key not in cache:
        cache[key] = adapter.spliced_fn(layer1, [layer2], maxpool_grad=maxpool_grad)
    spliced = cache[key]
    x_t = constant(x_np, adapter)
    acts1_t = constant(acts1_np, adapter).requires_grad_(True)
    rows = []
    with torch.enable_grad():
        acts2_t = spliced(x_t, acts1_t)[layer2]
        norms_t = torch.sqrt(torch.clamp((acts2_t * acts2_t).sum(-1), min=NORM_FLOOR)).reshape(-1)
        if not norms_t.requires_grad:  # spliced_fn refuses a layer2 that does not depend on layer1
            return np.zeros((n2,) + acts1_np.shape[1:3], np.float32)
        for start in range(0, n2, chunk):
            jac_t = _rows_grad(norms_t, acts1_t, start, min(chunk, n2 - start))  # (k, 1, H1, W1, C1)
            rows.append(to_numpy((jac_t[:, 0] * acts1_t.detach()).sum(-1)))
    return np.concatenate(rows, 0)
