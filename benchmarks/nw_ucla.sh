#!/usr/bin/env bash
# NW-UCLA cross-view on this machine: data generation, then train + test each model/stream given,
# then fusion. Wall times per run go to work_dir/nw-ucla/times.tsv; logs to work_dir/nw-ucla/logs.
#   bash benchmarks/nw_ucla.sh                          # ImpSGNv2 and AGCN, four streams each (~2 h here)
#   MODELS=impsgnv2 STREAMS="joint bone" bash benchmarks/nw_ucla.sh   # ~20 min
set -euo pipefail
cd "$(dirname "$0")/.."
. .venv/bin/activate
export PYTHONUNBUFFERED=1
MODELS=${MODELS:-"impsgnv2 agcn"}
STREAMS=${STREAMS:-"joint bone joint_motion bone_motion"}
UCLA=${UCLA:-../shared/data/nw-ucla}
mkdir -p work_dir/nw-ucla/logs
[ -f data/nw-ucla/val_label.pkl ] || python data_gen/ucla_gendata.py --data_path "$UCLA" --out_folder ./data/nw-ucla
# Two runs at a time with one thread each: these small models use two cores badly, and two
# single-thread runs finish sooner than the same runs one after the other (BENCHMARKS.md).
JOBS=${JOBS:-2}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
job() {  # job <model> <stream>: train then test, wall seconds of each to times.tsv
    local model=$1 stream=$2 suffix phase cfg log t0
    suffix=$([ "$model" = agcn ] && echo "" || echo "_$model")
    for phase in train test; do
        cfg="config/nw-ucla/${phase}_${stream}${suffix}.yaml"
        log="work_dir/nw-ucla/logs/${model}_${phase}_${stream}.log"
        t0=$(date +%s)
        python main.py --config "$cfg" --overwrite true --num_worker 0 > "$log" 2>&1 || { echo "FAILED: $cfg ($log)"; return 1; }
        printf '%s\t%s\t%s\t%s\n' "$model" "$stream" "$phase" "$(( $(date +%s) - t0 ))" | tee -a work_dir/nw-ucla/times.tsv
    done
}
for model in $MODELS; do
    for stream in $STREAMS; do
        job "$model" "$stream" &
        while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do sleep 2; done
    done
done
wait
python ensemble.py --datasets nw-ucla --csv work_dir/nw-ucla/fusion.csv
