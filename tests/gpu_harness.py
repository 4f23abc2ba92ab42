"""How the test suite treats GPU tests (tests marked ``gpu``), used by tests/conftest.py.

* Normally a GPU test is skipped, with the reason, where CuPy cannot run a kernel on a CUDA GPU (no CuPy, no
  driver, no device, a broken install).
* With ``LUCID_FAST_REQUIRE_GPU=1`` (set by bench/gpu_check.sh, the GPU machine's check) that situation is an
  error instead: the session stops before collecting anything, naming what failed, and a session in which no
  GPU test passed fails too. A GPU check can then never pass by running nothing.

No TensorFlow here: the GPU machines have CuPy but not TensorFlow.
"""
import os

import pytest

REQUIRE_ENV = "LUCID_FAST_REQUIRE_GPU"


def cupy_gpu_status():
    """(True, "") when CuPy can launch a kernel on a CUDA GPU, else (False, what failed)."""
    try:
        import cupy
    except Exception as exc:  # noqa: BLE001 - any import failure means no GPU path
        return False, f"CuPy cannot be imported ({type(exc).__name__}: {exc})"
    try:
        if not cupy.cuda.is_available():
            return False, "CuPy sees no CUDA GPU (cupy.cuda.is_available() is False)"
        if int(cupy.arange(5, dtype=cupy.int32).sum()) != 10:  # a real kernel launch and copy back
            return False, "CuPy launched a kernel on the GPU but got a wrong result"
    except Exception as exc:  # noqa: BLE001 - a broken driver or toolkit
        return False, f"CuPy cannot run on the GPU ({type(exc).__name__}: {exc})"
    return True, ""


def required():
    return os.environ.get(REQUIRE_ENV, "").strip() not in ("", "0")


class RequireGpuTests:
    """Plugin active under LUCID_FAST_REQUIRE_GPU=1: the session fails unless at least one GPU test passed."""

    def __init__(self):
        self.passed = 0

    def pytest_runtest_logreport(self, report):
        if report.when == "call" and report.passed and "gpu" in report.keywords:
            self.passed += 1

    def pytest_sessionfinish(self, session, exitstatus):
        if self.passed == 0 and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter):
        if self.passed == 0:
            terminalreporter.write_line(f"{REQUIRE_ENV}=1: no GPU test ran and passed: the GPU check FAILS", red=True)
        else:
            terminalreporter.write_line(f"{REQUIRE_ENV}=1: {self.passed} GPU test(s) passed")


def configure(config, status_fn=cupy_gpu_status):
    """From pytest_configure: find out whether GPU tests can run; under LUCID_FAST_REQUIRE_GPU=1, stop with an
    error if not, and make a session without a passing GPU test fail."""
    ok, why = status_fn()
    config.lucid_fast_gpu_status = (ok, why)
    if required():
        if not ok:
            raise pytest.UsageError(f"{REQUIRE_ENV}=1 (the GPU check, bench/gpu_check.sh) but {why}")
        config.pluginmanager.register(RequireGpuTests(), "lucid_fast_require_gpu")


def skip_marker(config):
    """The skip marker for GPU tests on this machine, or None where they can run."""
    ok, why = config.lucid_fast_gpu_status
    if ok:
        return None
    return pytest.mark.skip(reason=f"no usable CUDA GPU here: {why}. GPU tests run on a GPU machine "
                                   f"(bash bench/gpu_check.sh)")
