#!/usr/bin/env bash
# The GPU check, in one short script for a lent GPU machine (CuPy with cuFFT; TensorFlow is not needed there):
# builds the CPU extension, runs every GPU test (CPU/GPU parity per op, cuFFT path), then the GPU kernel benchmark.
#   bash bench/gpu_check.sh            (writes logs to $OUT when set, else to ./gpu_check_out)
set -uo pipefail
cd "$(dirname "$0")/.."
out="${OUT:-gpu_check_out}"; mkdir -p "$out"
export PYTHONUNBUFFERED=1
python3 -m pip install -q --no-build-isolation -e . 2>&1 | tail -3
python3 -c "import cupy; print('GPU:', cupy.cuda.runtime.getDeviceProperties(0)['name'].decode())" | tee "$out/device.txt"
# GPU tests: tests/gpu needs no TensorFlow (the per-op GPU tests in tests/ops also run where TF is installed).
python3 -m pytest -q tests/gpu -p no:cacheprovider 2>&1 | tee "$out/gpu_tests.log"
python3 -m lucid_fast.bench kernels-gpu --reps 50 2>&1 | tee "$out/gpu_bench.log"
