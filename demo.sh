#!/usr/bin/env bash
# The whole pipeline on the synthetic dataset, from a fresh clone: install, generate skeletons, data
# generation (joint, bone, motion), train and test AGCN (4 streams) and ImpSGNv2 (2 streams), fuse,
# and write a report. It is the experiment file experiments/demo.yaml run by experiment.py: a rerun
# skips what is finished; DEMO_FRESH=1 starts over (the previous outputs are moved aside).
set -euo pipefail
cd "$(dirname "$0")"
start=$(date +%s)
echo "== installing the pinned requirements into .venv"
. utils/env.sh
ensure_venv requirements.txt
export PYTHONUNBUFFERED=1
fresh=()
[ "${DEMO_FRESH:-0}" = 1 ] && fresh=(--fresh)
echo "== running experiments/demo.yaml (data, 6 trainings two at a time, tests, fusion, report)"
python experiment.py experiments/demo.yaml "${fresh[@]}"
echo "== done in $(( $(date +%s) - start )) s: report work_dir/experiments/demo/report.md (and .html)"
