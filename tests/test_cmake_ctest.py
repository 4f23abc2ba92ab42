"""The CMake build of csrc/: C++ unit tests under ctest, and nvcc's compile check of the CUDA sources (sm_90,
warnings as errors) where nvcc exists."""
import os
import shutil
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.skipif(shutil.which("cmake") is None, reason="cmake is not installed on this machine")
def test_cmake_build_and_ctest(tmp_path):
    build = tmp_path / "build"
    run = lambda *cmd: subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=900)  # noqa: E731
    cfg = run("cmake", "-S", ROOT, "-B", str(build), "-DCMAKE_BUILD_TYPE=Release")
    assert cfg.returncode == 0, cfg.stdout + cfg.stderr
    b = run("cmake", "--build", str(build), "-j", str(os.cpu_count() or 2))
    assert b.returncode == 0, b.stdout[-5000:] + b.stderr[-5000:]
    t = run("ctest", "--test-dir", str(build), "--output-on-failure")
    assert t.returncode == 0, t.stdout[-5000:] + t.stderr[-5000:]
    assert "tests passed" in t.stdout
    if shutil.which("nvcc") or os.path.exists("/usr/local/cuda/bin/nvcc"):
        assert (build / "kernels_sm90.cubin").stat().st_size > 1000, "nvcc found but the sm_90 cubin is missing"
