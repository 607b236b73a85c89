#!/usr/bin/env bash
# pare's engine against ONNX Runtime (CPU EP, default optimization level, same thread count) on the sample models:
#   bench/engine_vs_ort.sh [BUILD_DIR] [MODEL_DIR] [SECONDS]
# Prints one row per model, batch and thread count: samples/s of both and the ratio pare/ORT (> 1: pare faster).
# Throughput is taken from the fastest run (METRIC=samples_per_s for the median), which is the steadier number on a
# shared machine.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../build}
models=${2:-$here/../sample_data/fmnist}
seconds=${3:-2}
MODELS=${MODELS:-"mlp cnn resnet mobilenet vit"}
METRIC=${METRIC:-best_samples_per_s}
printf "%-10s %5s %7s %12s %12s %7s\n" model batch threads pare/s ort/s ratio
for m in $MODELS; do
    for batch in 1 64; do
        for threads in 1 2; do
            p=$("$build/bench/pare_engine_time" "$models/$m.onnx" "$batch" "$threads" "$seconds")
            o=$(node "$here/ort_time.js" "$models/$m.onnx" "$batch" "$threads" "$seconds")
            ps=$(sed "s/.*\"$METRIC\":\([0-9.]*\).*/\1/" <<<"$p")
            os=$(sed "s/.*\"$METRIC\":\([0-9.]*\).*/\1/" <<<"$o")
            printf "%-10s %5s %7s %12.1f %12.1f %7.2f\n" "$m" "$batch" "$threads" "$ps" "$os" "$(echo "$ps / $os" | bc -l)"
        done
    done
done
