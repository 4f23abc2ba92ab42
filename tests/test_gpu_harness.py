"""The GPU check cannot pass by running nothing, and its TensorFlow reference data is right (CPU side).

bench/gpu_check.sh sets LUCID_FAST_REQUIRE_GPU=1: then a machine where CuPy cannot run a kernel stops the test
session with an error (not skips), and a session in which no GPU test passed fails (tests/gpu_harness.py). The
GPU machine has no TensorFlow, so tests/gpu/test_gpu_vs_tf.py compares the GPU kernels with TF results made here
and committed (tests/gpu/tf_reference_data.npz): this file checks that the data is what a fresh TF run gives
and that the CPU kernels reproduce it, with the same comparison code the GPU test runs.
"""
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import gpu_harness
import gpu_reference
from adjoint import assert_close

TESTS = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(TESTS)


def _run(cmd, cwd, **env):
    full_env = dict(os.environ, **env)
    full_env.pop("PYTEST_ADDOPTS", None)
    proc = subprocess.run(cmd, cwd=cwd, env=full_env, capture_output=True, text=True, timeout=300)
    return proc.returncode, proc.stdout + proc.stderr


# ---------------------------------------------------------------------------------------------------------
# the reference data

def test_reference_data_is_what_tensorflow_gives():
    fresh = gpu_reference.generate()
    stored = gpu_reference.load()
    assert sorted(fresh) == sorted(stored), "tests/gpu/tf_reference_data.npz is stale: python tests/gpu_reference.py"
    for key in fresh:
        assert_close(stored[key], fresh[key], "fwd", f"{key} (regenerate with python tests/gpu_reference.py)")


def test_cpu_kernels_reproduce_the_reference_data():
    results = gpu_reference.compare_ops(gpu_reference.load(), np)
    assert len(results) == 27
    for name, got, ref, kind in results:
        assert_close(got, ref, kind, f"{name}: CPU vs TF reference data")


# ---------------------------------------------------------------------------------------------------------
# the policy

def test_status_names_what_failed_here():
    ok, why = gpu_harness.cupy_gpu_status()
    if ok:
        pytest.skip("this machine has a usable GPU")
    assert why, "no reason given for the missing GPU"


def test_required_gpu_missing_is_an_error():
    if gpu_harness.cupy_gpu_status()[0]:
        pytest.skip("this machine has a usable GPU")
    rc, out = _run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/gpu"], ROOT,
                   **{gpu_harness.REQUIRE_ENV: "1"})
    assert rc == pytest.ExitCode.USAGE_ERROR, out
    assert f"{gpu_harness.REQUIRE_ENV}=1 (the GPU check, bench/gpu_check.sh) but CuPy" in out, out
    assert "skipped" not in out and "passed" not in out, out


def test_gpu_check_script_fails_loudly_without_a_gpu(tmp_path):
    if gpu_harness.cupy_gpu_status()[0]:
        pytest.skip("this machine has a usable GPU")
    rc, out = _run(["bash", "bench/gpu_check.sh"], ROOT, OUT=str(tmp_path), GPU_CHECK_SKIP_INSTALL="1")
    assert rc != 0, out
    assert "gpu_check: FAILED" in out, out
    assert not (tmp_path / "result.txt").exists()


def _fake_session(tmp_path, tests, gpu_ok=True):
    """A pytest session in tmp_path whose GPU status is faked, with the real gpu_harness policy."""
    (tmp_path / "pytest.ini").write_text("[pytest]\nmarkers =\n    gpu: needs a GPU\n")
    (tmp_path / "conftest.py").write_text(textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {TESTS!r})
        import gpu_harness


        def pytest_configure(config):
            gpu_harness.configure(config, lambda: ({gpu_ok!r}, "a fake machine without one"))


        def pytest_collection_modifyitems(config, items):
            skip = gpu_harness.skip_marker(config)
            for item in items:
                if "gpu" in item.keywords and skip is not None:
                    item.add_marker(skip)
    """))
    (tmp_path / "test_fake.py").write_text("import pytest\n\n" + textwrap.dedent(tests))
    return _run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)], str(tmp_path),
                **{gpu_harness.REQUIRE_ENV: "1"})


def test_required_gpu_session_without_a_passing_gpu_test_fails(tmp_path):
    rc, out = _fake_session(tmp_path, """
        def test_cpu_only():
            pass

        @pytest.mark.gpu
        def test_gpu_skipped():
            pytest.skip("skipped inside")
    """)
    assert rc == pytest.ExitCode.TESTS_FAILED, out
    assert "no GPU test ran and passed: the GPU check FAILS" in out, out


def test_required_gpu_session_with_a_passing_gpu_test_passes(tmp_path):
    rc, out = _fake_session(tmp_path, """
        @pytest.mark.gpu
        def test_gpu():
            pass
    """)
    assert rc == pytest.ExitCode.OK, out
    assert "1 GPU test(s) passed" in out, out


def test_gpu_tests_are_skipped_with_the_reason_when_not_required(tmp_path):
    (tmp_path / "x").mkdir()
    rc, out = _fake_session(tmp_path / "x", """
        @pytest.mark.gpu
        def test_gpu():
            pass
    """, gpu_ok=False)
    assert rc == pytest.ExitCode.USAGE_ERROR and "a fake machine without one" in out, out
    rc, out = _run([sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", str(tmp_path / "x")],
                   str(tmp_path / "x"), **{gpu_harness.REQUIRE_ENV: "0"})
    assert rc == pytest.ExitCode.OK and "1 skipped" in out and "a fake machine without one" in out, out
