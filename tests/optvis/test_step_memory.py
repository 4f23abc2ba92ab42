"""The step-memory estimate against a measured peak (the calibration of ``python -m lucid_fast.bench step-memory``,
one point).

The peak is the growth of anonymous memory (what a step allocates), not of the whole RSS: on a loaded machine
the shared libraries' pages are evicted and faulted back in during the step, which inflated an RSS-based growth
to 1.8x in one full-suite run."""
import pytest

from lucid_fast.bench import step_memory


@pytest.mark.parametrize("size, layer", [
    (512, "block1_conv2"),  # the highest measured growth per forward byte: the estimate's tightest case
    pytest.param(768, "block4_conv3", marks=pytest.mark.slow),
])
def test_estimate_bounds_the_measured_peak(size, layer):
    r = step_memory.measure(size, layer, 1)
    growth = r["peak"] - r["before"]
    assert growth > 0.5 * r["forward"]  # the measurement sees the step (not a no-op)
    assert r["estimate"] >= growth, f"estimate {r['estimate'] / 2**20:.0f} MiB < peak growth {growth / 2**20:.0f} MiB"
    assert r["estimate"] <= 2.5 * growth, "the estimate is far too cautious"
