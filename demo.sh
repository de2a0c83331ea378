#!/usr/bin/env bash
# The whole pipeline on the synthetic dataset, from a fresh clone: install, generate skeletons,
# data generation (joint, bone, motion), train and test AGCN (4 streams) and ImpSGNv2 (2 streams),
# fuse the six streams. Everything the demo writes lives under ./data/demo, ./work_dir/demo,
# ./runs/demo; a rerun replaces those folders.
set -euo pipefail
cd "$(dirname "$0")"
start=$(date +%s)
step() { printf '\n== %s (%ss)\n' "$1" "$(( $(date +%s) - start ))"; }

step "installing the pinned requirements into .venv"
[ -x .venv/bin/python ] || python3 -m venv .venv
. .venv/bin/activate
python -m pip install -q --disable-pip-version-check -r requirements.txt
export PYTHONUNBUFFERED=1

if [ -d data/demo ] || [ -d work_dir/demo ] || [ -d runs/demo ]; then
    echo "replacing the previous demo outputs (data/demo, work_dir/demo, runs/demo)"
    rm -rf data/demo work_dir/demo runs/demo
fi
mkdir -p work_dir/demo/logs

step "generating the synthetic dataset (12 actions, 10 performers, 3 cameras)"
python data_gen/synthetic.py --out ./data/demo/raw --quiet
step "data generation: joint tensors (2s-AGCN preprocessing), bone and motion streams"
python data_gen/ntu_gendata.py --data_path ./data/demo/raw/nturgb+d_skeletons --out_folder ./data/demo \
    --benchmark xsub > work_dir/demo/logs/data_gen.log 2>&1
python data_gen/gen_bone_data.py --dataset demo/xsub --layout ntu_rgb_d >> work_dir/demo/logs/data_gen.log 2>&1
python data_gen/gen_motion_data.py --dataset demo/xsub --layout ntu_rgb_d >> work_dir/demo/logs/data_gen.log 2>&1
grep -E "samples written|bad" work_dir/demo/logs/data_gen.log | sed 's/^/  /'

run() {  # run <log name> <config>: main.py with its log in work_dir/demo/logs, one line of result
    local log="work_dir/demo/logs/$1.log" t0
    t0=$(date +%s)
    if ! python main.py --config "$2" > "$log" 2>&1; then
        echo "  FAILED: python main.py --config $2 (last lines of $log):"
        tail -n 20 "$log"
        exit 1
    fi
    printf '  %-28s %4ss  %s\n' "$1" "$(( $(date +%s) - t0 ))" \
        "$(grep -E 'Test on|Last epoch' "$log" | tail -n 1 | sed 's/^\[[^]]*\] //')"
}

step "training and testing AGCN on four streams (config/demo/)"
for stream in joint bone joint_motion bone_motion; do
    run "agcn_train_${stream}" "config/demo/train_${stream}.yaml"
    run "agcn_test_${stream}" "config/demo/test_${stream}.yaml"
done
step "training and testing ImpSGNv2 on two streams"
for stream in joint bone; do
    run "impsgnv2_train_${stream}" "config/demo/train_${stream}_impsgnv2.yaml"
    run "impsgnv2_test_${stream}" "config/demo/test_${stream}_impsgnv2.yaml"
done

step "fusing the six streams by sample name (ensemble.py)"
python ensemble.py --datasets demo/xsub --csv work_dir/demo/fusion.csv --confusion-png work_dir/demo/fusion_confusion.png
step "done: logs, plots and score files under work_dir/demo/"
