"""The step-memory estimate behind render_vis's memory check (``optvis.preflight``).

The default tests are deterministic: the estimate's formula on the adapter's counted forward bytes, how those
bytes scale with the batch and the image size, that the estimate grows with both, and that the factor bounds
every point of the calibration table recorded in ``models/tf_memory.py``.

Comparing the estimate with a peak measured on this machine is a verdict that moves with the machine's load
(a fresh venv on a loaded 2-core machine measured 750-790 MiB against a 696 MiB estimate for 512 px
block1_conv2): those comparisons are ``slow`` tests here, and the calibration itself is
``python -m lucid_fast.bench step-memory``. The peak is the growth of anonymous memory (what a step allocates),
not of the whole RSS: on a loaded machine the shared libraries' pages are evicted and faulted back in during the
step, which inflated an RSS-based growth to 1.8x in one full-suite run."""
import re

import pytest
import tensorflow as tf

from lucid_fast import models
from lucid_fast.models import tf_memory

MIB = 1 << 20


@pytest.fixture(scope="module")
def adapter():
    tf.keras.utils.set_random_seed(0)
    x = tf.keras.Input((None, None, 3))
    y = tf.keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="conv1")(x)
    y = tf.keras.layers.Conv2D(6, 3, padding="same", activation="relu", name="conv2")(y)
    return models.load_model(tf.keras.Model(x, y))


def test_estimate_is_the_formula_on_the_counted_forward_bytes(adapter):
    shape = (1, 8, 8, 3)
    forward = adapter.activation_bytes(["conv2"], shape)
    native = 12345
    expected = int(tf_memory.STEP_MEMORY_FACTOR * forward) + native + tf_memory.STEP_MEMORY_OVERHEAD
    assert adapter.estimate_step_bytes(["conv2"], shape, native) == expected
    assert models.estimate_step_bytes(forward, native) == expected
    assert adapter.estimate_step_bytes([], shape, native) == native + tf_memory.STEP_MEMORY_OVERHEAD


def test_forward_bytes_count_the_layers_tensors_and_scale_with_batch_and_area(adapter):
    b1 = adapter.activation_bytes(["conv1"], (1, 8, 8, 3))
    # at least conv1's convolution and its ReLU, each 8 x 8 x 4 float32, and whole tensors of it
    assert b1 >= 2 * 8 * 8 * 4 * 4 and b1 % (8 * 8 * 4) == 0
    b2 = adapter.activation_bytes(["conv2"], (1, 8, 8, 3))
    assert b2 >= b1 + 2 * 8 * 8 * 6 * 4  # a deeper layer adds its own tensors
    assert adapter.activation_bytes(["conv2"], (3, 8, 8, 3)) == 3 * b2  # linear in the batch
    assert adapter.activation_bytes(["conv2"], (1, 16, 16, 3)) == 4 * b2  # linear in the area ("same" padding)


def test_estimate_is_monotone_in_size_and_batch(adapter):
    sizes = [8, 12, 16, 32]
    for batch in (1, 2, 4):
        est = [adapter.estimate_step_bytes(["conv2"], (batch, s, s, 3)) for s in sizes]
        assert est == sorted(est) and len(set(est)) == len(est)
    est = [adapter.estimate_step_bytes(["conv2"], (b, 16, 16, 3)) for b in (1, 2, 4, 8)]
    assert est == sorted(est) and len(set(est)) == len(est)


def _calibration_table():
    """(size, layer, batch, forward MiB, growth MiB) rows of the table in tf_memory.py's comment."""
    with open(tf_memory.__file__, encoding="utf-8") as f:
        text = f.read()
    rows = re.findall(r"^#\s+(\d+)\s+(\w+)\s+(\d+)\s+(\d+)\s+(\d+)\s+[\d.]+\s+[\d.]+\s*$", text, re.M)
    return [(int(s), layer, int(b), int(fw), int(g)) for s, layer, b, fw, g in rows]


def test_factor_bounds_every_recorded_calibration_point():
    rows = _calibration_table()
    assert len(rows) >= 8, "the calibration table in models/tf_memory.py was not found"
    for size, layer, batch, forward, growth in rows:
        estimate = models.estimate_step_bytes(forward * MIB)
        assert estimate >= growth * MIB, (size, layer, batch)
        assert estimate <= 4 * growth * MIB, (size, layer, batch)  # not uselessly cautious either


@pytest.mark.slow  # a measured peak: its verdict moves with the machine's load
@pytest.mark.parametrize("size, layer", [
    (512, "block1_conv2"),  # the highest measured growth per forward byte: the estimate's tightest case
    (768, "block4_conv3"),
])
def test_estimate_bounds_the_measured_peak(size, layer):
    from lucid_fast.bench import step_memory

    r = step_memory.measure(size, layer, 1)
    growth = r["peak"] - r["before"]
    assert growth > 0.5 * r["forward"]  # the measurement sees the step (not a no-op)
    assert r["estimate"] >= growth, f"estimate {r['estimate'] / MIB:.0f} MiB < peak growth {growth / MIB:.0f} MiB"
    assert r["estimate"] <= 2.5 * growth, "the estimate is far too cautious"
