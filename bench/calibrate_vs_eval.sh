#!/usr/bin/env bash
# Calibration's memory and speed against plain inference, on the full Fashion-MNIST test set (10,000 images, written
# to BUILD/data by `make testdata`):
#   bench/calibrate_vs_eval.sh [BUILD_DIR] [MODEL_DIR] [THREADS]
# For each model: peak resident memory of `pare calibrate` on the first 512 samples and on all 10,000 (target: within
# 10%, memory must not grow with the sample count), and the wall time of `pare calibrate` (all four range methods,
# one pass) over `pare eval` on the same 10,000 samples at the same batch (target: at most 1.5x). Times and memory
# come from each run's own report (timing.total_s, memory.peak_rss_bytes); calibration and evaluation runs alternate
# REPEAT times, and more until MIN_SECONDS have passed on the model (a small model's runs take a tenth of a second,
# where this machine's noise is largest), and the fastest of each is kept.
set -euo pipefail
# shellcheck source=bench/preamble.sh
source "$(dirname "$0")/preamble.sh"
threads=${3:-2}
MODELS=${MODELS:-"mlp cnn resnet mobilenet vit"}
REPEAT=${REPEAT:-5}
MIN_SECONDS=${MIN_SECONDS:-60}
BATCH=${BATCH:-64}
data="$build/data/test_x.npy"
[ -f "$data" ] || { echo "missing $data: run 'make testdata' first" >&2; exit 2; }

# Prints "seconds peak_rss_bytes" of a report.
report_numbers() {
    /usr/bin/python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(r["timing"]["total_s"], r["memory"]["peak_rss_bytes"])' "$1"
}

# Runs a pare command once; prints its time and peak memory.
measure() {
    "$pare" --threads "$threads" --quiet --report "$work/r.json" "$@" > /dev/null
    report_numbers "$work/r.json"
}

# Of two "seconds peak_bytes" pairs ($1 $2 and $3 $4): the shorter time and the larger memory.
keep_best() { echo "$1 $2 $3 $4" | awk '{ printf "%s %d\n", ($1 < $3 ? $1 : $3), ($2 > $4 ? $2 : $4) }'; }

printf "%-10s %14s %14s %9s %10s %12s %9s %5s\n" model rss_512_MiB rss_10k_MiB rss_ratio eval_10k_s calib_10k_s \
    time_ratio runs
for m in $MODELS; do
    model="$models/$m.onnx"
    small="1e30 0" all="1e30 0" plain="1e30 0"
    # Calibration and evaluation alternate, so that a busy moment on the machine slows both, not one.
    runs=0 start=$SECONDS
    while [ "$runs" -lt "$REPEAT" ] || [ $((SECONDS - start)) -lt "$MIN_SECONDS" ]; do
        small=$(keep_best $small $(measure calibrate "$model" --data "$data" --batch "$BATCH" --samples 512 -o "$work/t.json"))
        all=$(keep_best $all $(measure calibrate "$model" --data "$data" --batch "$BATCH" -o "$work/t.json"))
        plain=$(keep_best $plain $(measure eval "$model" --data "$data" --batch "$BATCH"))
        runs=$((runs + 1))
    done
    read -r _ rss_small <<< "$small"
    read -r calib_s rss_all <<< "$all"
    read -r eval_s _ <<< "$plain"
    printf "%-10s %14.1f %14.1f %9.3f %10.3f %12.3f %9.2f %5d\n" "$m" "$(echo "$rss_small / 1048576" | bc -l)" \
        "$(echo "$rss_all / 1048576" | bc -l)" "$(echo "$rss_all / $rss_small" | bc -l)" "$eval_s" "$calib_s" \
        "$(echo "$calib_s / $eval_s" | bc -l)" "$runs"
done
