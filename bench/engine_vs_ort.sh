#!/usr/bin/env bash
# pare's engine against ONNX Runtime (CPU EP, default optimization level, same thread count) on the sample models:
#   bench/engine_vs_ort.sh [BUILD_DIR] [MODEL_DIR] [SECONDS]
# Prints one row per model, batch and thread count: samples/s of both and the ratio pare/ORT (> 1: pare faster).
# Throughput is taken from the fastest run (METRIC=samples_per_s for the median), the steadier number on a shared
# machine; each pair is measured REPEAT times, alternating the engines, and the best of each is kept.
# MODELS and SUFFIX (e.g. "_qdq") select the model files.
#
# pare runs on OpenMP: on a machine busier than its cores, set OMP_WAIT_POLICY=PASSIVE, or spinning threads that
# wait for a descheduled peer can make 2-thread runs many times slower (see the engine notes in docs/).
set -euo pipefail
# shellcheck source=bench/preamble.sh
source "$(dirname "$0")/preamble.sh"
seconds=${3:-2}
MODELS=${MODELS:-"mlp cnn resnet mobilenet vit"}
METRIC=${METRIC:-best_samples_per_s}
REPEAT=${REPEAT:-3}
SUFFIX=${SUFFIX:-}

metric() { sed "s/.*\"$METRIC\":\([0-9.]*\).*/\1/" <<<"$1"; }
best() { printf "%s\n" "$@" | sort -g | tail -1; }

printf "%-14s %5s %7s %12s %12s %7s\n" model batch threads pare/s ort/s ratio
for m in $MODELS; do
    model="$models/$m$SUFFIX.onnx"
    for batch in 1 64; do
        for threads in 1 2; do
            p=() o=()
            for _ in $(seq "$REPEAT"); do
                p+=("$(metric "$("$build/bench/pare_engine_time" "$model" "$batch" "$threads" "$seconds")")")
                o+=("$(metric "$(node "$here/ort_time.js" "$model" "$batch" "$threads" "$seconds" 2>/dev/null)")")
            done
            ps=$(best "${p[@]}") os=$(best "${o[@]}")
            printf "%-14s %5s %7s %12.1f %12.1f %7.2f\n" "$m$SUFFIX" "$batch" "$threads" "$ps" "$os" "$(echo "$ps / $os" | bc -l)"
        done
    done
done
