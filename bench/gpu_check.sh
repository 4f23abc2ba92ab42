#!/usr/bin/env bash
# The GPU check, in one short script for a lent GPU machine (CuPy with cuFFT; TensorFlow is not needed there):
# builds the CPU extension, runs every GPU test (CPU/GPU parity per op, the GPU against TensorFlow reference data
# made on a CPU machine, GPU dot-product tests, the cuFFT path), then the GPU kernel benchmark.
#   bash bench/gpu_check.sh            (writes logs to $OUT when set, else to ./gpu_check_out)
# It fails (non-zero exit, and says why) if any step fails: CuPy missing or unable to run a kernel, a build
# error, a failing test, or no GPU test run at all (LUCID_FAST_REQUIRE_GPU=1, see tests/gpu_harness.py).
set -euo pipefail
cd "$(dirname "$0")/.."
out="${OUT:-gpu_check_out}"; mkdir -p "$out"
export PYTHONUNBUFFERED=1 LUCID_FAST_REQUIRE_GPU=1
trap 'echo "gpu_check: FAILED at line $LINENO (exit $?)" >&2' ERR
if [ "${GPU_CHECK_SKIP_INSTALL:-0}" != 1 ]; then
    # --no-deps: the GPU machine has no TensorFlow and may have no network; only the extension is built here
    python3 -m pip install -q --no-deps --no-build-isolation -e . 2>&1 | tail -3
fi
python3 -c "
import cupy
n = int(cupy.arange(5, dtype=cupy.int32).sum())  # a real kernel launch, not only an import
assert n == 10, n
print('GPU:', cupy.cuda.runtime.getDeviceProperties(0)['name'].decode())" | tee "$out/device.txt"
# GPU tests: tests/gpu needs no TensorFlow (the per-op GPU tests in tests/ops also run where TF is installed).
python3 -m pytest -q -rs tests/gpu -p no:cacheprovider 2>&1 | tee "$out/gpu_tests.log"
python3 -m lucid_fast.bench kernels-gpu --reps 50 2>&1 | tee "$out/gpu_bench.log"
echo "gpu_check: passed" | tee "$out/result.txt"
