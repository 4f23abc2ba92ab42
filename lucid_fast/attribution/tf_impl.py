"""Attribution's batched gradient functions in TensorFlow (the seam: :mod:`lucid_fast.attribution.frameworks`):
each a ``tf.function`` traced once per model, layer and score (and input shape), cached on the adapter
(:func:`~lucid_fast.attribution.frameworks.function_cache`). Gradients are only computed inside ``tf.function``
(TF 2.21's eager gradient through 1x1 stride-2 convolutions crashes on some CPUs)."""
from __future__ import annotations

import numpy as np
import tensorflow as tf

from lucid_fast.attribution.frameworks import NORM_FLOOR, function_cache
from lucid_fast.models.accessor import LayerAccessor

__all__ = ["constant", "to_numpy", "act_fn", "splice_grad_fn", "score_fn", "s2s_fn", "s2s_rows",
           "is_framework_error"]

def _function(fn):
    """``tf.function`` of one of this module's traced functions. Each model, layer and score gets its own (cached)
    function, all made from the same Python code, which TF would report as "frequent retracing": they are
    distinct functions, each traced once per input shape, so that warning is switched off for them."""
    out = tf.function(fn, reduce_retracing=True, autograph=False)
    out._omit_frequent_tracing_warning = True  # noqa: SLF001 - TF's own switch for this warning
    return out


def constant(arr_np, adapter=None):
    return tf.constant(arr_np)


def to_numpy(value_t):
    return value_t.numpy()


def is_framework_error(err, marks):
    """TensorFlow's errors for an input the model cannot run on: an InvalidArgumentError, or a ValueError (Keras
    at tracing) that is an OpError or carries one of ``marks``."""
    if isinstance(err, tf.errors.InvalidArgumentError):
        return True
    return isinstance(err, ValueError) and (isinstance(err, tf.errors.OpError) or any(m in str(err) for m in marks))


def act_fn(adapter, canonical):
    key = ("acts", canonical)
    cache = function_cache(adapter)
    if key not in cache:
        fn = adapter.activation_fn(list(canonical))
        cache[key] = _function(lambda x_t: fn(x_t))
    return cache[key]


def splice_grad_fn(adapter, layer, the_score, maxpool_grad):
    """A cached tf.function ``(x_t or None, acts_t (B, ...)) -> (scores (B,), d sum(scores) / d acts_t)``: the
    gradient of the score as an objective (whose value is the sum of the images' scores)."""
    key = ("grad", layer, the_score.key, maxpool_grad)
    cache = function_cache(adapter)
    if key in cache:
        return cache[key]
    spliced = adapter.spliced_fn(layer, list(the_score.layers), maxpool_grad=maxpool_grad)

    def run(x_t, acts_t):
        with tf.GradientTape() as tape:
            tape.watch(acts_t)
            out = spliced(x_t, acts_t)

            T = LayerAccessor(adapter.resolve, lambda canonical: (out[canonical], None))  # noqa: N806 - Lucid's T
            total = the_score(T)
        return the_score.tf_per_item(T), tape.gradient(total, acts_t)

    fn = _function(run)
    fn.needs_input = spliced.needs_input
    cache[key] = fn
    return fn


def score_fn(adapter, layer, the_score):
    """A cached tf.function ``(x_t or None, acts_t) -> scores`` (no gradient)."""
    key = ("score", layer, the_score.key)
    cache = function_cache(adapter)
    if key not in cache:
        spliced = adapter.spliced_fn(layer, list(the_score.layers))

        def run(x_t, acts_t):
            out = spliced(x_t, acts_t)
            return the_score.tf_per_item(lambda name: out[adapter.resolve(name)])
        fn = _function(run)
        fn.needs_input = spliced.needs_input
        cache[key] = fn
    return cache[key]


def s2s_fn(adapter, layer1, layer2, maxpool_grad, chunk):
    """A cached tf.function: forward once from layer1 to layer2, then the per-position norm gradients of a chunk
    of layer2 positions as one vectorized backward pass (``GradientTape.jacobian`` with pfor), contracted with
    the layer1 activations: ``(x_t, acts1 (1, H1, W1, C1), start) -> (chunk, H1, W1)``."""
    key = ("s2s", layer1, layer2, maxpool_grad, chunk)
    cache = function_cache(adapter)
    if key in cache:
        return cache[key]
    spliced = adapter.spliced_fn(layer1, [layer2], maxpool_grad=maxpool_grad)

    def run(x_t, acts1_t, start):
        with tf.GradientTape() as tape:
            tape.watch(acts1_t)
            acts2 = spliced(x_t, acts1_t)[layer2]
            norms = tf.sqrt(tf.maximum(tf.reduce_sum(acts2 * acts2, -1), NORM_FLOOR))
            picked = tf.reshape(norms, [-1])[start:start + chunk]
        jac = tape.jacobian(picked, acts1_t, experimental_use_pfor=True)  # (chunk, 1, H1, W1, C1)
        return tf.reduce_sum(jac[:, 0] * acts1_t, -1)

    fn = _function(run)
    fn.needs_input = spliced.needs_input
    cache[key] = fn
    return fn


def s2s_rows(adapter, layer1, layer2, maxpool_grad, chunk, x_np, acts1_np, n2):
    """The ``(n2, H1, W1)`` attribution rows of every ``layer2`` position, ``chunk`` positions per call."""
    fn = s2s_fn(adapter, layer1, layer2, maxpool_grad, chunk)
    x_t = tf.constant(x_np) if fn.needs_input else None
    acts1_t = tf.constant(acts1_np)
    parts = [fn(x_t, acts1_t, tf.constant(start, tf.int32)).numpy() for start in range(0, n2, chunk)]
    return np.concatenate(parts, 0)[:n2]
