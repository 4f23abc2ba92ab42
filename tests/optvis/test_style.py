"""Tests of lucid_fast.optvis.style: Gram matrices and distances against numpy, StyleLoss / ActivationLoss
targets and values (with and without moving averages), activation_difference, and gradient ascent of -StyleLoss
on a tiny conv model (gradients inside tf.function)."""
import numpy as np
import pytest
import tensorflow as tf

from lucid_fast.optvis import objectives, style

SIZE = 12


def accessor(arrays):
    tensors = {k: tf.convert_to_tensor(v) for k, v in arrays.items()}
    return lambda name: tensors[name]


def np_gram(a):
    flat = a.reshape(-1, a.shape[-1]).astype(np.float64)
    return flat.T @ flat / flat.shape[0]


@pytest.fixture(scope="module")
def tiny_model():
    import keras

    keras.utils.set_random_seed(1)
    inp = keras.Input((SIZE, SIZE, 3))
    conv1 = keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="conv1")(inp)
    conv2 = keras.layers.Conv2D(6, 3, strides=2, padding="same", activation="relu", name="conv2")(conv1)
    return keras.Model(inp, {"conv1": conv1, "conv2": conv2})


def activations(model, image):
    return {k: v.numpy() for k, v in model(tf.constant(image)).items()}


def model_accessor(model, image):
    outputs = model(tf.constant(image))
    return lambda name: outputs[name]


@pytest.mark.parametrize("shape", [(2, 3, 4, 5), (7, 3), (1, 1, 1, 4)])
def test_gram_style_matches_numpy(rng, shape):
    a = rng.normal(size=shape).astype(np.float32)
    np.testing.assert_allclose(style.gram_style(a).numpy(), np_gram(a), 1e-5, 1e-5)


def test_losses_match_numpy(rng):
    g1, g2 = rng.normal(size=(4, 4)).astype(np.float32), rng.normal(size=(4, 4)).astype(np.float32)
    np.testing.assert_allclose(float(style.mean_l1_loss(g1, g2)), np.abs(g1 - g2).mean(), 1e-6)
    np.testing.assert_allclose(float(style.mean_l2_loss(g1, g2)), np.sqrt(((g1 - g2) ** 2).mean()), 1e-6)


@pytest.mark.parametrize("loss_func", [style.mean_l1_loss, style.mean_l2_loss])
def test_style_loss_zero_on_its_style_and_positive_elsewhere(tiny_model, rng, loss_func):
    style_img = rng.uniform(size=(1, SIZE, SIZE, 3)).astype(np.float32)
    other_img = rng.uniform(size=(1, SIZE, SIZE, 3)).astype(np.float32)
    loss = style.StyleLoss(["conv1", "conv2"], loss_func=loss_func)
    loss.set_style(activations(tiny_model, style_img))
    assert abs(float(loss(model_accessor(tiny_model, style_img)))) < 1e-6
    value = float(loss(model_accessor(tiny_model, other_img)))
    other = activations(tiny_model, other_img)
    ref = activations(tiny_model, style_img)
    expected = sum(loss_func(np_gram(other[k]), np_gram(ref[k])).numpy() for k in ("conv1", "conv2"))
    assert value > 0
    np.testing.assert_allclose(value, expected, 1e-4, 1e-6)
    per_layer = [float(x) for x in loss.style_losses(model_accessor(tiny_model, other_img))]
    np.testing.assert_allclose(sum(per_layer), value, 1e-5)


def test_style_feed_formats_agree(tiny_model, rng):
    style_img = rng.uniform(size=(2, SIZE, SIZE, 3)).astype(np.float32)
    image = rng.uniform(size=(2, SIZE, SIZE, 3)).astype(np.float32)
    ref = activations(tiny_model, style_img)
    T = model_accessor(tiny_model, image)
    layers = ["conv1", lambda T: T("conv2")[0]]   # a callable spec takes item 0 of conv2, as Lucid's T(l)[0]
    values = []
    for feeds in (ref, lambda name: ref[name], [ref["conv1"], ref["conv2"][0]]):
        values.append(float(style.StyleLoss(layers, style=feeds)(T)))
    np.testing.assert_allclose(values, values[0], 1e-6)
    out = activations(tiny_model, image)
    expected = (np.abs(np_gram(out["conv1"]) - np_gram(ref["conv1"])).mean()
                + np.abs(np_gram(out["conv2"][0]) - np_gram(ref["conv2"][0])).mean())
    np.testing.assert_allclose(values[0], expected, 1e-4, 1e-6)


def test_set_style_again_updates_the_target(tiny_model, rng):
    img_a, img_b = (rng.uniform(size=(1, SIZE, SIZE, 3)).astype(np.float32) for _ in range(2))
    loss = style.StyleLoss(["conv2"], style=activations(tiny_model, img_a))
    variables = loss.target_vars
    loss.set_style(activations(tiny_model, img_b))
    assert loss.target_vars is variables  # assigned in place: a traced tf.function sees the new style
    assert abs(float(loss(model_accessor(tiny_model, img_b)))) < 1e-6
    assert float(loss(model_accessor(tiny_model, img_a))) > 0


def test_style_loss_errors(tiny_model, rng):
    image = rng.uniform(size=(1, SIZE, SIZE, 3)).astype(np.float32)
    T = model_accessor(tiny_model, image)
    loss = style.StyleLoss(["conv1"])
    with pytest.raises(RuntimeError, match="set_style"):
        loss(T)
    with pytest.raises(ValueError, match="conv1"):
        loss.set_style({"conv2": np.zeros((1, 6, 6, 6), np.float32)})
    with pytest.raises(ValueError, match="1 layers"):
        loss.set_style([np.zeros((1, 4, 4, 8)), np.zeros((1, 4, 4, 8))])
    with pytest.raises(TypeError, match="dict"):
        loss.set_style(3)
    loss.set_style({"conv1": np.zeros((1, 4, 4, 8), np.float32)})
    with pytest.raises(ValueError, match="shape"):
        loss.set_style({"conv1": np.zeros((1, 4, 4, 5), np.float32)})
    with pytest.raises(TypeError, match="layer names"):
        style.StyleLoss([tf.zeros((1, 2, 2, 3))])
    with pytest.raises(TypeError, match="list"):
        style.StyleLoss("conv1")
    with pytest.raises(ValueError, match="ema_decay"):
        style.StyleLoss(["conv1"], ema_decay=1.5)


def test_style_loss_is_an_objective(tiny_model, rng):
    img = rng.uniform(size=(1, SIZE, SIZE, 3)).astype(np.float32)
    loss = style.StyleLoss(["conv1", "conv2"], style=activations(tiny_model, img))
    assert isinstance(loss, objectives.Objective)
    assert loss.description == "StyleLoss [conv1, conv2]"
    combined = objectives.channel("conv2", 1) - 2 * loss
    assert combined.description == "Sum(Channel [conv2, 1] +\n-2 * StyleLoss [conv1, conv2])"
    other = rng.uniform(size=(1, SIZE, SIZE, 3)).astype(np.float32)
    T = model_accessor(tiny_model, other)
    np.testing.assert_allclose(float(combined(T)),
                               float(objectives.channel("conv2", 1)(T)) - 2 * float(loss(T)), 1e-5, 1e-6)


def test_style_loss_moving_average(rng):
    """With ema_decay the loss compares the zero-debiased moving average of the image's Gram matrices (TF1's
    ExponentialMovingAverage on tensors) but its gradient is that of the current step's loss."""
    decay = 0.8
    style_acts = rng.normal(size=(1, 3, 3, 4)).astype(np.float32)
    steps = [rng.normal(size=(1, 3, 3, 4)).astype(np.float32) for _ in range(3)]
    ema_loss = style.StyleLoss(["a"], ema_decay=decay, loss_func=style.mean_l2_loss, style={"a": style_acts})
    plain_loss = style.StyleLoss(["a"], loss_func=style.mean_l2_loss, style={"a": style_acts})

    @tf.function
    def value_and_grad(loss, a):
        with tf.GradientTape() as tape:
            tape.watch(a)
            value_t = loss(lambda name: a)
        return value_t, tape.gradient(value_t, a)

    biased = np.zeros((4, 4))
    target = np_gram(style_acts)
    for t, a in enumerate(steps, start=1):
        value, grad = value_and_grad(ema_loss, tf.constant(a))
        biased = decay * biased + (1 - decay) * np_gram(a)
        average = biased / (1 - decay ** t)
        np.testing.assert_allclose(float(value), np.sqrt(((average - target) ** 2).mean()), 1e-4, 1e-6)
        # the gradient flows through the current Gram matrix, with dloss/dG taken at the average:
        # for loss = sqrt(mean((G - S)^2)), dloss/dG = (G - S) / (size * loss); dG/da gives a (c + c^T) / P
        c = (average - target) / (average.size * np.sqrt(((average - target) ** 2).mean()))
        flat = a.reshape(-1, 4).astype(np.float64)
        np.testing.assert_allclose(grad.numpy().reshape(-1, 4), flat @ (c + c.T) / flat.shape[0], 1e-4, 1e-6)
        _, grad_plain = value_and_grad(plain_loss, tf.constant(a))
        if t > 1:  # from the second step on, the average differs from the step's own Gram matrix
            assert not np.allclose(grad.numpy(), grad_plain.numpy(), 1e-3, 1e-6)
    # the first step's average is the step's own Gram matrix (zero debiasing)
    fresh = style.StyleLoss(["a"], ema_decay=decay, style={"a": style_acts})
    np.testing.assert_allclose(float(fresh(lambda name: tf.constant(steps[0]))),
                               float(style.StyleLoss(["a"], style={"a": style_acts})(lambda n: tf.constant(steps[0]))),
                               1e-5)


def test_activation_loss(tiny_model, rng):
    content = rng.uniform(size=(1, SIZE, SIZE, 3)).astype(np.float32)
    image = rng.uniform(size=(1, SIZE, SIZE, 3)).astype(np.float32)
    ref = activations(tiny_model, content)
    loss = style.ActivationLoss(["conv2"], target=ref)
    assert abs(float(loss(model_accessor(tiny_model, content)))) < 1e-7
    out = activations(tiny_model, image)
    np.testing.assert_allclose(float(loss(model_accessor(tiny_model, image))),
                               np.abs(out["conv2"] - ref["conv2"]).mean(), 1e-5, 1e-7)
    gram_loss = style.ActivationLoss(["conv2"], transform_f=style.gram_style, loss_func=style.mean_l2_loss)
    gram_loss.set_target(lambda name: ref[name])
    np.testing.assert_allclose(float(gram_loss(model_accessor(tiny_model, image))),
                               np.sqrt(((np_gram(out["conv2"]) - np_gram(ref["conv2"])) ** 2).mean()), 1e-4, 1e-7)


def test_activation_difference_within_a_batch(rng):
    acts = {"a": rng.normal(size=(3, 4, 4, 5)).astype(np.float32),
            "b": rng.normal(size=(3, 2, 2, 6)).astype(np.float32)}
    content = style.activation_difference(["a", "b"])
    expected = sum(np.abs(acts[k][1] - acts[k][0]).mean() for k in "ab")
    np.testing.assert_allclose(float(content(accessor(acts))), expected, 1e-5)
    style_obj = style.activation_difference(["a"], transform_f=style.gram_style, difference_to=2)
    np.testing.assert_allclose(float(style_obj(accessor(acts))),
                               np.abs(np_gram(acts["a"][2]) - np_gram(acts["a"][0])).mean(), 1e-4, 1e-6)
    a_t = tf.constant(acts["a"])
    with tf.GradientTape() as tape:
        tape.watch(a_t)
        value_t = style.activation_difference(["a"], activation_loss_f=style.mean_l2_loss)(lambda name: a_t)
    grad = tape.gradient(value_t, a_t).numpy()
    assert np.abs(grad[0]).max() > 0 and not grad[1].any() and not grad[2].any()


def test_gradient_ascent_of_negative_style_loss(tiny_model, rng):
    style_img = rng.uniform(size=(1, SIZE, SIZE, 3)).astype(np.float32)
    loss = style.StyleLoss(["conv1", "conv2"], style=activations(tiny_model, style_img))
    objective = -loss - 0.01 * style.ActivationLoss(["conv2"], target=activations(tiny_model, style_img[:, ::-1]))
    param = tf.Variable(rng.normal(scale=0.5, size=(1, SIZE, SIZE, 3)).astype(np.float32))
    m, v, t = tf.Variable(tf.zeros_like(param)), tf.Variable(tf.zeros_like(param)), tf.Variable(0.0)

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            image = tf.sigmoid(param)
            outputs = tiny_model(image)
            value_t = objective(lambda name: image if name == "input" else outputs[name])
        grad = tape.gradient(value_t, param)
        t.assign_add(1.0)
        m.assign(0.9 * m + 0.1 * grad)
        v.assign(0.999 * v + 0.001 * grad ** 2)
        param.assign_add(0.1 * (m / (1 - 0.9 ** t)) / (tf.sqrt(v / (1 - 0.999 ** t)) + 1e-8))
        return value_t

    values = [float(step()) for _ in range(6)]
    assert values[0] < values[-1], values


def test_style_transfer_2d_notebook_pattern(rng):
    """Lucid's style_transfer_2d notebook defines its losses with a bare @wrap_objective, relabels them and
    combines them as ``- content_obj - style_obj``; that code runs unchanged on lucid_fast objectives."""
    @objectives.wrap_objective
    def notebook_difference(layer_names, activation_loss_f=style.mean_l1_loss, transform_f=None, difference_to=1):
        def inner(T):
            image_acts = [T(name)[difference_to] for name in layer_names]
            optimized_acts = [T(name)[0] for name in layer_names]
            if transform_f is not None:
                image_acts = [transform_f(a) for a in image_acts]
                optimized_acts = [transform_f(a) for a in optimized_acts]
            return tf.add_n([activation_loss_f(a, b) for a, b in zip(image_acts, optimized_acts)])
        return inner

    acts = {"c": rng.normal(size=(3, 4, 4, 5)).astype(np.float32),
            "s": rng.normal(size=(3, 2, 2, 6)).astype(np.float32)}
    T = accessor(acts)
    content_obj = 100 * notebook_difference(["c"], difference_to=1)
    content_obj.description = "Content Loss"
    style_obj = notebook_difference(["c", "s"], transform_f=style.gram_style, difference_to=2)
    style_obj.description = "Style Loss"
    objective = - content_obj - style_obj
    assert objective.description == "Sum(-Content Loss +\n-Style Loss)"
    expected = -(100 * style.activation_difference(["c"])(T)
                 + style.activation_difference(["c", "s"], transform_f=style.gram_style, difference_to=2)(T))
    np.testing.assert_allclose(float(objective(T)), float(expected), 1e-5, 1e-6)
