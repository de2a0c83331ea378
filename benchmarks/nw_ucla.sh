#!/usr/bin/env bash
# NW-UCLA cross-view on this machine: data generation, then train + test each model/stream given,
# then fusion. Wall times per run go to work_dir/nw-ucla/times.tsv; logs to work_dir/nw-ucla/logs.
#   bash benchmarks/nw_ucla.sh                          # ImpSGNv2, four streams
#   MODELS="impsgnv2 agcn" STREAMS="joint bone" bash benchmarks/nw_ucla.sh
set -euo pipefail
cd "$(dirname "$0")/.."
. .venv/bin/activate
export PYTHONUNBUFFERED=1
MODELS=${MODELS:-impsgnv2}
STREAMS=${STREAMS:-"joint bone joint_motion bone_motion"}
UCLA=${UCLA:-../shared/data/nw-ucla}
mkdir -p work_dir/nw-ucla/logs
[ -f data/nw-ucla/val_label.pkl ] || python data_gen/ucla_gendata.py --data_path "$UCLA" --out_folder ./data/nw-ucla
for model in $MODELS; do
    suffix=$([ "$model" = agcn ] && echo "" || echo "_$model")
    for stream in $STREAMS; do
        for phase in train test; do
            cfg="config/nw-ucla/${phase}_${stream}${suffix}.yaml"
            log="work_dir/nw-ucla/logs/${model}_${phase}_${stream}.log"
            t0=$(date +%s.%N)
            python main.py --config "$cfg" --overwrite true > "$log" 2>&1
            t1=$(date +%s.%N)
            printf '%s\t%s\t%s\t%.0f\n' "$model" "$stream" "$phase" "$(echo "$t1 - $t0" | bc)" \
                | tee -a work_dir/nw-ucla/times.tsv
        done
    done
done
python ensemble.py --datasets nw-ucla --csv work_dir/nw-ucla/fusion.csv
