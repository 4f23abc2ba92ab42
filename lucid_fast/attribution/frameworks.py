"""The framework seam of attribution: which implementation of the batched gradient functions serves an adapter
(:mod:`~lucid_fast.attribution.tf_impl` for TensorFlow adapters, :mod:`~lucid_fast.attribution.torch_impl` for
a :class:`~lucid_fast.models.torch_adapter.TorchAdapter`), and the cache of those functions on the adapter (``core._impl(adapter)`` picks the module).

Each implementation module provides the same functions (the shared logic in :mod:`~lucid_fast.attribution.core`
calls only these):

* ``constant(arr_np, adapter)`` / ``to_numpy(t)``: numpy into the framework (on the model's device) and back;
* ``act_fn(adapter, canonical)``: ``f(x_t) -> {name: activations}``;
* ``splice_grad_fn(adapter, layer, score, maxpool_grad)``: ``f(x_t, acts_t (B, ...)) -> (scores (B,),
  d sum(scores) / d acts_t)``, ``f.needs_input``;
* ``score_fn(adapter, layer, score)``: ``f(x_t, acts_t) -> scores (B,)`` (no gradient), ``f.needs_input``;
* ``s2s_rows(adapter, layer1, layer2, maxpool_grad, chunk, x_np, acts1_np, n2)``: the ``(n2, H1, W1)`` rows of
  :func:`~lucid_fast.attribution.core.spatial_to_spatial`, ``chunk`` positions per batched backward pass;
* ``is_framework_error(err)``: whether an exception is the framework's refusal to run the model on an input
  (then attribution names the image size and the layers).

Nothing here imports a framework: the TorchAdapter is recognized only when its module is already loaded (an
adapter of it cannot exist otherwise).
"""
from __future__ import annotations

import sys

__all__ = ["framework_of", "function_cache", "NORM_FLOOR"]

NORM_FLOOR = 1e-12  # spatial_to_spatial: sqrt(max(|a|^2, floor)), so all-zero positions get no gradient

_TORCH_ADAPTER = "lucid_fast.models.torch_adapter"


def framework_of(adapter):
    """``"torch"`` for a TorchAdapter, else ``"tensorflow"``."""
    module = sys.modules.get(_TORCH_ADAPTER)
    if module is not None and isinstance(adapter, module.TorchAdapter):
        return "torch"
    return "tensorflow"


def function_cache(adapter):
    """The functions of attribution kept on the adapter (no module-level state): a dict ``{key: function}``
    (``tf.function`` for TensorFlow adapters, plain functions for PyTorch) that callers may add their own
    (distinct) keys to, as ``lucid_fast.bench.attribution`` does."""
    cache = getattr(adapter, "_lf_attribution_cache", None)
    if cache is None:
        cache = {}
        adapter._lf_attribution_cache = cache
    return cache
