"""The unit renderer: K channels in one optimization, each image's objective traced, through the sliced layer."""
import numpy as np
import pytest

from lucid_fast.gallery import Settings
from lucid_fast import models
from lucid_fast.gallery.engine import ChannelBatchRenderer
from lucid_fast.gallery.settings import unit_seed
from lucid_fast.optvis import objectives, param, render, transform
from lucid_fast.optvis.engine import Engine


@pytest.mark.parametrize("layer", ["conv2", "logits"])
def test_unit_matches_render_vis_with_lucids_batched_channel_objective(tiny_model, layer):
    """Same seed, same steps: the sliced session follows VisSession on sum_b channel(layer, c_b, batch=b)."""
    channels = [3, 0, 4]
    seed = unit_seed(5, layer, channels)
    kw = dict(param_f=lambda: param.image(16, batch=3), relu_gradient_override=True, seed=seed)
    ours = Engine(models.load_model(tiny_model), objectives.channels_per_image(layer, channels),
                  param.ParamGraph(param.image(16, batch=3)), transform.make_chain(None), render.Adam(), seed,
                  relu_gradient_override=True, per_item=True)
    obj = objectives.Objective.sum([objectives.channel(layer, c, batch=b) for b, c in enumerate(channels)])
    ref = render.make_vis_T(tiny_model, obj, **kw)
    per_item = []
    for _ in range(20):  # past the 16 redirected-ReLU steps
        loss_ours, loss_ref = ours.step(), ref.step()
        per_item.append(ours.last_per_item.astype(np.float64))
        np.testing.assert_allclose(loss_ours, loss_ref, rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(per_item[-1].sum(), loss_ours, rtol=1e-5, atol=1e-5)
    assert ours.sliced == (layer,)
    np.testing.assert_allclose(ours.image(), ref.image(), atol=1e-3)
    # each image's own objective is its channel's mean activation
    acts = ref.activations(layer)
    axes = tuple(range(1, acts.ndim - 1))
    means = acts.mean(axis=axes) if axes else acts
    before_last = [means[b, c] for b, c in enumerate(channels)]
    assert np.all(np.isfinite(before_last))


def test_render_unit_raises_each_objective_and_lowers_the_negatives(tiny_model):
    # no transforms: at 16 px Lucid's 12-pixel padding would be most of the picture the tiny model sees
    s = Settings(size=16, steps=30, batch=4, seed=1, negative=True, transforms="none")
    res = ChannelBatchRenderer(tiny_model, s).render_unit("conv2", [2, 7])
    assert res.images_u8.shape == (2, 16, 16, 3) and res.images_u8.dtype == np.uint8
    assert res.negatives_u8.shape == (2, 16, 16, 3)
    assert res.traces.shape == (30, 2) and res.negative_traces.shape == (30, 2)
    # the objective each image maximizes rises (channel for the positives, -channel for the negatives)
    assert np.all(res.traces[:5].mean(0) > 0) and np.all(res.traces[-5:].mean(0) > 2 * res.traces[:5].mean(0))
    assert np.all(res.negative_traces[-5:].mean(0) > res.negative_traces[:5].mean(0) + 0.01)
    assert np.all(res.traces[-1] > -res.negative_traces[-1])  # the positive optimum beats the negative one
    assert res.info["sliced"] and res.info["model_fingerprint"]


def test_render_unit_is_deterministic_and_depends_on_its_channels(tiny_model):
    s = Settings(size=16, steps=5, batch=4, seed=2)
    r = ChannelBatchRenderer(tiny_model, s)
    a, b = r.render_unit("conv1", [1, 2]), r.render_unit("conv1", [1, 2])
    np.testing.assert_array_equal(a.images_u8, b.images_u8)
    np.testing.assert_array_equal(a.traces, b.traces)
    c = r.render_unit("conv1", [1, 3])  # another unit: other seed, other picture for channel 1
    assert not np.array_equal(a.images_u8[0], c.images_u8[0])


# ---- the sign and direction of every optimum (issue 23: negatives that maximized +channel passed the test
# above, which checks only that each trace rises) ----------------------------------------------------------------
def _channel_means(tiny_model, layer, images, channels):
    """Each image's mean activation of its own channel, from the Keras layer itself (the whole layer, unsliced)."""
    import keras

    sub = keras.Model(tiny_model.input, tiny_model.get_layer(layer).output)
    acts = np.asarray(sub(np.asarray(images, np.float32)), np.float64)
    means = acts.mean(axis=tuple(range(1, acts.ndim - 1))) if acts.ndim > 2 else acts
    return np.array([means[b, c] for b, c in enumerate(channels)])


@pytest.mark.parametrize("layer,channels", [("conv2", [2, 7]), ("logits", [1, 3])])
def test_unit_engine_negatives_minimize_their_channel(tiny_model, layer, channels):
    """Image k+b of a unit minimizes channel channels[b]: its per-image objective is -(that channel's mean) on
    the image of that step, its channel mean ends lower than it started and lower than image b's."""
    s = Settings(size=16, steps=30, batch=4, seed=1, negative=True, transforms="none")
    vis = ChannelBatchRenderer(tiny_model, s).unit_engine(layer, channels)
    k = len(channels)
    both = channels * 2
    signs = np.array([1.0] * k + [-1.0] * k)
    start = _channel_means(tiny_model, layer, vis.image(), both)
    for i in range(s.steps):
        means = _channel_means(tiny_model, layer, vis.image(), both)   # the image this step evaluates
        vis.step()
        # each image's objective is its sign times its channel's mean (no transforms: the model sees the image)
        np.testing.assert_allclose(vis.last_per_item, signs * means, rtol=1e-4, atol=1e-5,
                                   err_msg=f"step {i}: per-image objective is not sign * channel mean")
    end = _channel_means(tiny_model, layer, vis.image(), both)
    pos0, neg0, pos1, neg1 = start[:k], start[k:], end[:k], end[k:]
    assert np.all(pos1 > pos0 + 0.01), (pos0, pos1)          # the positives raise their channel
    assert np.all(neg1 < neg0 - 0.01), (neg0, neg1)          # the negatives lower theirs
    assert np.all(neg1 < pos1 - 0.01), (neg1, pos1)          # and end below the positive optimum


def test_render_unit_negative_traces_are_minus_the_channel_mean(tiny_model):
    """render_unit's records: traces = +channel mean, negative_traces = -(channel mean) of the negative images
    (each step's image, before the step); the saved negative images activate their channel less than at the
    start and less than the positive images."""
    layer, channels = "conv2", [2, 7]
    s = Settings(size=16, steps=30, batch=4, seed=1, negative=True, transforms="none")
    renderer = ChannelBatchRenderer(tiny_model, s)
    # the same optimization, replayed, gives the image before each step
    vis = renderer.unit_engine(layer, channels)
    before = []
    for _ in range(s.steps):
        before.append(_channel_means(tiny_model, layer, vis.image(), channels * 2))
        vis.step()
    before = np.array(before)                                      # (steps, 2K) +channel means
    res = renderer.render_unit(layer, channels)
    np.testing.assert_allclose(res.traces, before[:, :2], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(res.negative_traces, -before[:, 2:], rtol=1e-4, atol=1e-5)
    assert np.all(res.negative_traces[-1] > res.negative_traces[0])  # -channel rose: the channel fell
    pos = _channel_means(tiny_model, layer, res.images_u8 / 255.0, channels)
    neg = _channel_means(tiny_model, layer, res.negatives_u8 / 255.0, channels)
    assert np.all(neg < -res.negative_traces[0] - 0.01), (neg, res.negative_traces[0])   # lower than at the start
    assert np.all(neg < pos - 0.01), (neg, pos)                                          # lower than the positives
