"""ModelAdapter.channel_activation_fn: only the listed channels, computed without the rest where possible, and
equal to the whole layer gathered (values and input gradients, with and without the ReLU override)."""
import numpy as np
import pytest
import tensorflow as tf

from lucid_fast import models


def _tiny():
    import keras

    rng = np.random.default_rng(3)
    inp = keras.Input((None, None, 3), name="input")
    a = keras.layers.Conv2D(6, 3, padding="same", activation="relu", name="conv1")(inp)
    b = keras.layers.Conv2D(7, 3, padding="same", name="conv_lin")(a)            # no activation
    c = keras.layers.Conv2D(5, 3, strides=2, padding="valid", activation="relu6", name="conv_s2")(b)
    g = keras.layers.GlobalAveragePooling2D(name="gap")(c)
    d = keras.layers.Dense(4, activation="relu", name="dense")(g)
    model = keras.Model(inp, d, name="tiny_slicing")
    for w in model.weights:
        w.assign(rng.normal(0, 0.5, w.shape).astype(np.float32))
    return models.load_model(model)


CASES = [  # (layer, channels, computed alone?)
    ("conv1", [4, 0, 5], True),
    ("conv_lin", [6, 2], True),
    ("conv_s2", [1, 1, 3], True),       # repeated channels, stride 2, valid padding, relu6
    ("conv_s2_pre_relu", [0, 4], True),
    ("dense", [3, 0], True),
    ("dense_pre_relu", [2], True),
    ("gap", [1, 4], False),             # not a conv/dense layer: computed whole and gathered
]


@pytest.mark.parametrize("layer,channels,alone", CASES)
@pytest.mark.parametrize("override", [False, True])
def test_channel_activation_fn_matches_gathered_layer(layer, channels, alone, override):
    adapter = _tiny()
    x = tf.constant(np.random.default_rng(0).random((3, 13, 13, 3), np.float32))
    sliced = adapter.channel_activation_fn({layer: channels}, relu_override=override)
    full = adapter.activation_fn([layer], relu_override=override)
    assert (layer in sliced.sliced) == alone
    w = tf.constant(np.random.default_rng(1).normal(size=(3, len(channels))).astype(np.float32))
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        a = sliced(x)[layer]
        b = tf.gather(full(x)[layer], channels, axis=-1)
        axes = list(range(1, a.shape.rank - 1))
        la = tf.reduce_sum((tf.reduce_mean(a, axes) if axes else a) * w)
        lb = tf.reduce_sum((tf.reduce_mean(b, axes) if axes else b) * w)
    assert a.shape == b.shape and a.shape[-1] == len(channels)
    np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-5 * float(tf.reduce_max(tf.abs(b))))
    ga, gb = tape.gradient(la, x).numpy(), tape.gradient(lb, x).numpy()
    assert np.abs(gb).max() > 0
    np.testing.assert_allclose(ga, gb, rtol=1e-4, atol=1e-5 * np.abs(gb).max())


def test_channel_activation_fn_keeps_a_layer_whole_when_a_later_one_reads_it():
    adapter = _tiny()
    x = tf.constant(np.random.default_rng(0).random((2, 11, 11, 3), np.float32))
    f = adapter.channel_activation_fn({"conv1": [4, 0], "conv_lin": [6]})
    assert f.sliced == ("conv_lin",)  # conv_lin reads all of conv1: conv1 is computed whole, then gathered
    out = f(x)
    full = adapter.activation_fn(["conv1", "conv_lin"])(x)
    np.testing.assert_allclose(out["conv1"].numpy(), tf.gather(full["conv1"], [4, 0], axis=-1).numpy(), atol=1e-5)
    np.testing.assert_allclose(out["conv_lin"].numpy(), full["conv_lin"].numpy()[..., 6:], rtol=1e-5, atol=1e-5)


def test_channel_activation_fn_shares_a_layer_read_twice():
    adapter = _tiny()
    x = tf.constant(np.random.default_rng(0).random((2, 9, 9, 3), np.float32))
    f = adapter.channel_activation_fn({"conv_s2": [1], "conv_s2_pre_relu": [1]})
    assert set(f.sliced) == {"conv_s2", "conv_s2_pre_relu"}
    out = f(x)
    np.testing.assert_allclose(out["conv_s2"].numpy(), np.clip(out["conv_s2_pre_relu"].numpy(), 0, 6), atol=1e-6)
    g = adapter.channel_activation_fn({"conv_s2": [1], "conv_s2_pre_relu": [2]})  # different channels: gathered
    assert g.sliced == ()
    full = adapter.activation_fn(["conv_s2_pre_relu"])(x)["conv_s2_pre_relu"].numpy()
    np.testing.assert_allclose(g(x)["conv_s2_pre_relu"].numpy(), full[..., 2:3], rtol=1e-6, atol=1e-6)


def test_channel_activation_fn_on_vgg16_hed_is_exact():
    from lucid_fast import modelzoo

    adapter = modelzoo.load_model("vgg16_hed")
    x = tf.constant(np.random.default_rng(0).random((2, 20, 20, 3), np.float32))
    f = adapter.channel_activation_fn({"block1_conv2": [7, 30]}, relu_override=True)
    assert f.sliced == ("block1_conv2",)
    full = tf.gather(adapter.activation_fn(["block1_conv2"])(x)["block1_conv2"], [7, 30], axis=-1)
    np.testing.assert_allclose(f(x)["block1_conv2"].numpy(), full.numpy(), rtol=1e-5, atol=1e-3)


def test_channel_activation_fn_rejects_bad_requests():
    adapter = _tiny()
    with pytest.raises(ValueError, match="outside its 5 channels"):
        adapter.channel_activation_fn({"conv_s2": [5]})
    with pytest.raises(ValueError, match="non-empty dict"):
        adapter.channel_activation_fn({})
    with pytest.raises(ValueError, match="sequence of ints"):
        adapter.channel_activation_fn({"conv_s2": [0.5]})
    with pytest.raises(ValueError, match="unknown layer"):
        adapter.channel_activation_fn({"conv9": [0]})


@pytest.mark.parametrize("layer", ["conv_s2", "dense"])
def test_channel_activation_fn_redirects_the_gradient_of_a_dead_channel(layer):
    """A channel that no image activates: only the redirected ReLU gives it a gradient, sliced or not."""
    adapter = _tiny()
    bias = adapter.model.get_layer(layer).bias
    bias.assign(tf.tensor_scatter_nd_update(bias, [[1]], [-1e3]))
    x = tf.constant(np.random.default_rng(0).random((2, 13, 13, 3), np.float32))
    grads = []
    for fn in (adapter.channel_activation_fn({layer: [1]}, relu_override=True),
               lambda x_t: {layer: tf.gather(adapter.activation_fn([layer], relu_override=True)(x_t)[layer], [1],
                                             axis=-1)}):
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = tf.reduce_sum(fn(x)[layer])
        grads.append(tape.gradient(loss, x).numpy())
    assert np.abs(grads[1]).max() > 0
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-4, atol=1e-6 * np.abs(grads[1]).max())


# ---- dilation, strides and padding of the sliced Conv2D (issue 23: a sliced conv that ignored dilation_rate
# optimized the wrong function with no error; every layer above is undilated) ----------------------------------
def _geometry():
    import keras

    rng = np.random.default_rng(5)
    inp = keras.Input((None, None, 3), name="input")
    a = keras.layers.Conv2D(6, 3, dilation_rate=2, padding="same", activation="relu", name="dil2_same")(inp)
    b = keras.layers.Conv2D(7, 3, dilation_rate=(2, 3), padding="valid", name="dil23_valid")(a)
    c = keras.layers.Conv2D(5, (3, 2), strides=(2, 1), padding="valid", activation="relu6", name="s21_valid")(b)
    d = keras.layers.Conv2D(4, 3, strides=2, padding="same", activation="relu", name="s2_same")(c)
    e = keras.layers.Conv2D(6, 2, dilation_rate=3, padding="valid", activation="relu", name="dil3_valid")(d)
    model = keras.Model(inp, e, name="tiny_geometry")
    for w in model.weights:
        w.assign(rng.normal(0, 0.5, w.shape).astype(np.float32))
    return models.load_model(model)


GEOMETRY_CASES = [
    ("dil2_same", [5, 0, 3]),
    ("dil2_same_pre_relu", [1]),
    ("dil23_valid", [6, 2, 2]),        # anisotropic dilation, 'valid': a transposed rate changes the shape
    ("s21_valid", [4, 0]),             # anisotropic stride, 'valid', relu6
    ("s2_same", [3, 1]),               # stride 2, 'same' padding
    ("dil3_valid", [2, 5]),
    ("dil3_valid_pre_relu", [0]),
]


@pytest.mark.parametrize("layer,channels", GEOMETRY_CASES)
@pytest.mark.parametrize("override", [False, True])
def test_sliced_conv_keeps_dilation_strides_and_padding(layer, channels, override):
    adapter = _geometry()
    x = tf.constant(np.random.default_rng(0).random((2, 37, 45, 3), np.float32))  # not square
    sliced = adapter.channel_activation_fn({layer: channels}, relu_override=override)
    full = adapter.activation_fn([layer], relu_override=override)
    assert sliced.sliced == (layer,)
    w = tf.constant(np.random.default_rng(1).normal(size=(2, len(channels))).astype(np.float32))
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        a = sliced(x)[layer]
        b = tf.gather(full(x)[layer], channels, axis=-1)
        la = tf.reduce_sum(tf.reduce_mean(a, [1, 2]) * w)
        lb = tf.reduce_sum(tf.reduce_mean(b, [1, 2]) * w)
    assert a.shape == b.shape, (a.shape, b.shape)
    scale = float(tf.reduce_max(tf.abs(b)))
    assert scale > 0
    np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-5 * scale)
    ga, gb = tape.gradient(la, x).numpy(), tape.gradient(lb, x).numpy()
    assert np.abs(gb).max() > 0
    np.testing.assert_allclose(ga, gb, rtol=1e-4, atol=1e-5 * np.abs(gb).max())


@pytest.mark.parametrize("layer,channel", [("dil2_same", 3), ("dil23_valid", 6), ("s2_same", 1)])
def test_sliced_objective_step_equals_unsliced_on_dilated_and_strided_convs(layer, channel):
    """The step the engine runs: sliced (the default) and unsliced give the same loss and input gradient."""
    from lucid_fast import ops
    from lucid_fast.optvis import objectives

    adapter = _geometry()
    shape = (2, 37, 45, 3)
    rng = np.random.default_rng(2)
    x, x_raw = ops.empty_aligned(shape), ops.empty_aligned(shape)
    x[...] = rng.random(shape, np.float32)
    x_raw[...] = x
    outs = []
    for slice_channels in (True, False):
        step = adapter.objective_step(objectives.channel(layer, channel), shape)
        step.slice_channels = slice_channels
        out = step(x, x_raw, relu_override=True)
        assert step.sliced == ((layer,) if slice_channels else ())
        outs.append((out.loss, np.array(out.grad_x)))
    (loss_s, grad_s), (loss_f, grad_f) = outs
    assert np.abs(grad_f).max() > 0
    np.testing.assert_allclose(loss_s, loss_f, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(grad_s, grad_f, rtol=1e-4, atol=1e-5 * np.abs(grad_f).max())
