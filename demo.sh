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
. utils/env.sh
ensure_venv requirements.txt
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
        return 1
    fi
    printf '  %-28s %4ss  %s\n' "$1" "$(( $(date +%s) - t0 ))" \
        "$(grep -E 'Test on|Last epoch' "$log" | tail -n 1 | sed 's/^\[[^]]*\] //')"
}
stream_job() {  # stream_job <model> <stream> <config suffix>: train, then test
    run "$1_train_$2" "config/demo/train_$2${3:-}.yaml" && run "$1_test_$2" "config/demo/test_$2${3:-}.yaml"
}

# Small models use a few cores badly: run DEMO_JOBS trainings at once (default 2), each with its
# share of the cores, which finishes sooner than one after the other with all of them.
JOBS=${DEMO_JOBS:-2}
CORES=$(python -c "import os; print(len(os.sched_getaffinity(0)))")
export OMP_NUM_THREADS=$(( CORES / JOBS > 0 ? CORES / JOBS : 1 ))
jobs_list=()
for stream in joint bone joint_motion bone_motion; do jobs_list+=("agcn $stream"); done
for stream in joint bone; do jobs_list+=("impsgnv2 $stream _impsgnv2"); done

step "training and testing AGCN on four streams and ImpSGNv2 on two (config/demo/, $JOBS at a time)"
pids=()
for job in "${jobs_list[@]}"; do
    # shellcheck disable=SC2086
    stream_job $job &
    pids+=($!)
    while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do sleep 1; done
done
failed=0
for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
[ "$failed" = 0 ] || { echo "a demo run failed; see work_dir/demo/logs/"; exit 1; }

step "fusing the six streams by sample name (ensemble.py)"
python ensemble.py --datasets demo/xsub --csv work_dir/demo/fusion.csv --confusion-png work_dir/demo/fusion_confusion.png
step "done: logs, plots and score files under work_dir/demo/"
