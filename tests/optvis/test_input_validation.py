"""render_vis, param.image and objectives refuse what they used to coerce, and explain what they cannot do."""
import os
import tempfile

import keras
import numpy as np
import pytest
import tensorflow as tf

from lucid_fast import models
from lucid_fast.misc import memory
from lucid_fast.optvis import objectives, param, render, transform
from test_render import tiny_keras

SIZE = 48


@pytest.fixture(scope="module")
def model():
    return tiny_keras()


# ---- param.image ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs, match", [
    (dict(batch=0), "batch must be an integer >= 1, got 0"),
    (dict(h=0), "h must be an integer >= 1, got 0"),
    (dict(channels=0), "channels must be an integer >= 1, got 0"),
    (dict(batch=2.0), "batch must be an integer >= 1, got 2.0"),
    (dict(sd=-0.1), "sd must be >= 0"),
    (dict(sd=float("nan")), "sd must be finite"),
])
def test_param_image_rejects_what_lucid_coerced(kwargs, match):
    with pytest.raises(ValueError, match=match):
        param.image(32, **kwargs)


def test_param_image_defaults_and_explicit_values():
    assert param.image(32).shape == (1, 32, 32, 3)
    assert param.image(32, h=16, batch=2, channels=5).shape == (2, 16, 32, 5)
    assert param.image(32, alpha=True).shape == (1, 32, 32, 4)
    with pytest.raises(ValueError, match="fft_image: the width must be >= 2"):
        param.image(1)
    assert param.image(1, fft=False).shape == (1, 1, 1, 3)
    with pytest.raises(ValueError, match="fft_image: decay_power=60"):
        param.fft_image((1, 64, 64, 3), decay_power=60)


# ---- render_vis arguments ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("bad", ["12", (2.9,), (), [-1], -1, 2.0, (True,), None])
def test_thresholds_must_be_step_counts(model, bad):
    with pytest.raises(ValueError, match="render_vis: thresholds must be step counts"):
        render.render_vis(model, "conv2:1", param_f=lambda: param.image(SIZE), thresholds=bad, verbose=False)


def test_one_int_threshold_means_that_step(model):
    """thresholds=3 means (3,): one image, after steps 0..3 -- the same image as thresholds=(3,)."""
    kw = dict(param_f=lambda: param.image(SIZE), verbose=False, seed=4)
    a = render.render_vis(model, "conv2:1", thresholds=3, **kw)
    b = render.render_vis(model, "conv2:1", thresholds=(3,), **kw)
    c = render.render_vis(model, "conv2:1", thresholds=(2,), **kw)
    assert len(a) == 1 and np.array_equal(a[0], b[0]) and not np.array_equal(a[0], c[0])
    assert render.check_thresholds(np.int64(5)) == [5]
    assert render.check_thresholds([7, 3, 7]) == [3, 7]


@pytest.mark.parametrize("seed", [-1, 1.5, "0", True, [1, -2], []])
def test_seed_must_be_a_non_negative_int(model, seed):
    with pytest.raises(ValueError, match=r"render_vis: seed must be None, an integer >= 0 \(or a sequence"):
        render.make_vis_T(model, "conv2:1", param_f=lambda: param.image(SIZE), seed=seed)


def test_verbose_outside_a_notebook_writes_no_files(model, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    render.render_vis(model, "conv2:1", param_f=lambda: param.image(SIZE), thresholds=(1, 2), verbose=True,
                      progress=False, seed=0)
    assert os.listdir(tmp_path) == []
    lines = capsys.readouterr().out.splitlines()
    assert [ln.split()[0] for ln in lines] == ["1", "2"]  # the objective is still printed at each threshold


# ---- neuron positions ----------------------------------------------------------------------------------------------

def test_neuron_outside_the_layer_names_position_and_size(model):
    with pytest.raises(ValueError) as info:
        render.make_vis_T(model, objectives.neuron("conv2", 1, x=1000, y=1000),
                          param_f=lambda: param.image(SIZE), seed=0)
    msg = str(info.value)
    # the smallest image the standard transforms make from 48 px: (48 + 24 - 8) * 0.9 - 4 = 53 px; conv2 is after
    # one 2x2 pool: 26x26 positions
    assert "position x=1000, y=1000 is outside layer 'conv2'" in msg and "26x26 positions" in msg
    assert "smallest image the transforms make here is 53x53" in msg
    with pytest.raises(ValueError, match="neuron: x must be None"):
        objectives.neuron("conv2", 1, x=-1)
    # inside the smallest layer size: fine, and it renders
    vis = render.make_vis_T(model, objectives.neuron("conv2", 1, x=25, y=0), param_f=lambda: param.image(SIZE),
                            seed=0)
    assert np.isfinite(vis.step())


# ---- models the engine cannot render as given -----------------------------------------------------------------------

def fixed_size_model():
    tf.keras.utils.set_random_seed(3)
    x = keras.Input((32, 32, 3))
    y = keras.layers.Conv2D(4, 3, activation="relu", name="conv")(x)
    y = keras.layers.Flatten()(y)
    y = keras.layers.Dense(5, name="logits")(y)
    return keras.Model(x, y, name="fixed")


def test_fixed_size_model_says_how_to_render_it():
    m = fixed_size_model()
    with pytest.raises(ValueError) as info:
        render.render_vis(m, "logits:1", param_f=lambda: param.image(32), thresholds=(2,), verbose=False)
    msg = str(info.value)
    assert "model 'fixed' needs fixed-size input (32x32" in msg
    assert "transform.crop_or_pad_to(32, 32)" in msg and "transforms=[]" in msg
    # both ways the message offers work, and raise the logit
    for transforms in (transform.standard_transforms + [transform.crop_or_pad_to(32, 32)], []):
        vis = render.make_vis_T(m, "logits:1", param_f=lambda: param.image(32), transforms=transforms, seed=0)
        losses = [vis.step() for _ in range(12)]
        assert losses[-1] > losses[0]


def uint8_model():
    tf.keras.utils.set_random_seed(5)
    x = keras.Input((None, None, 3), dtype="uint8")
    y = keras.layers.Rescaling(1 / 255.0)(x)
    y = keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="conv")(y)
    return keras.Model(x, y, name="u8")


def test_uint8_model_is_fed_through_its_first_float_op():
    m = uint8_model()
    adapter = models.KerasAdapter(m)
    assert adapter.image_value_range == (0.0, 255.0)  # the dtype's range unless given
    x = np.random.default_rng(0).random((1, 16, 16, 3)).astype(np.float32)
    got = adapter.activation_fn(["conv"])(tf.constant(x))["conv"].numpy()
    want = m(np.round(x * 255).astype(np.uint8)).numpy()  # the model on the rounded image
    assert np.abs(got - want).max() < 0.02 * np.abs(want).max()
    # the render equals that of the same network with a float input (where nothing is rounded)
    x_f = keras.Input((None, None, 3))
    twin = keras.Model(x_f, m.get_layer("conv")(keras.layers.Rescaling(1 / 255.0)(x_f)))
    runs = []
    for net, value_range in ((m, None), (twin, (0.0, 255.0))):
        vis = render.make_vis_T(models.KerasAdapter(net, image_value_range=value_range), "conv:1",
                                param_f=lambda: param.image(SIZE), seed=0)
        first = vis.image()
        losses = [vis.step() for _ in range(8)]
        runs.append((losses, vis.image()))
        assert losses[-1] > losses[0] and np.abs(vis.image() - first).max() > 0.02  # the image changed
    np.testing.assert_allclose(runs[0][0], runs[1][0], rtol=1e-4)
    np.testing.assert_allclose(runs[0][1], runs[1][1], atol=1e-4)


def test_integer_model_that_rounds_the_image_is_refused():
    x = keras.Input((None, None, 3), dtype="uint8")
    y = keras.layers.Lambda(lambda t: keras.ops.cast(keras.ops.cast(t, "int32"), "float32"))(x)
    y = keras.layers.Conv2D(4, 3, padding="same", name="conv")(y)
    m = keras.Model(x, y, name="rounds")
    with pytest.raises(ValueError, match=r"does not depend on the image.*'rounds' takes uint8 input"):
        render.render_vis(m, "conv:1", param_f=lambda: param.image(SIZE), thresholds=(1,), verbose=False)


def test_signed_integer_input_needs_a_value_range():
    x = keras.Input((None, None, 3), dtype="int8")
    m = keras.Model(x, keras.layers.Rescaling(1 / 127.0)(x))
    with pytest.raises(ValueError, match="dtype int8; pass image_value_range"):
        models.KerasAdapter(m)
    assert models.KerasAdapter(m, image_value_range=(-128, 127)).image_value_range == (-128.0, 127.0)


# ---- memory ----------------------------------------------------------------------------------------------------------

def test_render_that_does_not_fit_is_refused_with_a_size_that_fits(model, monkeypatch):
    monkeypatch.setenv(memory.LIMIT_ENV, "200M")
    with pytest.raises(memory.InsufficientMemoryError) as info:
        render.make_vis_T(model, "conv2:1", param_f=lambda: param.image(768), seed=0)
    msg = str(info.value)
    assert "a step on 1 image(s) of 858x858 (the largest the transforms make from 768x768)" in msg
    assert "needs about" in msg and "200.0 MiB is available ($LUCID_FAST_MEMORY_LIMIT)" in msg
    side = int(msg.split("reduce the image size to at most ")[1].split(" px")[0])
    assert 64 <= side < 768
    vis = render.make_vis_T(model, "conv2:1", param_f=lambda: param.image(side), seed=0)  # the advice fits
    assert np.isfinite(vis.step())


def test_transform_chain_lists_every_output_size():
    chain = transform.make_chain(transform.standard_transforms)
    sizes = chain.output_sizes((128, 128))
    rng = np.random.default_rng(0)
    drawn = {chain.sample(1, (128, 128), rng)[1] for _ in range(400)}
    assert drawn == sizes and len(sizes) == 11  # one per scale of the standard transforms
    assert transform.make_chain([]).output_sizes((40, 30)) == {(40, 30)}
    assert transform.make_chain([transform.pad(4), transform.crop_or_pad_to(9, 7)]).output_sizes((5, 5)) == {(9, 7)}


# ---- issue 23: a ValueError where a TypeError was raised (ArgumentError is both) ------------------------------------

def test_argument_error_is_a_value_error_and_a_type_error():
    from lucid_fast.misc.errors import ArgumentError

    assert issubclass(ArgumentError, ValueError) and issubclass(ArgumentError, TypeError)


@pytest.mark.parametrize("param_f, match", [
    (lambda: 42, r"param_f must produce a lucid_fast parameterization \(see lucid_fast\.optvis\.param\), got int"),
    (42, "param_f must be a function returning a parameterization, or one; got 42"),
    (tf.zeros([1, 8, 8, 3]), "param_f produced a TensorFlow tensor.*param.TFParam"),
    (lambda: tf.zeros([1, 8, 8, 3]), "param_f produced a TensorFlow tensor.*param.TFParam"),
])
def test_a_bad_param_f_is_a_value_error(model, param_f, match):
    # was: TypeError (the README promises ValueError); still a TypeError too, for `except TypeError` callers
    with pytest.raises(ValueError, match=match) as info:
        render.make_param(param_f)
    assert isinstance(info.value, TypeError)
    with pytest.raises(ValueError, match=match):
        render.render_vis(model, "conv2:1", param_f=param_f, thresholds=(1,), verbose=False)


@pytest.mark.parametrize("bad", [42, 1.5, None, int])
def test_an_objective_that_is_not_one_is_a_value_error(model, bad):
    # was: TypeError
    match = r"as_objective: the objective must be an Objective, a 'layer:channel' string or a T -> tensor callable"
    with pytest.raises(ValueError, match=match) as info:
        objectives.as_objective(bad)
    assert isinstance(info.value, TypeError)
    with pytest.raises(ValueError, match=match):
        render.render_vis(model, bad, param_f=lambda: param.image(SIZE), thresholds=(1,), verbose=False)


@pytest.mark.parametrize("factory", [objectives.channel, objectives.neuron])
@pytest.mark.parametrize("bad", ["5", 5.0, None, True])
def test_a_channel_index_that_is_not_an_int_is_a_value_error(factory, bad):
    # was: TypeError ("5" is not converted)
    with pytest.raises(ValueError, match=r"the channel index must be an int, got") as info:
        factory("conv2", bad)
    assert isinstance(info.value, TypeError)
    assert factory("conv2", np.int64(3)).channel_reads == {"conv2": frozenset({3})}


def test_channel_reducer_names_an_unknown_keyword_and_what_it_accepts():
    from lucid_fast.misc.channel_reducer import ChannelReducer

    # was: scikit-learn's "TypeError: NMF.__init__() got an unexpected keyword argument 'foo'"
    with pytest.raises(ValueError, match=r"ChannelReducer: NMF does not take the keyword argument\(s\) \['foo'\]\. "
                                         r"Accepted keywords: \[.*'max_iter'.*'random_state'") as info:
        ChannelReducer(2, "NMF", foo=1)
    assert isinstance(info.value, TypeError)
    with pytest.raises(ValueError, match=r"\['max_iters'\]\. Closest: \['max_iter'\]"):
        ChannelReducer(2, "NMF", max_iters=5)
    with pytest.raises(ValueError, match="SparseCoder takes no n_components"):
        ChannelReducer(2, "SparseCoder")
    assert ChannelReducer(2, "NMF", max_iter=50, random_state=0).fit_transform(np.ones((3, 3, 4))).shape == (3, 3, 2)


@pytest.mark.parametrize("channels, signs, bad", [
    ([1, "5"], None, "must be an int"),
    ([1, 5.7], None, "must be an int"),
    ([1, -2], None, "must be >= 0"),
    ([1, 2], [1.0], "1 signs for 2 channels"),
    ([1, 2], [1.0, float("nan")], "signs must be finite"),
    ([1, 2], [1.0, True], "signs must be finite"),
])
def test_channels_per_image_refuses_what_it_would_convert(channels, signs, bad):
    """A gallery unit's objective takes channel ints and finite signs; nothing is converted or truncated."""
    from lucid_fast.optvis import objectives

    with pytest.raises(ValueError, match=bad):
        objectives.channels_per_image("conv", channels, signs)
