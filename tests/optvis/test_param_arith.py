"""Parameterization arithmetic beyond sums: elementwise products, powers and means (``a * b``, ``a ** p``,
``a.mean(axis)``), checked against TensorFlow's value and gradient of the same expression."""
import numpy as np
import pytest
import tensorflow as tf

from adjoint import graph_finite_difference_test
from lucid_fast.optvis import param
from lucid_fast.optvis.param.core import Param
from tolerances import TOL


def _leaf(shape, rng, positive=False):
    val = rng.normal(0, 1, shape).astype(np.float32)
    if positive:
        val = np.abs(val) + 0.5
    return Param(shape, init_val=val, name="leaf"), val


def _graph_value_and_grads(node, w):
    graph = param.ParamGraph(node)
    graph.initialize(np.random.default_rng(0))
    out = graph.forward()
    grads = graph.backward(w)
    return out, grads


def _tf_value_and_grads(fn, vals, w):
    vars_t = [tf.Variable(v) for v in vals]
    with tf.GradientTape() as tape:
        out_t = fn(*vars_t)
        scalar_t = tf.reduce_sum(out_t * w)
    return out_t.numpy(), [g.numpy() for g in tape.gradient(scalar_t, vars_t)]


CASES = {
    # name: (lucid_fast expression, TF reference, leaf shapes, positive leaves)
    "mul_same_shape": (lambda a, b: a * b, lambda a, b: a * b, [(2, 5, 4, 3), (2, 5, 4, 3)], False),
    "mul_broadcast_batch": (lambda a, b: a * b, lambda a, b: a * b, [(3, 5, 4, 2), (1, 5, 4, 2)], False),
    "mul_broadcast_channel": (lambda a, b: b * a, lambda a, b: b * a, [(2, 4, 5, 3), (2, 4, 5, 1)], False),
    "square": (lambda a: a ** 2, lambda a: a ** 2, [(1, 5, 5, 4)], False),
    "sqrt": (lambda a: a ** 0.5, lambda a: a ** 0.5, [(2, 3, 4, 3)], True),
    "mean_channels": (lambda a: a.mean(-1), lambda a: tf.reduce_mean(a, -1, keepdims=True), [(2, 5, 4, 6)], False),
    "mean_rows_dropped": (lambda a: a.mean(1, keepdims=False), lambda a: tf.reduce_mean(a, 1), [(2, 5, 4, 3)],
                          False),
    # Lucid's any_number_channels notebook: 10 channels to RGB by the mean square of three channel groups
    "channels_to_rgb": (
        lambda a: param.concat([(a[..., 0:3] ** 2).mean(-1), (a[..., 3:6] ** 2).mean(-1), (a[..., 6:] ** 2).mean(-1)]),
        lambda a: tf.stack([tf.reduce_mean(a[..., 0:3] ** 2, -1), tf.reduce_mean(a[..., 3:6] ** 2, -1),
                            tf.reduce_mean(a[..., 6:] ** 2, -1)], -1),
        [(2, 6, 5, 10)], False),
    "product_of_sums": (lambda a, b: (a + b) * (a - b), lambda a, b: (a + b) * (a - b), [(1, 4, 4, 3)] * 2, False),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_arith_matches_tensorflow(name, rng):
    expr, ref, shapes, positive = CASES[name]
    leaves = [_leaf(s, rng, positive) for s in shapes]
    node = expr(*[leaf for leaf, _ in leaves])
    vals = [v for _, v in leaves]
    w = rng.normal(size=node.shape).astype(np.float32)
    out, grads = _graph_value_and_grads(node, w)
    out_ref, grads_ref = _tf_value_and_grads(ref, vals, w)
    assert tuple(node.shape) == out_ref.shape == out.shape
    np.testing.assert_allclose(out, out_ref, *TOL["fwd"])
    for (leaf, _), g_ref in zip(leaves, grads_ref):
        # the same leaf used twice gets the sum of both uses' gradients
        np.testing.assert_allclose(grads[leaf], g_ref, *TOL["grad"])


def test_arith_backward_matches_finite_differences(rng):
    shape = (2, 6, 5, 7)
    spec = param.fft_image(shape)
    low = param.lowres_tensor(shape[:3] + (1,), (1, 3, 3, 1))
    node = param.to_valid_rgb((spec[..., :3] * low + spec[..., 3:6] ** 2).mean(-1) * spec[..., 4:7], decorrelate=True)
    graph = param.ParamGraph(node)
    graph.initialize(np.random.default_rng(5))
    for p in graph.params:
        p.value[...] = rng.normal(0, 0.5, p.shape)
    graph_finite_difference_test(graph, rng)  # TOL["fd"]


def test_array_times_node_is_a_node(rng):
    leaf, val = _leaf((1, 3, 3, 2), rng)
    k = rng.normal(size=(1, 3, 3, 1)).astype(np.float32)
    for node in (k * leaf, leaf * k, np.float32(2.0) * leaf):
        assert isinstance(node, param.Node)
    out, _ = _graph_value_and_grads(k * leaf, np.ones((1, 3, 3, 2), np.float32))
    np.testing.assert_allclose(out, k * val, *TOL["fwd"])


@pytest.mark.parametrize("call, exc, match", [
    (lambda n: n * "2", TypeError, "multiplied by a number, a parameterization or an array"),
    (lambda n: n ** n, TypeError, "raised to a number only"),
    (lambda n: n ** float("inf"), ValueError, "exponent must be finite"),
    (lambda n: n * param.pixel_image((1, 3, 3, 2)), ValueError, "cannot multiply parameterizations of shapes"),
    (lambda n: n.mean(4), ValueError, "mean: axis must be an int"),
    (lambda n: n.mean(1.0), ValueError, "mean: axis must be an int"),
])
def test_arith_bad_input(call, exc, match):
    with pytest.raises(exc, match=match):
        call(param.pixel_image((1, 4, 4, 3)))


# ---------------------------------------------------------------------------------------------------------
# node / k, and TensorFlow / numpy functions on a node

def test_division_by_a_number_is_scaling_with_its_adjoint(rng):
    """``t / 2.`` (Lucid notebooks divide tensors by numbers): the value and gradient of TensorFlow's ``t / k``."""
    for k in (2.0, 3, np.float32(-0.25)):
        leaf, val = _leaf((2, 4, 5, 3), rng)
        node = (leaf + 1.0) / k
        assert isinstance(node, param.Node) and node.shape == (2, 4, 5, 3)
        w = rng.normal(size=node.shape).astype(np.float32)
        out, grads = _graph_value_and_grads(node, w)
        out_ref, (g_ref,) = _tf_value_and_grads(lambda a: (a + 1.0) / float(k), [val], w)
        np.testing.assert_allclose(out, out_ref, *TOL["fwd"])
        np.testing.assert_allclose(grads[leaf], g_ref, *TOL["grad"])


@pytest.mark.parametrize("call, exc, match", [
    (lambda n: n / 0, ZeroDivisionError, "divided by 0"),
    (lambda n: n / float("nan"), ValueError, "finite number"),
    (lambda n: n / np.ones((1, 4, 4, 3)), TypeError, r"divided by a number only.*node \* \(1 / array\)"),
    (lambda n: n / n, TypeError, r"node \* other \*\* -1"),
    (lambda n: 1.0 / n, TypeError, r"k \* node \*\* -1"),
])
def test_division_bad_input(call, exc, match):
    with pytest.raises(exc, match=match):
        call(param.pixel_image((1, 4, 4, 3)))


@pytest.mark.parametrize("name, call", [
    ("tf.stop_gradient", lambda n: tf.stop_gradient(n)),
    ("tf.stack", lambda n: tf.stack([n, n])),
    ("tf.concat", lambda n: tf.concat([n, n], -1)),
    ("tf.convert_to_tensor", lambda n: tf.convert_to_tensor(n)),
    ("tf.reduce_mean", lambda n: tf.reduce_mean(n, -1)),
    ("tf.multiply", lambda n: tf.multiply(n, 2.0)),
    ("np.asarray", lambda n: np.asarray(n)),
    ("np.stack", lambda n: np.stack([n, n])),
])
def test_tf_and_numpy_functions_on_a_parameterization_name_the_replacement(name, call):
    """Lucid code applies TF ops to its image tensors; on a parameterization they used to fail with
    ``TypeError: object of type 'Add' has no len()`` (or, in numpy, make a 0-d object array)."""
    node = param.pixel_image((1, 4, 4, 3)) + 1.0
    with pytest.raises(TypeError, match=r"Add\(1, 4, 4, 3\): a lucid_fast parameterization is not a tensor") as info:
        call(node)
    message = str(info.value)
    for replacement in ("param.stack / param.concat", "recipes.batch_nodes.stop_gradient", "vis(node)"):
        assert replacement in message, (name, message)


def test_the_named_replacements_work(rng):
    """What the message names does what the TF op did: stop_gradient passes the value and no gradient."""
    from lucid_fast.recipes import batch_nodes

    leaf, val = _leaf((1, 3, 3, 2), rng)
    node = param.concat([batch_nodes.stop_gradient(leaf * 2.0), leaf / 2.0], -1)
    w = rng.normal(size=node.shape).astype(np.float32)
    out, grads = _graph_value_and_grads(node, w)
    np.testing.assert_allclose(out, np.concatenate([val * 2.0, val / 2.0], -1), *TOL["fwd"])
    np.testing.assert_allclose(grads[leaf], w[..., 2:] / 2.0, *TOL["grad"])
