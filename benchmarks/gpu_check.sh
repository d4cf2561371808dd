#!/usr/bin/env bash
# GPU check (issue #19): ae_multimodal of the demo on a GPU vs the CPU, training-step throughput, 2-GPU DDP.
#
#   bash benchmarks/gpu_check.sh             # on a GPU machine: writes benchmarks/results/gpu.{json,md}
#   bash benchmarks/gpu_check.sh --dry-run   # anywhere: the same steps on the CPU at tiny sizes (what CI tests)
#
# A real run installs the CUDA build of the locked torch and the rest of requirements.lock into .venv-gpu (PyPI's
# Linux torch wheel is the CUDA one; the project's .venv holds the CPU build). Offline, point pip at wheels:
# PIP_FIND_LINKS=/path/to/wheels PIP_NO_INDEX=1. GPU_PYTHON=/path/to/python skips the install and uses a Python
# that already has CUDA torch and the project's dependencies. Plan on about 10 minutes of GPU time.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" = "--dry-run" ]; then
  exec "${PYTHON:-.venv/bin/python}" -m benchmarks.gpu_check --dry-run "${@:2}"
fi

python="${GPU_PYTHON:-}"
if [ -z "$python" ]; then
  python=.venv-gpu/bin/python
  if ! "$python" -c 'import torch, sys; sys.exit(not torch.cuda.is_available())' 2>/dev/null; then
    python3 -m venv .venv-gpu
    torch_pin=$(grep '^torch==' requirements.lock)
    # torch first, from the index's default (CUDA) build; then everything else exactly as locked.
    "$python" -m pip install --quiet --disable-pip-version-check "$torch_pin"
    grep -v '^torch==' requirements.lock | grep -v '^#' > .venv-gpu/requirements-without-torch.txt
    "$python" -m pip install --quiet --disable-pip-version-check --no-deps -r .venv-gpu/requirements-without-torch.txt
    "$python" -m pip install --quiet --disable-pip-version-check --no-deps -e .
  fi
fi
"$python" -c 'import torch; print("torch", torch.__version__, "CUDA", torch.version.cuda, "GPUs", torch.cuda.device_count())'
exec "$python" -m benchmarks.gpu_check "$@"
