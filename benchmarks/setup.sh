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

# .venv-dp: smartnoise-synth (MST, AIM) for benchmarks/dp.py, kept apart from .venv-bench because it
# pins pandas < 3 and opacus 0.14 (see benchmarks/requirements-dp.txt). No torch: the three packages
# that would pull it go in with --no-deps; MST and AIM never import torch or opacus.
DP_VENV=.venv-dp
DP_PY="$DP_VENV/bin/python"
if [ ! -x "$DP_PY" ]; then
    python3 -m venv "$DP_VENV"
fi
if ! "$DP_PY" -c "import snsynth.mst, snsynth.aim, mbi, pyarrow" 2>/dev/null; then
    "$DP_PY" -m pip install --quiet --no-deps \
        "smartnoise-synth==1.0.8" "smartnoise-sql==1.0.10" "opacus==0.14.0"
    "$DP_PY" -m pip install --quiet -r benchmarks/requirements-dp.txt
fi
"$DP_PY" - <<'PY'
from importlib.metadata import version
import snsynth.aim, snsynth.mst  # noqa: F401  (fails here if the install is broken)
for name in ["smartnoise-synth", "smartnoise-sql", "mbi", "jax", "opendp", "pandas"]:
    print(f"{name:16s} {version(name)}  (.venv-dp)")
PY
