#!/usr/bin/env bash
# The GPU check, in one short script for a lent GPU machine (CuPy with cuFFT, PyTorch with CUDA; no TensorFlow
# there). Sized for about 8 minutes of device time (most of it the two whole-model sections).
#   bash bench/gpu_check.sh            (writes logs to $OUT when set, else to ./gpu_check_out)
#   bash bench/gpu_check.sh --dry-run  (no GPU: the render driver on numpy on the CPU, same code path; the GPU
#                                       sections are skipped and SAY so -- a dry run proves the script, not a GPU)
# Sections, each failing the script loudly (non-zero exit, "gpu_check: FAILED at ..." and the reason):
#   1. device   CuPy runs a kernel on the GPU; PyTorch sees CUDA (torch.cuda.is_available()).
#   2. build    the CPU extension (the parity tests compare against it).
#   3. tests    tests/gpu: CPU/GPU parity of every kernel, GPU adjoints, the GPU against TF reference data made
#               on a CPU machine, the engine's device-generic step on CUDA (tests/gpu/test_gpu_engine.py);
#               LUCID_FAST_REQUIRE_GPU=1 makes "no GPU test ran" a failure (tests/gpu_harness.py).
#   4. kernels  the GPU kernel benchmark.
#   5. renders  python -m lucid_fast.bench.gpu_render: no TensorFlow on the render path (and which modules
#               import it), whole renders of vgg16_hed_torch and efficientnet_lite0 through PyTorch on CUDA at
#               128 px x1 and 224 px x4 (model side / image side per step, host<->device copies per step with
#               their callers and sizes -- any copy over 1 KiB fails --, peak memory per image pixel), and
#               visualizations per hour for K channels at 128 px x 128 steps. Report: $OUT/gpu_render.json.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${OUT:-gpu_check_out}"; mkdir -p "$out"
dry=0; [ "${1:-}" = "--dry-run" ] && dry=1
export PYTHONUNBUFFERED=1
trap 'echo "gpu_check: FAILED at line $LINENO (exit $?)" >&2' ERR
t0=$SECONDS
section() { echo "== gpu_check [$((SECONDS - t0)) s] $*" | tee -a "$out/sections.txt"; }

if [ "$dry" = 1 ]; then
    section "dry run: no GPU sections (1-4 skipped); the render driver on numpy, CPU"
    python3 -m lucid_fast.bench.gpu_render --dry-run --out "$out" 2>&1 | tee "$out/gpu_render.log"
    echo "gpu_check: dry run passed (this proves the script and the generic path on the CPU, not a GPU)" \
        | tee "$out/result.txt"
    exit 0
fi
export LUCID_FAST_REQUIRE_GPU=1

section "1. device"
python3 -c "
import cupy, torch
n = int(cupy.arange(5, dtype=cupy.int32).sum())  # a real kernel launch, not only an import
assert n == 10, n
assert torch.cuda.is_available(), 'PyTorch sees no CUDA device (a CPU build of torch?): ' + torch.__version__
print('GPU:', cupy.cuda.runtime.getDeviceProperties(0)['name'].decode(), '| torch', torch.__version__,
      '| cupy', cupy.__version__)" | tee "$out/device.txt"

section "2. build"
if [ "${GPU_CHECK_SKIP_INSTALL:-0}" != 1 ]; then
    # --no-deps: the GPU machine has no TensorFlow and may have no network; only the extension is built here
    python3 -m pip install -q --no-deps --no-build-isolation -e . 2>&1 | tail -3
fi

section "3. tests/gpu"
python3 -m pytest -q -rs tests/gpu -p no:cacheprovider 2>&1 | tee "$out/gpu_tests.log"

section "4. kernel benchmark"
timeout 120 python3 -m lucid_fast.bench kernels-gpu --reps 20 2>&1 | tee "$out/gpu_bench.log"

section "5. whole renders through PyTorch on CUDA"
timeout 330 python3 -m lucid_fast.bench.gpu_render --device cuda --out "$out" \
    --models "${GPU_RENDER_MODELS:-vgg16_hed_torch,efficientnet_lite0}" 2>&1 | tee "$out/gpu_render.log"

section "done"
echo "gpu_check: passed" | tee "$out/result.txt"
