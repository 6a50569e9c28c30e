#!/usr/bin/env bash
# Create .venv-bench (benchmark-only virtualenv) with lookalike (editable) plus the peers and evaluators.
# Usage, from the repository root:  bash benchmarks/setup.sh
# Idempotent: a second run only checks that everything imports.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.venv-bench
PY="$VENV/bin/python"
if [ ! -x "$PY" ]; then
    python3 -m venv "$VENV"
fi
if ! "$PY" -c "import torch, sdv, sdmetrics, mostlyai.engine, mostlyai.qa, synthpop, lookalike" 2>/dev/null; then
    # torch first, pinned: the CPU wheel is on disk; anything else pulls a multi-GB CUDA build.
    "$PY" -m pip install --quiet "torch==2.13.0"
    "$PY" -m pip install --quiet -e . -r benchmarks/requirements.txt
    # mostlyai-engine declares torchvision/torchaudio, but PyPI only has their CUDA builds, which fail
    # to load next to the CPU torch (libc10_cuda.so missing) and then break `import transformers`.
    # Neither is used by any code path here, so remove them (and triton, CUDA-only).
    "$PY" -m pip uninstall --quiet --yes torchvision torchaudio triton || true
fi
"$PY" - <<'PY'
import importlib
for name in ["torch", "sdv", "sdmetrics", "mostlyai.engine", "mostlyai.qa", "synthpop", "lookalike"]:
    module = importlib.import_module(name)
    print(f"{name:16s} {getattr(module, '__version__', '?')}")
PY
