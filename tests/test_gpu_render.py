"""The GPU check's tools, on the CPU: the copy counter's logic (lucid_fast/bench/gpu_copies.py) and the render
driver's dry run (lucid_fast/bench/gpu_render.py: the same generic path on numpy, TensorFlow blocked)."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from lucid_fast.bench import gpu_copies
from lucid_fast.bench.gpu_copies import D2H, H2D, CopyCounter, Target

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class FakeArray:
    """Stands in for a device array: get() downloads, upload() is a module-level upload."""

    def __init__(self, n):
        self.nbytes = 4 * n

    def get(self):
        return np.zeros(self.nbytes // 4, np.float32)

    def copy_back(self):
        return self.get()  # a copy entry point calling another: one copy, not two


class FakeModule:
    @staticmethod
    def upload(x):
        return FakeArray(np.asarray(x).size) if isinstance(x, np.ndarray) else x


def _targets():
    return [Target(FakeArray, "get", lambda a, k, r: D2H, "FakeArray.get"),
            Target(FakeArray, "copy_back", lambda a, k, r: D2H, "FakeArray.copy_back"),
            Target(FakeModule, "upload", lambda a, k, r: H2D if isinstance(a[0], np.ndarray) else None,
                   "FakeModule.upload")]


def test_counts_directions_bytes_and_callers_and_restores():
    get, upload = FakeArray.get, FakeModule.__dict__["upload"]
    a = FakeArray(10)
    with CopyCounter(_targets()) as c:
        a.get()
        a.copy_back()
        FakeModule.upload(np.ones(6, np.float32))
        FakeModule.upload(a)  # already on the device: no copy
    assert c.count() == 3 and c.count(D2H) == 2 and c.count(H2D) == 1
    assert [e[1] for e in c.events] == ["FakeArray.get", "FakeArray.copy_back", "FakeModule.upload"]
    assert [e[3] for e in c.events] == [40, 40, 24]
    assert all(e[2].startswith(os.path.join("tests", "test_gpu_render.py:")) or "test_gpu_render.py:" in e[2]
               for e in c.events)
    assert sum(c.summary().values()) == 3
    # outside the counter nothing is counted and the originals are back
    assert FakeArray.get is get and FakeModule.__dict__["upload"] is upload
    a.get()
    assert c.count() == 3
    c.reset()
    assert c.count() == 0


def test_inherited_attribute_is_removed_again():
    class Sub(FakeArray):
        pass

    with CopyCounter([Target(Sub, "get", lambda a, k, r: D2H)]) as c:
        assert "get" in vars(Sub)
        Sub(2).get()
        FakeArray(2).get()  # the base class is not wrapped
    assert "get" not in vars(Sub) and c.count() == 1


def test_one_counter_at_a_time_and_restore_on_error():
    with CopyCounter(_targets()):
        with pytest.raises(RuntimeError, match="another counter is active"):
            CopyCounter(_targets()).__enter__()
    with pytest.raises(AttributeError):
        with CopyCounter(_targets() + [Target(FakeModule, "missing", lambda a, k, r: D2H)]):
            pass
    assert "get" in vars(FakeArray) and FakeArray.get.__qualname__ == "FakeArray.get"
    with CopyCounter(_targets()):  # the lock was released
        pass


def test_default_targets_wrap_and_restore_cupy_and_torch():
    """The real entry points (those installed here) can be wrapped, and are restored exactly."""
    targets = gpu_copies.default_targets()
    names = {t.name for t in targets}
    pytest.importorskip("cupy")
    assert {"cupy.asnumpy", "cupy.ndarray.get", "cupy.asarray", "cupy.ndarray.__setitem__ (host array)"} <= names
    before = {(id(t.owner), t.attr): (t.attr in vars(t.owner), getattr(t.owner, t.attr)) for t in targets}
    with CopyCounter(targets):
        assert all(getattr(t.owner, t.attr) is not before[(id(t.owner), t.attr)][1] for t in targets)
    for t in targets:
        own, orig = before[(id(t.owner), t.attr)]
        assert (t.attr in vars(t.owner)) == own and getattr(t.owner, t.attr) == orig, t.name


def test_torch_classification_on_cpu_tensors_counts_nothing():
    torch = pytest.importorskip("torch")
    with CopyCounter() as c:
        t = torch.ones(3)
        float(t.sum())
        t.cpu().numpy()
        t.to(torch.float64)
    assert c.count() == 0, c.events


def test_driver_dry_run_blocks_tensorflow_and_passes(tmp_path):
    """The driver in a fresh process, as bench/gpu_check.sh --dry-run runs it: the render path imports without
    TensorFlow (blocked), and the synthetic model renders through the engine's generic path on numpy."""
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "lucid_fast.bench.gpu_render", "--dry-run", "--out", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    report = json.loads((out / "gpu_render.json").read_text())
    assert proc.returncode == (1 if report["failures"] else 0), proc.stderr
    tf = report["tf_free"]
    assert set(tf["imports"]) >= {"lucid_fast.optvis.engine", "lucid_fast.optvis.objectives", "lucid_fast.modelzoo"}
    if not tf["ok"]:  # the path pulls TensorFlow in again: the driver must name it and fail
        assert proc.returncode == 1 and "TensorFlow" in proc.stderr
        pytest.fail(f"the render path imports TensorFlow: {tf['tf_attempts']} {tf['imports']}")
    cases = report["renders"]["synthetic"]
    assert set(cases) == {"128px_x1", "224px_x4"}
    for res in cases.values():
        assert res["device"] == "cpu" and res["copies"] == [] and res["step_ms"] > 0 and np.isfinite(res["loss"])
    assert report["gallery"]["synthetic"]["visualizations_per_hour"] > 0
    assert proc.returncode == 0, report["failures"]


def test_driver_fails_loudly_when_tensorflow_is_imported(tmp_path):
    """A module on the render path that imports TensorFlow is named, and the run fails."""
    from lucid_fast.bench import gpu_render

    hook = gpu_render.TFImportHook(block=True)
    sys.meta_path.insert(0, hook)
    try:
        with pytest.raises(ModuleNotFoundError, match="blocked by gpu_render"):
            hook.find_spec("tensorflow.python")
    finally:
        sys.meta_path.remove(hook)
    assert hook.attempts and hook.attempts[0]["module"] == "tensorflow.python"
    assert hook.find_spec("numpy") is None
