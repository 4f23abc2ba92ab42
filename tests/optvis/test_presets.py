"""render_vis(preset="fast"): the schedule it runs, its determinism, and the arguments it refuses."""
import numpy as np
import pytest
import tensorflow as tf

from lucid_fast.optvis import objectives, param, presets, render, transform

SIZE = 24


@pytest.fixture(scope="module")
def model():
    tf.keras.utils.set_random_seed(0)
    x = tf.keras.Input((None, None, 3), name="image")
    y = tf.keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="conv1")(x)
    y = tf.keras.layers.MaxPooling2D(2, name="pool1")(y)
    y = tf.keras.layers.Conv2D(12, 3, padding="same", activation="relu", name="conv2")(y)
    return tf.keras.Model(x, y, name="preset_tiny")


def fast(model, seed, **kw):
    return render.render_vis(model, "conv2:5", param_f=lambda: param.image(SIZE), preset="fast", seed=seed,
                             verbose=False, **kw)


def test_fast_preset_same_seed_same_image(model):
    a, b, c = fast(model, 3), fast(model, 3), fast(model, 4)
    assert len(a) == 1 and a[0].shape == (1, SIZE, SIZE, 3)
    np.testing.assert_array_equal(a[0], b[0])
    assert np.abs(a[0] - c[0]).max() > 0.05


def test_fast_preset_runs_its_phases(model):
    """The preset's image is the one of a session driven by hand through the schedule (learning rate and
    transforms per phase, Adam's moments kept), and not the one of Lucid's defaults for as many steps."""
    phases = presets.PRESETS["fast"]
    assert [(p.steps, p.learning_rate, p.transforms) for p in phases] == [(128, 0.15, None), (32, 0.1, ())]
    vis = render.make_vis_T(model, objectives.channel("conv2", 5), param_f=lambda: param.image(SIZE), seed=3)
    for phase in phases:
        vis.optimizer = render.Adam(phase.learning_rate)
        vis.chain = transform.make_chain(transform.standard_transforms if phase.transforms is None else [])
        for _ in range(phase.steps):
            vis.step()
    np.testing.assert_array_equal(fast(model, 3)[0], vis.image())
    lucid = render.render_vis(model, "conv2:5", param_f=lambda: param.image(SIZE), thresholds=(159,), seed=3,
                              verbose=False)
    assert np.abs(lucid[0] - vis.image()).max() > 0.05


@pytest.mark.parametrize("kw, bad", [
    (dict(preset="faster"), "preset must be None"),
    (dict(preset=1), "preset must be None"),
    (dict(preset="fast", optimizer=0.05), "leave optimizer"),
    (dict(preset="fast", transforms=[]), "leave transforms"),
    (dict(preset="fast", thresholds=(64, 128)), "leave thresholds"),
    (dict(preset="fast", optimizer=render.Adam(), thresholds=(10,)), "leave optimizer, thresholds"),
])
def test_preset_refuses_what_it_sets(model, kw, bad):
    with pytest.raises(ValueError, match=bad):
        render.render_vis(model, "conv2:5", param_f=lambda: param.image(SIZE), verbose=False, **kw)


def test_preset_accepts_lucids_default_thresholds(model):
    for thresholds in ((512,), [512], 512):
        assert presets.preset_phases("fast", thresholds=thresholds) is presets.PRESETS["fast"]
    assert presets.preset_phases(None, optimizer=0.1, thresholds=(3,)) is None
    assert presets.preset_steps("fast") == 160
