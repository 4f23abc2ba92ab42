"""The memory preflight counts the batch (issue 23: every memory test rendered one image, so a preflight that
estimated one image whatever the batch passed them). Deterministic: estimates are compared, nothing is measured;
LUCID_FAST_MEMORY_LIMIT sets the memory the check assumes."""
import pytest
import tensorflow as tf

from lucid_fast import models
from lucid_fast.misc import memory
from lucid_fast.optvis import param, preflight, render

SIZE = 128
LAYERS = ["conv2"]


@pytest.fixture(scope="module")
def adapter():
    tf.keras.utils.set_random_seed(0)
    x = tf.keras.Input((None, None, 3))
    y = tf.keras.layers.Conv2D(16, 3, padding="same", activation="relu", name="conv1")(x)
    y = tf.keras.layers.Conv2D(16, 3, padding="same", activation="relu", name="conv2")(y)
    return models.load_model(tf.keras.Model(x, y, name="batch_memory"))


def test_adapter_estimate_grows_with_the_batch(adapter):
    overhead = adapter.step_memory_overhead
    f1 = adapter.activation_bytes(LAYERS, (1, SIZE, SIZE, 3))
    f4 = adapter.activation_bytes(LAYERS, (4, SIZE, SIZE, 3))
    assert f1 > 0 and f4 == 4 * f1
    e1 = adapter.estimate_step_bytes(LAYERS, (1, SIZE, SIZE, 3)) - overhead
    e4 = adapter.estimate_step_bytes(LAYERS, (4, SIZE, SIZE, 3)) - overhead
    assert e1 > 0 and abs(e4 - 4 * e1) <= 4, (e1, e4)   # int() of the factor: a few bytes
    assert adapter.estimate_step_bytes(LAYERS, (4, SIZE, SIZE, 3), 4000) - overhead == e4 + 4000


def _recorded_need(adapter, monkeypatch, batch):
    """What the preflight of a render at ``batch`` asks the adapter: [(layers, shape, native, need)]."""
    calls = []
    real = type(adapter).estimate_step_bytes

    def record(layer_names, input_shape, native_bytes=0):
        need = real(adapter, layer_names, input_shape, native_bytes)
        calls.append((list(layer_names), tuple(input_shape), native_bytes, need))
        return need

    monkeypatch.setattr(adapter, "estimate_step_bytes", record)
    monkeypatch.setenv(memory.LIMIT_ENV, "1T")  # the check runs, and fits
    vis = render.make_vis_T(adapter, "conv2:1", param_f=lambda: param.image(SIZE, batch=batch), seed=0)
    monkeypatch.delattr(adapter, "estimate_step_bytes")
    assert len(calls) == 1, calls
    return vis, calls[0]


def test_preflight_estimates_the_whole_batch(adapter, monkeypatch):
    overhead = adapter.step_memory_overhead
    vis1, (layers1, shape1, native1, need1) = _recorded_need(adapter, monkeypatch, 1)
    vis4, (layers4, shape4, native4, need4) = _recorded_need(adapter, monkeypatch, 4)
    assert layers1 == layers4 == LAYERS
    assert shape1[0] == 1 and shape4[0] == 4 and shape1[1:] == shape4[1:]  # the largest transformed size
    assert shape4[1] >= SIZE
    # the image side's arrays and the forward pass both scale with the batch
    assert native4 == preflight.native_bytes(vis4, shape4) and native4 >= 3.9 * native1
    forward1 = adapter.activation_bytes(LAYERS, shape1)
    assert adapter.activation_bytes(LAYERS, shape4) == 4 * forward1
    assert need4 - native4 - overhead == pytest.approx(4 * (need1 - native1 - overhead), abs=8)
    assert need4 - overhead == pytest.approx(4 * (need1 - overhead), rel=0.02)


def test_a_batch_that_does_not_fit_is_refused_while_one_image_passes(adapter, monkeypatch):
    overhead = adapter.step_memory_overhead
    _, (_, shape1, native1, need1) = _recorded_need(adapter, monkeypatch, 1)
    # the forward pass dominates what grows with the batch here, so estimating one image for four would fit
    assert need1 - native1 - overhead > native1
    limit = overhead + 2 * (need1 - overhead) + 1024   # room for two images' step, not four
    monkeypatch.setenv(memory.LIMIT_ENV, str(limit))
    assert memory.available_memory_bytes() == limit
    vis = render.make_vis_T(adapter, "conv2:1", param_f=lambda: param.image(SIZE, batch=1), seed=0)
    assert vis.image_shape[0] == 1
    with pytest.raises(memory.InsufficientMemoryError) as info:
        render.make_vis_T(adapter, "conv2:1", param_f=lambda: param.image(SIZE, batch=4), seed=0)
    msg = str(info.value)
    assert f"a step on 4 image(s) of {shape1[1]}x{shape1[2]}" in msg, msg
    assert "($LUCID_FAST_MEMORY_LIMIT)" in msg and "the batch (4)" in msg, msg
    render.make_vis_T(adapter, "conv2:1", param_f=lambda: param.image(SIZE, batch=2), seed=0)  # two still fit
