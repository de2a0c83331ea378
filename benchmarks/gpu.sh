#!/usr/bin/env bash
# The GPU check, one command, under 8 minutes on one GPU; writes one Markdown report:
#   1. golden outputs on the GPU (fp32, TF32 off): AGCN (NTU, Kinetics; eval, train, sharp), SGN, ImpSGNv2,
#      MMAction2's AAGCN and PoseC3D fixtures; with ../shared also ST-GCN, ST-GCN++ and PoseC3D zoo-size;
#   2. training steps of every model (AGCN, AAGCN, SGN, ImpSGNv2, ST-GCN, ST-GCN++, PoseC3D) against the
#      original code's baselines on the same GPU (ST-GCN(++), PoseC3D: MMAction2, not installed here,
#      columns '-'): fp32 and bf16 eager, and torch.compile in bf16 of AGCN, SGN, ImpSGNv2, ST-GCN++ and
#      PoseC3D (AAGCN and ST-GCN are built from the same units as AGCN and ST-GCN++);
#      GPU_SH_COMPILE="fp32 bf16" compiles both precisions, GPU_SH_COMPILE_MODELS=all every model;
#   3. the feeder with N DataLoader workers and pinned memory (samples/s per stream and sampler);
#   4. a one-epoch training on the synthetic demo data (AGCN joint and ImpSGNv2 joint), wall time.
# Time on an H100 (estimated, no GPU was lent when this was written): golden ~20 s; training steps ~4.5
# min, almost all of it the five compiles (~30-80 s each; every extra one ~1 min); feeder ~30 s; demo
# ~1.5 min; about 7 minutes in all.
#
#   bash benchmarks/gpu.sh                                   # CUDA; report in gpu_report.md
#   bash benchmarks/gpu.sh --out /tmp/report.md --workers 8
#   bash benchmarks/gpu.sh --device cpu --tiny               # every step on tiny sizes (the test suite)
#
# --tiny: narrow models, one step each, fp32 only, no torch.compile (on a CPU it takes minutes), the
# feeder in-process, AGCN only for the demo epoch.
# Exit status 1 if a golden output is off or a step fails; the report says which.
set -uo pipefail
cd "$(dirname "$0")/.."

DEVICE=cuda
OUT=gpu_report.md
TINY=0
WORKERS=${GPU_SH_WORKERS:-4}
COMPILE=${GPU_SH_COMPILE:-bf16}
COMPILE_MODELS=${GPU_SH_COMPILE_MODELS:-agcn sgn impsgnv2 stgcnpp posec3d}
PY=${PYTHON:-python}
while [ $# -gt 0 ]; do
    case "$1" in
        --device) DEVICE=$2; shift 2 ;;
        --out) OUT=$2; shift 2 ;;
        --workers) WORKERS=$2; shift 2 ;;
        --tiny) TINY=1; shift ;;
        -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
        *) echo "error: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status=0
start=$(date +%s)
elapsed() { echo "$(( $(date +%s) - start ))"; }
note() { printf '[%4ss] %s\n' "$(elapsed)" "$1" >&2; }
fail() { status=1; printf '\n**FAILED:** %s (last lines of its output below)\n\n```\n%s\n```\n' "$1" "$(tail -n 15 "$2")" >> "$work/$3.md"; }

{
    echo "# GPU check"
    echo
    "$PY" - "$DEVICE" <<'EOF'
import os, platform, sys, torch
device = torch.device(sys.argv[1])
name = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or platform.machine()
print(f"Device {device} ({name}), torch {torch.__version__}, {os.cpu_count()} CPUs, "
      f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}.")
EOF
} > "$OUT"

if [ "$TINY" = 1 ]; then
    golden_args=(--quick)
    model_args=(--tiny --frames 16 --precision fp32 --repeats 1 --warmup 0)
    feeder_args=(--tiny --workers 0)
    demo_configs=(train_joint)
else
    golden_args=()
    model_args=(--frames 100 --precision fp32 bf16 --compile --compile-precision $COMPILE --repeats 10 --warmup 3 --peak)
    [ "$COMPILE_MODELS" = all ] || model_args+=(--compile-models $COMPILE_MODELS)
    feeder_args=(--workers "$WORKERS" --samples 5000)
    demo_configs=(train_joint train_joint_impsgnv2)
fi
[ "${DEVICE%%:*}" = cuda ] && feeder_args+=(--pin-memory)

note "1/4 golden outputs on $DEVICE"
"$PY" benchmarks/gpu_golden.py --device "$DEVICE" "${golden_args[@]}" --markdown "$work/golden.md" \
    > "$work/golden.log" 2>&1 || fail "benchmarks/gpu_golden.py" "$work/golden.log" golden

note "2/4 training steps against the baselines"
"$PY" benchmarks/bench_models.py --device "$DEVICE" --model all "${model_args[@]}" --markdown "$work/models.md" \
    > "$work/models.log" 2>&1 || fail "benchmarks/bench_models.py" "$work/models.log" models

note "3/4 feeder"
"$PY" benchmarks/bench_feeder.py "${feeder_args[@]}" --markdown "$work/feeder.md" \
    > "$work/feeder.log" 2>&1 || fail "benchmarks/bench_feeder.py" "$work/feeder.log" feeder

note "4/4 one-epoch training on the synthetic demo data"
demo() {
    local data="$work/demo" syn=() over=()
    if [ "$TINY" = 1 ]; then
        syn=(--classes 12 --subjects 2 --cameras 1)
        over=(model_args.base_channel=8 batch_size=4 test_batch_size=8)
    fi
    "$PY" data_gen/synthetic.py --out "$data/raw" --quiet "${syn[@]}" || return 1
    "$PY" data_gen/ntu_gendata.py --data_path "$data/raw/nturgb+d_skeletons" --out_folder "$data" \
        --benchmark xsub || return 1
    printf '| config | epochs | wall s (process) | result |\n| --- | ---: | ---: | --- |\n' > "$work/demo.md"
    for config in "${demo_configs[@]}"; do
        local t0 log="$work/$config.log"
        t0=$(date +%s%N)
        "$PY" main.py --config "config/demo/$config.yaml" --device "$DEVICE" --num_epoch 1 \
            --work_dir "$work/run_$config" --model_saved_name "$work/run_$config/w" \
            --set train_feeder_args.data_path="$data/xsub/train_data_joint.npy" \
            train_feeder_args.label_path="$data/xsub/train_label.pkl" \
            test_feeder_args.data_path="$data/xsub/val_data_joint.npy" \
            test_feeder_args.label_path="$data/xsub/val_label.pkl" \
            label_map="$data/raw/label_map.txt" eval_interval=1 save_interval=1 step=[10] val_fraction=0 "${over[@]}" \
            > "$log" 2>&1 || { tail -n 15 "$log"; return 1; }
        local ms=$(( ($(date +%s%N) - t0) / 1000000 ))
        printf '| config/demo/%s.yaml | 1 | %d.%d | %s |\n' "$config" $((ms / 1000)) $((ms % 1000 / 100)) \
            "$(grep -E 'Test on|Last epoch|top-1' "$log" | tail -n 1 | sed 's/^\[[^]]*\] //; s/|/\//g')" >> "$work/demo.md"
    done
}
demo > "$work/demo.log" 2>&1 || fail "the one-epoch demo training" "$work/demo.log" demo

{
    printf '\n## 1. Golden outputs\n\n'; cat "$work/golden.md" 2>/dev/null
    printf '\n## 2. Training steps against the baselines\n\n'; cat "$work/models.md" 2>/dev/null
    printf '\n## 3. Feeder\n\n'; cat "$work/feeder.md" 2>/dev/null
    printf '\n## 4. One epoch on the synthetic demo data\n\n'; cat "$work/demo.md" 2>/dev/null
    printf '\nTotal: %s s.\n' "$(elapsed)"
} >> "$OUT"
note "report: $OUT (status $status)"
exit "$status"
