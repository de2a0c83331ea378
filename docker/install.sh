#!/usr/bin/env bash
# The project's install steps, shared by the Dockerfile and by CI (which runs them in a clean
# virtual environment, since CI has no Docker engine): install the pinned requirements on top of
# the interpreter's torch, then check that the pipeline imports and its entry points start.
set -euo pipefail
cd "$(dirname "$0")/.."

python -m pip install --no-cache-dir -r requirements.txt
python - <<'PY'
import importlib
import torch
for module in ("engine.run", "feeders.feeder", "graph", "model.agcn", "data_gen.ntu_gendata", "ensemble"):
    importlib.import_module(module)
print(f"pipeline imports OK (torch {torch.__version__}, CUDA available: {torch.cuda.is_available()})")
PY
python main.py --help > /dev/null
python ensemble.py --help > /dev/null
python data_gen/ntu_gendata.py --help > /dev/null
echo "install check passed"
