"""render_vis end to end on small models the tests build (Keras, SavedModel, frozen GraphDef)."""
import warnings

import numpy as np
import pytest
import tensorflow as tf

from lucid_fast.optvis import objectives, param, render, transform

SIZE = 48


def tiny_keras(seed=0):
    """conv(relu) -> pool -> conv(relu) -> 1x1 stride-2 conv -> relu: small, with the layer kinds that matter."""
    tf.keras.utils.set_random_seed(seed)
    x = tf.keras.Input((None, None, 3), name="image")
    y = tf.keras.layers.Conv2D(16, 3, padding="same", activation="relu", name="conv1")(x)
    y = tf.keras.layers.MaxPooling2D(2, name="pool1")(y)
    y = tf.keras.layers.Conv2D(24, 3, padding="same", activation="relu", name="conv2")(y)
    y = tf.keras.layers.Conv2D(16, 1, strides=2, name="conv3")(y)
    y = tf.keras.layers.ReLU(name="relu3")(y)
    return tf.keras.Model(x, y, name="tiny")


def channel_mean(vis, layer, n, images):
    acts = vis.model.activation_fn([vis.model.resolve(layer)])(tf.constant(images))[vis.model.resolve(layer)]
    return float(tf.reduce_mean(acts[..., n]))


@pytest.fixture(scope="module")
def keras_model():
    return tiny_keras()


def _render_and_check(model, layer="conv2", n=5, steps=48, **kw):
    vis = render.make_vis_T(model, objectives.channel(layer, n),
                            param_f=lambda: param.image(SIZE, batch=2), seed=0, **kw)
    start = channel_mean(vis, layer, n, vis.image())
    losses = [vis.step() for _ in range(steps)]
    end = channel_mean(vis, layer, n, vis.image())
    return vis, start, end, losses


def test_render_raises_the_channel_keras(keras_model):
    vis, start, end, losses = _render_and_check(keras_model)
    assert end >= 5 * max(start, 1e-3), f"channel mean {start:.4g} -> {end:.4g}"
    assert losses[-1] > losses[0]
    img = vis.image()
    assert img.min() >= 0 and img.max() <= 1 and img.std() > 0.02


def test_render_vis_returns_threshold_images(keras_model):
    imgs = render.render_vis(keras_model, "conv2:5", param_f=lambda: param.image(SIZE), thresholds=(3, 10),
                             verbose=False, seed=1)
    assert len(imgs) == 2 and imgs[0].shape == (1, SIZE, SIZE, 3)
    assert not np.array_equal(imgs[0], imgs[1])


def test_same_seed_same_images(keras_model):
    kw = dict(param_f=lambda: param.image(SIZE, batch=2), thresholds=(12,), verbose=False)
    a = render.render_vis(keras_model, "conv2:3", seed=11, **kw)[0]
    b = render.render_vis(keras_model, "conv2:3", seed=11, **kw)[0]
    c = render.render_vis(keras_model, "conv2:3", seed=12, **kw)[0]
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_native_total_variation_matches_tf_fallback(keras_model):
    """The engine's native TV term gives the objective value TF's fallback gives."""
    obj = objectives.channel("conv2", 2) - 1e-3 * objectives.total_variation()
    assert len(obj.native_terms) == 1
    vis = render.make_vis_T(keras_model, obj, param_f=lambda: param.image(SIZE), transforms=[], seed=0)
    x = vis.image()
    acts = vis.model.activation_fn([vis.model.resolve("conv2")])(tf.constant(x))

    def T(name):
        return tf.constant(x) if name == "input" else acts[vis.model.resolve(name)]

    expected = float(obj(T))
    got = vis.step()
    assert abs(got - expected) <= 1e-4 * max(1.0, abs(expected)), (got, expected)


def test_alpha_render_with_collapse(keras_model):
    vis = render.make_vis_T(keras_model, objectives.channel("conv2", 5),
                            param_f=lambda: param.image(SIZE, alpha=True),
                            transforms=[transform.collapse_alpha_random(), transform.jitter(4)], seed=0)
    losses = [vis.step() for _ in range(30)]
    assert np.mean(losses[-5:]) > np.mean(losses[:5])
    assert vis.image().shape[-1] == 4


def test_user_tf_transform_runs_inside_the_step(keras_model):
    calls = []

    def flip(x_t):
        calls.append(1)
        return tf.reverse(x_t, axis=[2])

    vis = render.make_vis_T(keras_model, "conv2:5", param_f=lambda: param.image(SIZE), transforms=[flip], seed=0)
    calls.clear()  # finding the objective's layers traced it once; the step must call it again
    vis.step()
    assert calls, "the step's tf.function never called the user transform"
    assert vis.image().shape == (1, SIZE, SIZE, 3)
    # its effect on the gradient is checked against autodiff in tests/optvis/test_step_autodiff.py


def test_keras_optimizer_settings_are_used(keras_model):
    opt = render.make_optimizer(tf.keras.optimizers.Adam(0.01, beta_1=0.8))
    assert opt.learning_rate == pytest.approx(0.01) and opt.beta_1 == pytest.approx(0.8)
    with pytest.raises(ValueError, match="optimizer must be"):
        render.make_optimizer(object())


def test_unknown_layer_lists_close_names(keras_model):
    with pytest.raises(ValueError, match="conv2"):
        render.make_vis_T(keras_model, "conv22:1", param_f=lambda: param.image(SIZE))


def test_channel_out_of_range_is_an_error(keras_model):
    with pytest.raises(ValueError, match="channel 240 is out of range: layer 'conv2' has 24 channels"):
        render.render_vis(keras_model, "conv2:240", param_f=lambda: param.image(SIZE), thresholds=(1,),
                          verbose=False)


def test_wrong_channel_count_is_an_error(keras_model):
    with pytest.raises(ValueError, match="takes 3 channels"):
        render.make_vis_T(keras_model, "conv2:1", param_f=lambda: param.image(SIZE, channels=1))
    with pytest.raises(ValueError, match="collapse_alpha_random"):
        render.make_vis_T(keras_model, "conv2:1", param_f=lambda: param.image(SIZE, alpha=True))


def test_non_finite_objective_stops_with_images(keras_model):
    @objectives.wrap_objective()
    def explode(layer):
        def inner(T):
            return tf.reduce_mean(T(layer)) + tf.math.log(-1.0)
        return inner

    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        imgs = render.render_vis(keras_model, explode("conv2"), param_f=lambda: param.image(SIZE),
                                 thresholds=(5,), verbose=False, seed=0)
    assert len(imgs) == 1 and np.isfinite(imgs[0]).all()
    assert any("not finite" in str(w.message) for w in rec)


def test_keyboard_interrupt_returns_images(keras_model, monkeypatch):
    real_step = render.VisSession.step
    count = {"n": 0}

    def step(self):
        count["n"] += 1
        if count["n"] == 4:
            raise KeyboardInterrupt
        return real_step(self)

    monkeypatch.setattr(render.VisSession, "step", step)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        imgs = render.render_vis(keras_model, "conv2:1", param_f=lambda: param.image(SIZE), thresholds=(1, 50),
                                 verbose=False, seed=0)
    assert len(imgs) == 2  # the threshold-1 image and the image when interrupted


def test_render_savedmodel(tmp_path, keras_model):
    path = str(tmp_path / "sm")
    keras_model.export(path, verbose=False) if hasattr(keras_model, "export") else tf.saved_model.save(keras_model, path)
    from lucid_fast import models

    adapter = models.load_model(path)
    names = [l.name for l in adapter.layers()]
    relu_layer = next(n for n in names if "conv2" in n and "relu" in n.lower() and "pre" not in n.lower())
    vis, start, end, _ = _render_and_check(adapter, layer=relu_layer)
    assert end >= 5 * max(start, 1e-3), f"{relu_layer}: channel mean {start:.4g} -> {end:.4g}"


def test_render_graphdef(tmp_path, keras_model):
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    fn = tf.function(lambda x: keras_model(x)).get_concrete_function(tf.TensorSpec([None, None, None, 3],
                                                                                   tf.float32, name="input"))
    frozen = convert_variables_to_constants_v2(fn)
    path = str(tmp_path / "tiny.pb")
    with open(path, "wb") as f:
        f.write(frozen.graph.as_graph_def().SerializeToString())
    from lucid_fast import models

    input_name = frozen.inputs[0].name.split(":")[0]
    adapter = models.load_model(path, input_name=input_name, image_shape=(SIZE, SIZE, 3), image_value_range=(0, 1))
    names = [l.name for l in adapter.layers()]
    relu_layer = next(n for n in names if "conv2" in n and n.lower().endswith("relu"))
    vis, start, end, _ = _render_and_check(adapter, layer=relu_layer)
    assert end >= 5 * max(start, 1e-3), f"{relu_layer}: channel mean {start:.4g} -> {end:.4g}"


@pytest.mark.slow
def test_render_vgg16_hed_raises_objective_and_is_not_flat():
    imgs = render.render_vis("vgg16_hed", "block4_conv3:100", param_f=lambda: param.image(96), thresholds=(63,),
                             verbose=False, seed=0)
    vis = render.make_vis_T("vgg16_hed", "block4_conv3:100", param_f=lambda: param.image(96), seed=0)
    start = channel_mean(vis, "block4_conv3", 100, vis.image())
    end = channel_mean(vis, "block4_conv3", 100, imgs[0])
    assert end > 5 * max(start, 1e-3), (start, end)
    assert imgs[0].std() > 0.05


