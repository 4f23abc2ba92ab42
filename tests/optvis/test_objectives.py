"""Tests of lucid_fast.optvis.objectives: values against numpy versions of Lucid's formulas, batch= semantics,
the algebra and its descriptions, native-term bookkeeping, and Lucid's gradient-ascent check on a tiny model.

Gradients are taken inside tf.function (eager gradients through convolutions can crash this CPU's TF build).
"""
import numpy as np
import pytest
import tensorflow as tf

from lucid_fast.optvis import objectives as obj
from lucid_fast.optvis.objectives import NativeTerm, Objective

RTOL, ATOL = 1e-5, 1e-5
N, H, W = 3, 6, 7   # batch and input size of the fixed activations


# ---------------------------------------------------------------------------------------------------------
# Fixed activations and helpers


@pytest.fixture
def acts(rng):
    return {
        "input": rng.uniform(size=(N, H, W, 3)).astype(np.float32),
        "conv": rng.normal(size=(N, 5, 4, 6)).astype(np.float32),
        "dense": rng.normal(size=(N, 7)).astype(np.float32),
        "logits": rng.normal(size=(N, 10)).astype(np.float32),
    }


def accessor(arrays):
    """A layer accessor over constant (or given) tensors, like the engine's T."""
    tensors = {k: tf.convert_to_tensor(v) for k, v in arrays.items()}
    return lambda name: tensors[name]


def evaluate(objective, arrays, part="call"):
    T = accessor(arrays)
    value_t = objective(T) if part == "call" else objective.tf_part(T)
    return float(value_t.numpy())


def value_and_grad(objective, arrays, wrt, compiled=False):
    """Objective value and its gradient with respect to arrays[wrt]; ``compiled`` runs it in a tf.function
    (needed when the objective convolves, e.g. blurs; eager is faster for the rest)."""
    names = sorted(arrays)

    def run(*tensors):
        T_map = dict(zip(names, tensors))
        with tf.GradientTape() as tape:
            tape.watch(T_map[wrt])
            value_t = objective(lambda name: T_map[name])
        return value_t, tape.gradient(value_t, T_map[wrt], unconnected_gradients=tf.UnconnectedGradients.ZERO)

    value_t, grad_t = (tf.function(run) if compiled else run)(*[tf.constant(arrays[k]) for k in names])
    return float(value_t.numpy()), grad_t.numpy()


def item(a, batch):
    return a if batch is None else a[batch:batch + 1]


def nhwc(a):
    return a[:, None, None, :] if a.ndim == 2 else a


# ---------------------------------------------------------------------------------------------------------
# numpy versions of Lucid's formulas


def np_dot_cossim(x, y, cossim_pow):
    xy = (x * y).sum(-1)
    if cossim_pow == 0:
        return xy.mean()
    cos = xy / (1e-4 + np.sqrt((x * x).sum(-1))) / (1e-4 + np.sqrt((y * y).sum(-1)))
    return (xy * np.maximum(0.1, cos) ** cossim_pow).mean()


def np_tv(x):
    return np.abs(np.diff(x, axis=1)).sum() + np.abs(np.diff(x, axis=2)).sum()


def np_blur(x, w=3):
    """Lucid's blur: weights 0.5 on the border ring of a w x w window and 1 inside, renormalised by the taps
    inside the image (SAME padding)."""
    k = np.full((w, w), 0.5)
    k[1:-1, 1:-1] = 1.0
    r = w // 2
    pad = [(0, 0), (r, w - 1 - r), (r, w - 1 - r), (0, 0)]
    xp, ones = np.pad(x, pad), np.pad(np.ones_like(x), pad)
    num, den = np.zeros_like(x, dtype=np.float64), np.zeros_like(x, dtype=np.float64)
    h, wd = x.shape[1], x.shape[2]
    for i in range(w):
        for j in range(w):
            num += k[i, j] * xp[:, i:i + h, j:j + wd]
            den += k[i, j] * ones[:, i:i + h, j:j + wd]
    return num / den


def np_grams_normalized(a):
    flat = a.reshape(a.shape[0], -1, a.shape[-1]).astype(np.float64)
    grams = np.einsum("npc,npd->ncd", flat, flat)
    return grams / np.sqrt((grams ** 2).sum(axis=(1, 2), keepdims=True))


# ---------------------------------------------------------------------------------------------------------
# Values of every objective against numpy


@pytest.mark.parametrize("batch", [None, 1])
@pytest.mark.parametrize("layer", ["conv", "dense"])
def test_channel_and_neuron_values(acts, batch, layer):
    a = nhwc(item(acts[layer], batch))
    np.testing.assert_allclose(evaluate(obj.channel(layer, 2, batch=batch), acts), a[..., 2].mean(), RTOL, ATOL)
    x, y = a.shape[1] // 2, a.shape[2] // 2
    np.testing.assert_allclose(evaluate(obj.neuron(layer, 3, batch=batch), acts), a[:, x, y, 3].mean(), RTOL, ATOL)
    if layer == "conv":
        np.testing.assert_allclose(evaluate(obj.neuron(layer, 3, x=0, y=3, batch=batch), acts),
                                   a[:, 0, 3, 3].mean(), RTOL, ATOL)


def test_neuron_default_position_is_lucids_centre(acts):
    # conv is 5 x 4: x (rows) -> 2, y (columns) -> 2 (the lower-right of the central pair for even sizes)
    a = acts["conv"]
    assert not np.isclose(a[:, 2, 1, 0].mean(), a[:, 2, 2, 0].mean())
    np.testing.assert_allclose(evaluate(obj.neuron("conv", 0), acts), a[:, 2, 2, 0].mean(), RTOL, ATOL)


@pytest.mark.parametrize("cossim_pow", [0, 1, 2])
@pytest.mark.parametrize("batch", [None, 2])
def test_direction_values(acts, rng, cossim_pow, batch):
    vec = rng.normal(size=6)
    a = item(acts["conv"], batch)
    np.testing.assert_allclose(evaluate(obj.direction("conv", vec, cossim_pow=cossim_pow, batch=batch), acts),
                               np_dot_cossim(a, vec, cossim_pow), 1e-4, ATOL)
    np.testing.assert_allclose(evaluate(obj.direction_cossim("conv", vec, cossim_pow, batch), acts),
                               np_dot_cossim(a, vec, cossim_pow), 1e-4, ATOL)
    np.testing.assert_allclose(
        evaluate(obj.direction_neuron("conv", vec, x=1, y=3, cossim_pow=cossim_pow, batch=batch), acts),
        np_dot_cossim(a[:, 1:2, 3:4], vec, cossim_pow), 1e-4, ATOL)
    np.testing.assert_allclose(evaluate(obj.direction_neuron("conv", vec, cossim_pow=cossim_pow), acts),
                               np_dot_cossim(acts["conv"][:, 2:3, 2:3], vec, cossim_pow), 1e-4, ATOL)


@pytest.mark.parametrize("shape", [(2, 2, 6), (1, 3, 1, 6)])
def test_tensor_direction_value(acts, rng, shape):
    vec = rng.normal(size=shape)
    v4 = vec if vec.ndim == 4 else vec[None]
    h, w = v4.shape[1:3]
    top, left = (5 - h) // 2, (4 - w) // 2
    expected = np_dot_cossim(acts["conv"][:, top:top + h, left:left + w], v4, 0)
    np.testing.assert_allclose(evaluate(obj.tensor_direction("conv", vec), acts), expected, 1e-4, ATOL)
    expected1 = np_dot_cossim(acts["conv"][1:2, top:top + h, left:left + w], v4, 1)
    np.testing.assert_allclose(evaluate(obj.tensor_direction("conv", vec, cossim_pow=1, batch=1), acts),
                               expected1, 1e-4, ATOL)


@pytest.mark.parametrize("batch", [None, 0])
def test_deepdream_L1_L2_values(acts, batch):
    c = item(acts["conv"], batch)
    x = item(acts["input"], batch).astype(np.float64)
    np.testing.assert_allclose(evaluate(obj.deepdream("conv", batch=batch), acts), (c ** 2).mean(), RTOL, ATOL)
    np.testing.assert_allclose(evaluate(obj.L1(batch=batch), acts), np.abs(x).sum(), RTOL, ATOL)
    np.testing.assert_allclose(evaluate(obj.L1("conv", constant=0.3, batch=batch), acts),
                               np.abs(c - 0.3).sum(), RTOL, 1e-4)
    np.testing.assert_allclose(evaluate(obj.L2(batch=batch), acts), np.sqrt(1e-6 + (x ** 2).sum()), RTOL, ATOL)
    np.testing.assert_allclose(evaluate(obj.L2("input", 0.5, epsilon=0.1, batch=batch), acts),
                               np.sqrt(0.1 + ((x - 0.5) ** 2).sum()), RTOL, ATOL)


@pytest.mark.parametrize("batch", [None, 1])
def test_class_logit_values(acts, batch):
    logits = item(acts["logits"], batch)
    np.testing.assert_allclose(evaluate(obj.class_logit("logits", 4, batch=batch), acts), logits[:, 4].sum(),
                               RTOL, ATOL)
    names = [f"class{i}" for i in range(10)]
    np.testing.assert_allclose(evaluate(obj.class_logit("logits", "class7", batch=batch, labels=names), acts),
                               logits[:, 7].sum(), RTOL, ATOL)
    with_labels = dict(acts)
    T = accessor(acts)
    T_labels = lambda name: names if name == "labels" else T(name)  # noqa: E731  (Lucid's T("labels"))
    np.testing.assert_allclose(float(obj.class_logit("logits", "class7", batch=batch)(T_labels)),
                               logits[:, 7].sum(), RTOL, ATOL)
    with pytest.raises(ValueError, match="labels="):
        evaluate(obj.class_logit("logits", "class7"), with_labels)
    with pytest.raises(ValueError, match="not among"):
        obj.class_logit("logits", "dog", labels=names)
    with pytest.raises(TypeError, match="label"):
        obj.class_logit("logits", 2.5)


@pytest.mark.parametrize("batch", [None, 2])
def test_total_variation_values(acts, batch):
    x, c = item(acts["input"], batch), item(acts["conv"], batch)
    tv_in = obj.total_variation(batch=batch)
    np.testing.assert_allclose(evaluate(tv_in, acts), np_tv(x), RTOL, 1e-4)
    assert evaluate(tv_in, acts, part="tf") == 0.0
    tv_conv = obj.total_variation("conv", batch=batch)
    assert tv_conv.native_terms == () and tv_conv.has_tf_part
    np.testing.assert_allclose(evaluate(tv_conv, acts), np_tv(c), RTOL, 1e-4)


def test_blur_objectives_values(acts, rng):
    x = acts["input"].astype(np.float64)
    expected = 0.5 * ((x - np_blur(x)) ** 2).sum()
    np.testing.assert_allclose(evaluate(obj.blur_input_each_step(), acts), expected, 1e-4, ATOL)
    rgba = dict(acts, input=rng.uniform(size=(N, H, W, 4)).astype(np.float32))
    a = rgba["input"][..., 3:4].astype(np.float64)
    np.testing.assert_allclose(evaluate(obj.blur_alpha_each_step(), rgba), 0.5 * ((a - np_blur(a)) ** 2).sum(),
                               1e-4, ATOL)


def test_blur_input_each_step_gradient_is_the_blur_step(acts):
    # d/dx of 0.5 |x - stop_grad(blur x)|^2 is x - blur(x): a step of -k moves x k of the way to its blur
    _, grad = value_and_grad(obj.blur_input_each_step(), acts, "input", compiled=True)
    x = acts["input"].astype(np.float64)
    np.testing.assert_allclose(grad, x - np_blur(x), 1e-4, 1e-5)


def test_channel_interpolate_value(acts):
    a = acts["conv"]
    weights = np.arange(N) / (N - 1)
    expected = sum((1 - weights[n]) * a[n, ..., 1].mean() + weights[n] * a[n, ..., 4].mean() for n in range(N))
    np.testing.assert_allclose(evaluate(obj.channel_interpolate("conv", 1, "conv", 4), acts), expected, RTOL, ATOL)
    with pytest.raises(ValueError, match="at least 2"):
        evaluate(obj.channel_interpolate("conv", 1, "conv", 4), {"conv": a[:1]})


@pytest.mark.parametrize("use_mask", [False, True])
def test_penalize_boundary_complexity_value(acts, rng, use_mask):
    x = acts["input"].astype(np.float64)
    shp = x.shape
    if use_mask:
        mask = (rng.uniform(size=shp) > 0.5).astype(np.float32)
        objective = obj.penalize_boundary_complexity(shp, mask=mask, C=0.3)
        c = 0.3
    else:
        mask = np.ones(shp)
        mask[:, 2:-2, 2:-2] = 0
        objective = obj.penalize_boundary_complexity(shp, w=2)
        c = 0.5
    expected = -(mask * ((np_blur(x, 5) - x) ** 2 + 0.8 * (x - c) ** 2)).sum()
    np.testing.assert_allclose(evaluate(objective, acts), expected, 1e-4, ATOL)


@pytest.mark.parametrize("batch_n", [1, 3, 6])
def test_alignment_value(rng, batch_n):
    a = rng.normal(size=(batch_n, 3, 2, 4)).astype(np.float32)
    expected = 0.0
    for d in (1, 2, 3, 4):
        for i in range(batch_n - d):
            expected += ((a[i] - a[i + d]) ** 2).mean() / 3.0 ** d
    np.testing.assert_allclose(evaluate(obj.alignment("conv", decay_ratio=3), {"conv": a}), -expected, RTOL, ATOL)


def test_diversity_value(acts):
    g = np_grams_normalized(acts["conv"])
    expected = sum((g[i] * g[j]).sum() for i in range(N) for j in range(N) if i != j) / N
    np.testing.assert_allclose(evaluate(obj.diversity("conv"), acts), expected, 1e-4, ATOL)
    identical = {"conv": np.repeat(acts["conv"][:1], 3, axis=0)}
    assert evaluate(obj.diversity("conv"), identical) == pytest.approx(2.0)  # N - 1 for identical items


def test_input_diff_value(acts, rng):
    orig = rng.uniform(size=(1, H, W, 3))
    expected = np.sqrt(((acts["input"] - orig) ** 2).mean())
    np.testing.assert_allclose(evaluate(obj.input_diff(orig), acts), expected, RTOL, ATOL)


# ---------------------------------------------------------------------------------------------------------
# batch= restricts both the value and the gradient to one item

BATCHED = {
    "channel": lambda b: obj.channel("conv", 1, batch=b),
    "neuron": lambda b: obj.neuron("conv", 1, batch=b),
    "direction": lambda b: obj.direction("conv", np.arange(6.0), cossim_pow=1, batch=b),
    "direction_neuron": lambda b: obj.direction_neuron("conv", np.arange(6.0), batch=b),
    "tensor_direction": lambda b: obj.tensor_direction("conv", np.ones((2, 2, 6)), batch=b),
    "deepdream": lambda b: obj.deepdream("conv", batch=b),
    "L1": lambda b: obj.L1("conv", batch=b),
    "L2": lambda b: obj.L2("conv", batch=b),
    "total_variation": lambda b: obj.total_variation("conv", batch=b),
}


@pytest.mark.parametrize("name", sorted(BATCHED))
@pytest.mark.parametrize("batch", [0, 1, -1])
def test_batch_restricts_value_and_gradient(acts, name, batch):
    value, grad = value_and_grad(BATCHED[name](batch), acts, "conv")
    alone = {"conv": acts["conv"][batch:][:1]}
    np.testing.assert_allclose(value, evaluate(BATCHED[name](None), alone), RTOL, ATOL)
    own = batch % N
    for n in range(N):
        assert (np.abs(grad[n]).max() > 0) == (n == own), f"item {n}"


def test_batch_restricts_native_total_variation(acts):
    value, grad = value_and_grad(obj.total_variation(batch=1), acts, "input")
    np.testing.assert_allclose(value, np_tv(acts["input"][1:2]), RTOL, 1e-4)
    assert np.abs(grad[1]).max() > 0 and not grad[0].any() and not grad[2].any()


def test_batch_out_of_range_is_an_error(acts):
    with pytest.raises(ValueError, match="batch=3"):
        evaluate(obj.channel("conv", 0, batch=3), acts)


# ---------------------------------------------------------------------------------------------------------
# Algebra


def test_linear_algebra_values(acts):
    a, b = obj.channel("conv", 1), obj.deepdream("conv")
    va, vb = evaluate(a, acts), evaluate(b, acts)
    cases = {
        "a + b": (a + b, va + vb), "a - b": (a - b, va - vb), "2 * a": (2 * a, 2 * va), "a * 2": (a * 2, 2 * va),
        "a / 4": (a / 4, va / 4), "-a": (-a, -va), "a + 3": (a + 3, va + 3), "3 + a": (3 + a, va + 3),
        "3 - a": (3 - a, 3 - va), "a - 3": (a - 3, va - 3), "sum": (Objective.sum([a, b, a]), 2 * va + vb),
        "builtin sum": (sum([a, b, 0.5 * a]), 1.5 * va + vb), "np scalar": (np.float32(2.0) * a, 2 * va),
        "nested": (-(0.5 * (a - 2 * b)) / 2, -(va - 2 * vb) / 4), "a * b": (a * b, va * vb),
        "a + callable": (a + (lambda T: tf.reduce_sum(T("dense"))), va + acts["dense"].sum()),
        "a * callable": (a * (lambda T: tf.reduce_sum(T("dense"))), va * acts["dense"].sum()),
    }
    for label, (objective, expected) in cases.items():
        assert isinstance(objective, Objective), label
        np.testing.assert_allclose(evaluate(objective, acts), expected, 1e-5, 1e-5, err_msg=label)


def test_descriptions_and_names():
    a, b = obj.channel("conv", 1), obj.deepdream("conv")
    assert a.description == "Channel [conv, 1]" and a.name == "channel"
    assert obj.channel("conv", 1, batch=2).description == "Channel [conv, 1, batch=2]"
    assert (a + b).description == "Sum(Channel [conv, 1] +\nDeepdream [conv])"
    assert (a + b).name == "channel, deepdream"
    assert (a - 0.5 * b).description == "Sum(Channel [conv, 1] +\n-0.5 * Deepdream [conv])"
    assert (2 * a).description == "2 * Channel [conv, 1]"
    assert (2 * (3 * a)).description == "6 * Channel [conv, 1]"
    assert (-a).description == "-Channel [conv, 1]" and (-(-a)).description == "Channel [conv, 1]"
    assert (a / 4).description == "Channel [conv, 1] / 4"
    assert (-(a + b)).description == "-Sum(Channel [conv, 1] +\nDeepdream [conv])"
    assert (a + b + a).description == "Sum(Channel [conv, 1] +\nDeepdream [conv] +\nChannel [conv, 1])"
    assert sum([a, b]).description == (a + b).description
    assert (a + 3).description == "Sum(Channel [conv, 1] +\n3)"
    assert (a * b).description == "Product(Channel [conv, 1] *\nDeepdream [conv])"
    relabelled = 100 * a
    relabelled.description = "Content Loss"  # as Lucid's notebooks do
    assert (-relabelled - (a + b)).description == "Sum(-Content Loss +\n-Sum(Channel [conv, 1] +\nDeepdream [conv]))"
    assert "Channel [conv, 1]" in repr(a) and repr(a).startswith("Objective(")
    assert "weight=-0.5" in repr(a - 0.5 * obj.total_variation())


@pytest.mark.parametrize("bad", ["x", [1.0], None, {"a": 1}, np.ones(3)])
def test_algebra_type_errors(bad):
    a = obj.channel("conv", 1)
    with pytest.raises(ValueError, match="number"):
        a * bad
    with pytest.raises(ValueError, match="number"):
        a / bad
    with pytest.raises(ValueError):
        a + bad
    with pytest.raises(ValueError):
        a - bad


def test_algebra_errors_are_value_errors_and_still_type_errors():
    """Issue 23: bad operands raise ArgumentError, the README's ValueError, and still a TypeError (as Python's
    operators and the callers written for them expect)."""
    a = obj.channel("conv", 1)
    for bad in (lambda: a * "x", lambda: a / a, lambda: 2 / a, lambda: a + None, lambda: Objective(3),
                lambda: obj.as_objective(3), lambda: obj.channel("conv", "1")):
        with pytest.raises(ValueError) as info:
            bad()
        assert isinstance(info.value, TypeError)


def test_algebra_other_errors():
    a = obj.channel("conv", 1)
    with pytest.raises(ValueError, match="divide"):
        2 / a
    with pytest.raises(ValueError, match="number"):
        a / a
    with pytest.raises(ZeroDivisionError):
        a / 0
    with pytest.raises(ValueError, match="empty"):
        Objective.sum([])
    with pytest.raises(ValueError):
        Objective(3)
    with pytest.raises(ValueError, match="channel index"):
        obj.channel("conv", "1")


def test_as_objective(acts):
    a = obj.channel("conv", 3)
    assert obj.as_objective(a) is a
    from_str = obj.as_objective("conv:3")
    assert from_str.description == a.description
    assert evaluate(from_str, acts) == evaluate(a, acts)
    assert obj.as_objective("mixed4a:0:12").description == "Channel [mixed4a:0, 12]"
    custom = obj.as_objective(lambda T: tf.reduce_sum(T("dense")))
    np.testing.assert_allclose(evaluate(custom, acts), acts["dense"].sum(), RTOL, ATOL)
    for bad in ["conv", "conv:x", ":3"]:
        with pytest.raises(ValueError, match="deepdream"):
            obj.as_objective(bad)
    with pytest.raises(ValueError):
        obj.as_objective(3)


def test_wrap_objective_forms(acts):
    @obj.wrap_objective
    def bare(layer, k):
        return lambda T: k * tf.reduce_mean(T(layer))

    @obj.wrap_objective()
    def called(layer):
        return lambda T: tf.reduce_mean(T(layer))

    @obj.wrap_objective("NHWC")
    def shape_of(layer):
        return lambda T: tf.cast(tf.rank(T(layer)), tf.float32)

    @obj.wrap_objective(handle_batch=True)
    def mean_sq(layer):
        return lambda T: tf.reduce_mean(T(layer) ** 2)

    assert bare.__name__ == "bare"
    o = bare("conv", 2.0)
    assert o.description == "Bare [conv, 2.0]" and o.name == "bare"
    np.testing.assert_allclose(evaluate(o, acts), 2 * acts["conv"].mean(), RTOL, ATOL)
    np.testing.assert_allclose(evaluate(-called("dense"), acts), -acts["dense"].mean(), RTOL, ATOL)
    assert evaluate(shape_of("dense"), acts) == 4.0
    np.testing.assert_allclose(evaluate(mean_sq("conv", batch=1), acts), (acts["conv"][1] ** 2).mean(), RTOL, ATOL)
    with pytest.raises(ValueError, match="require_format"):
        obj.wrap_objective(require_format="NCHW")
    with pytest.raises(ValueError, match="must return"):
        obj.wrap_objective(lambda: 3)()


# ---------------------------------------------------------------------------------------------------------
# Native terms


def test_total_variation_is_a_native_term(acts):
    tv = obj.total_variation()
    assert tv.native_terms == (NativeTerm("total_variation", "input", 1.0, None),)
    assert not tv.has_tf_part
    assert tv.description == "Total_Variation []"
    assert obj.total_variation("input:0").native_terms == tv.native_terms


def test_native_terms_under_algebra(acts):
    ch, tv = obj.channel("conv", 1), obj.total_variation()
    mixed = ch - 0.5 * tv
    assert mixed.native_terms == (NativeTerm("total_variation", "input", -0.5),)
    np.testing.assert_allclose(evaluate(mixed, acts, part="tf"), evaluate(ch, acts), RTOL, ATOL)
    np.testing.assert_allclose(evaluate(mixed, acts), evaluate(ch, acts) - 0.5 * np_tv(acts["input"]), RTOL, 1e-4)

    assert [t.weight for t in (2 * (ch - tv) / 4).native_terms] == [-0.5]
    assert [t.weight for t in (tv + tv).native_terms] == [2.0]
    assert (tv - tv).native_terms == ()
    assert [t.weight for t in sum([tv, ch, 3 * tv]).native_terms] == [4.0]
    assert [t.weight for t in (-tv).native_terms] == [-1.0]
    split = obj.total_variation(batch=1) + tv
    assert {(t.batch, t.weight) for t in split.native_terms} == {(1, 1.0), (None, 1.0)}
    # a product is not linear: both sides are evaluated in TF and no native term remains
    product = ch * tv
    assert product.native_terms == () and product.has_tf_part
    np.testing.assert_allclose(evaluate(product, acts), evaluate(ch, acts) * np_tv(acts["input"]), 1e-4, 1e-4)
    # a pure native objective has a constant-zero TF part; adding a number gives it one
    assert evaluate(-tv, acts, part="tf") == 0.0
    assert evaluate(tv + 2, acts, part="tf") == 2.0


@pytest.mark.parametrize("batch", [None, 1])
def test_call_equals_tf_part_plus_native_values(acts, batch):
    from lucid_fast import ops

    objective = 0.3 * obj.deepdream("conv") - 0.25 * obj.total_variation(batch=batch) + obj.L1() / 100
    T = accessor(acts)
    fallback = sum(float(t.tf_value(T)) for t in objective.native_terms)
    native = 0.0
    grad_native = ops.zeros_aligned(acts["input"].shape)
    for term in objective.native_terms:
        value, grad_native = term.native_value_and_grad(acts["input"], grad_native)
        native += value
    np.testing.assert_allclose(native, fallback, 1e-5, 1e-4)
    np.testing.assert_allclose(float(objective(T)), float(objective.tf_part(T)) + native, 1e-5, 1e-4)
    # the engine's gradient (TF part + native) equals the full-TF gradient of objective(T)
    _, grad_full = value_and_grad(objective, acts, "input")
    tf_only = Objective(objective.tf_part)
    _, grad_tf = value_and_grad(tf_only, acts, "input")
    np.testing.assert_allclose(grad_tf + grad_native, grad_full, 1e-5, 1e-5)
    if batch is not None:
        assert np.array_equal(grad_native[0], np.zeros_like(grad_native[0]))


def test_native_term_validation():
    with pytest.raises(ValueError, match="kind"):
        NativeTerm("blur")
    with pytest.raises(ValueError, match="input"):
        NativeTerm("total_variation", layer="conv")
    with pytest.raises(ValueError, match="weight"):
        NativeTerm("total_variation", weight=float("nan"))
    with pytest.raises(ValueError, match="batch"):
        NativeTerm("total_variation", batch=1.5)
    with pytest.raises(ValueError, match="NativeTerm"):
        Objective(None, native_terms=[("total_variation", "input", 1.0, None)])
    term = NativeTerm("total_variation", weight=2)
    assert isinstance(term.weight, float) and term.scaled(-0.5).weight == -1.0


# ---------------------------------------------------------------------------------------------------------
# Lucid's assert_gradient_ascent: a few Adam steps on the input of a tiny conv model raise the objective

SIZE = 16


@pytest.fixture(scope="module")
def tiny_model():
    import keras

    keras.utils.set_random_seed(0)
    inp = keras.Input((SIZE, SIZE, 3))
    conv1 = keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="conv1")(inp)
    conv2 = keras.layers.Conv2D(6, 3, strides=2, padding="same", name="conv2")(conv1)
    logits = keras.layers.Dense(5, name="logits")(keras.layers.GlobalAveragePooling2D()(conv2))
    return keras.Model(inp, {"conv1": conv1, "conv2": conv2, "logits": logits})


def gradient_ascent_values(objective, model, batch=1, channels=3, steps=3, lr=0.1, seed=0):
    """Objective values before and after ``steps`` Adam steps on a sigmoid pixel parameterization."""
    rng = np.random.default_rng(seed)
    param = tf.Variable(rng.normal(scale=0.5, size=(batch, SIZE, SIZE, channels)).astype(np.float32))
    m, v = tf.Variable(tf.zeros_like(param)), tf.Variable(tf.zeros_like(param))
    t = tf.Variable(0.0)

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            image = tf.sigmoid(param)
            outputs = model(image[..., :3])
            value_t = objective(lambda name: image if name == "input" else outputs[name])
        grad = tape.gradient(value_t, param)
        t.assign_add(1.0)
        m.assign(0.9 * m + 0.1 * grad)
        v.assign(0.999 * v + 0.001 * grad ** 2)
        m_hat, v_hat = m / (1 - 0.9 ** t), v / (1 - 0.999 ** t)
        param.assign_add(lr * m_hat / (tf.sqrt(v_hat) + 1e-8))  # ascent: objectives are maximised
        return value_t

    values = [float(step()) for _ in range(steps + 1)]
    return values[0], values[-1]


ASCENT = {
    "neuron": (lambda: obj.neuron("conv2", 3), {}),
    "channel": (lambda: obj.channel("conv2", 3), {}),
    "direction": (lambda: obj.direction("conv2", np.linspace(-1, 1, 6)), {}),
    "direction_cossim_2": (lambda: obj.direction_cossim("conv2", np.linspace(-1, 1, 6), cossim_pow=2), {}),
    "direction_neuron": (lambda: obj.direction_neuron("conv2", np.linspace(-1, 1, 6), cossim_pow=1), {}),
    "tensor_direction": (lambda: obj.tensor_direction("conv2", np.linspace(-1, 1, 54).reshape(1, 3, 3, 6)), {}),
    "deepdream": (lambda: obj.deepdream("conv2"), {}),
    "total_variation_layer": (lambda: obj.total_variation("conv2"), {}),
    "total_variation_input": (lambda: obj.total_variation(), {}),
    "L1": (lambda: obj.L1(), {}),
    "L2": (lambda: obj.L2(), {}),
    "blur_input_each_step": (lambda: obj.blur_input_each_step(), {}),
    "blur_alpha_each_step": (lambda: obj.blur_alpha_each_step(), {"channels": 4}),
    "channel_interpolate": (lambda: obj.channel_interpolate("conv2", 0, "conv2", 4), {"batch": 3}),
    "penalize_boundary_complexity": (lambda: -obj.penalize_boundary_complexity([1, SIZE, SIZE, 3], w=4), {}),
    "alignment": (lambda: -obj.alignment("conv2"), {"batch": 2}),
    "diversity": (lambda: -obj.diversity("conv2"), {"batch": 2}),
    "input_diff": (lambda: -obj.input_diff(np.full((1, SIZE, SIZE, 3), 0.5, np.float32)), {}),
    "class_logit": (lambda: obj.class_logit("logits", "c2", labels=["c0", "c1", "c2", "c3", "c4"]), {}),
    "batched_channel": (lambda: obj.channel("conv2", 1, batch=1), {"batch": 2}),
    "combination": (lambda: obj.channel("conv2", 2) - 1e-3 * obj.total_variation() - 1e-2 * obj.L1(), {}),
}


@pytest.mark.parametrize("name", sorted(ASCENT))
def test_gradient_ascent(tiny_model, name):
    make, kwargs = ASCENT[name]
    start, end = gradient_ascent_values(make(), tiny_model, **kwargs)
    assert start < end, (start, end)
    # and ascent beats descent (some objectives, e.g. -diversity, start near a minimum and rise either way)
    _, end_descent = gradient_ascent_values(make(), tiny_model, lr=-0.1, **kwargs)
    assert end_descent < end, (start, end, end_descent)


# ---------------------------------------------------------------------------------------------------------
# Channel reads: which channels of which layers an objective declares it depends on


def test_channel_reads_declarations_and_algebra():
    assert obj.channel("conv", 2).channel_reads == {"conv": {2}}
    assert obj.channel("conv:0", -1, batch=1).channel_reads == {"conv": {-1}}
    assert obj.neuron("conv", 3, x=1, y=2).channel_reads == {"conv": {3}}
    assert obj.channel_interpolate("conv", 1, "dense", 4).channel_reads == {"conv": {1}, "dense": {4}}
    assert obj.channel_interpolate("conv", 1, "conv", 4).channel_reads == {"conv": {1, 4}}
    assert obj.total_variation().channel_reads == {}
    for unknown in (obj.deepdream("conv"), obj.direction("conv", np.ones(6)), obj.L1(),
                    obj.as_objective(lambda T: T("conv")[..., 0])):
        assert unknown.channel_reads is None
    per_image = sum(obj.channel("conv", c, batch=b) for b, c in enumerate([5, 1, 5]))
    assert per_image.channel_reads == {"conv": {1, 5}}
    mixed = 2 * obj.channel("conv", 0) - 1e-3 * obj.total_variation() + obj.neuron("dense", 6) / 4
    assert mixed.channel_reads == {"conv": {0}, "dense": {6}}
    assert (-mixed).channel_reads == mixed.channel_reads
    assert (obj.channel("conv", 0) * obj.channel("conv", 3)).channel_reads == {"conv": {0, 3}}
    assert (obj.channel("conv", 0) + obj.deepdream("conv")).channel_reads is None
    assert (obj.channel("conv", 0) * obj.deepdream("conv")).channel_reads is None
    with pytest.raises(ValueError, match="channel_reads"):
        Objective(lambda T: 0.0, channel_reads=["conv"])
    with pytest.raises(ValueError, match="int channel"):
        Objective(lambda T: 0.0, channel_reads={"conv": [1.5]})


DECLARING = {
    "channel": lambda: obj.channel("conv", 4),
    "channel_batch": lambda: obj.channel("conv", -2, batch=1),
    "neuron": lambda: obj.neuron("conv", 1, x=2, y=1),
    "neuron_dense": lambda: obj.neuron("dense", 5),
    "channel_interpolate": lambda: obj.channel_interpolate("conv", 0, "dense", 3),
    "per_image_sum": lambda: sum(obj.channel("conv", c, batch=b) for b, c in enumerate([3, 0, 3])),
    "algebra": lambda: 3 * obj.channel("conv", 2) - obj.neuron("dense", 0) / 2 - 0.1 * obj.total_variation(),
}


@pytest.mark.parametrize("name", sorted(DECLARING))
def test_declared_channel_reads_are_all_an_objective_depends_on(acts, rng, name):
    """Replacing every channel an objective does not declare by noise changes neither its value nor its
    gradient: the declaration is what the engine may rely on to compute only those channels."""
    objective = DECLARING[name]()
    reads = objective.channel_reads
    noisy = dict(acts)
    for layer, chans in reads.items():
        n_ch = acts[layer].shape[-1]
        keep = np.zeros(n_ch, bool)
        keep[[c % n_ch for c in chans]] = True
        noisy[layer] = np.where(keep, acts[layer], rng.normal(size=acts[layer].shape) * 10).astype(np.float32)
        assert not np.array_equal(noisy[layer], acts[layer])
    for layer in reads:
        v, g = value_and_grad(objective, acts, layer)
        v_noisy, g_noisy = value_and_grad(objective, noisy, layer)
        assert v_noisy == pytest.approx(v, rel=1e-6)
        np.testing.assert_allclose(g_noisy, g, rtol=1e-6, atol=1e-7)
        n_ch = acts[layer].shape[-1]
        unread = [c for c in range(n_ch) if c not in {r % n_ch for r in reads[layer]}]
        assert not np.any(g[..., unread])
