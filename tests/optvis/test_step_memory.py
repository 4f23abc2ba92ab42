"""The step-memory estimate against a measured peak (the calibration of bench/step_memory.py, one point).

The peak is the growth of anonymous memory (what a step allocates), not of the whole RSS: on a loaded machine
the shared libraries' pages are evicted and faulted back in during the step, which inflated an RSS-based growth
to 1.8x in one full-suite run."""
import importlib.util
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _bench():
    spec = importlib.util.spec_from_file_location("step_memory", os.path.join(ROOT, "bench", "step_memory.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("size, layer", [
    (512, "block1_conv2"),  # the highest measured growth per forward byte: the estimate's tightest case
    pytest.param(768, "block4_conv3", marks=pytest.mark.slow),
])
def test_estimate_bounds_the_measured_peak(size, layer):
    r = _bench().measure(size, layer, 1)
    growth = r["peak"] - r["before"]
    assert growth > 0.5 * r["forward"]  # the measurement sees the step (not a no-op)
    assert r["estimate"] >= growth, f"estimate {r['estimate'] / 2**20:.0f} MiB < peak growth {growth / 2**20:.0f} MiB"
    assert r["estimate"] <= 2.5 * growth, "the estimate is far too cautious"
