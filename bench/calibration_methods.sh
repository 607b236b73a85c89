#!/usr/bin/env bash
# Which calibration range method loses least accuracy: `pare quantize` (int8, its other defaults) of every sample model
# with each --calibration method, evaluated on the bundled 2000 images against the float model.
#   bench/calibration_methods.sh [BUILD_DIR] [MODEL_DIR]
# Prints a markdown table of the top-1 drop in points (float top-1 minus int8 top-1; negative: int8 better) per model
# and method, then the mean and the worst drop of each method. METHODS, MODELS and THREADS select what runs; EXTRA
# adds flags to every quantize command (e.g. EXTRA="--activations s8-symmetric").
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../build}
models=${2:-$here/../sample_data/fmnist}
MODELS=${MODELS:-"mlp cnn resnet mobilenet vit"}
METHODS=${METHODS:-"minmax percentile entropy mse"}
THREADS=${THREADS:-2}
EXTRA=${EXTRA:-}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

for m in $MODELS; do
    for method in $METHODS; do
        # shellcheck disable=SC2086  # EXTRA is a list of flags
        "$build/apps/pare/pare" quantize "$models/$m.onnx" -o "$work/$m-$method.onnx" --data "$models/calib_x.npy" \
            --calibration "$method" --eval-data "$models/eval_x.npy" --labels "$models/eval_y.npy" \
            --threads "$THREADS" --quiet --report "$work/$m-$method.json" $EXTRA > /dev/null
    done
done

/usr/bin/python3 - "$work" "$MODELS" "$METHODS" <<'EOF'
import json, sys
work, models, methods = sys.argv[1], sys.argv[2].split(), sys.argv[3].split()
drops = {method: [] for method in methods}
print("| model | float top-1 | " + " | ".join(methods) + " |")
print("|---|---:|" + "---:|" * len(methods))
for m in models:
    cells = []
    for method in methods:
        accuracy = json.load(open(f"{work}/{m}-{method}.json"))["accuracy"]
        drop = accuracy["top1_drop_points"] + 0.0
        drops[method].append(drop)
        cells.append(f"{drop:.2f} ({accuracy['after']['top1'] * 100:.2f}%)")
    print(f"| {m} | {accuracy['before']['top1'] * 100:.2f}% | " + " | ".join(cells) + " |")
print("| mean drop | | " + " | ".join(f"{sum(d) / len(d):.2f}" for d in drops.values()) + " |")
print("| worst drop | | " + " | ".join(f"{max(d):.2f}" for d in drops.values()) + " |")
EOF
