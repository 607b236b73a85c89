#!/usr/bin/env bash
# Which calibration range method loses least accuracy: `pare quantize` (int8, its other defaults) of every sample model
# with each --calibration method, evaluated on the bundled 2000 images against the float model.
#   bench/calibration_methods.sh [BUILD_DIR] [MODEL_DIR]
# Prints markdown tables per model and method: the top-1 drop in points (float top-1 minus int8 top-1; negative: int8
# better), the top-1 agreement with the float model and the output SQNR against it, each with its mean and worst.
# METHODS, MODELS and THREADS select what runs; EXTRA adds flags to every quantize command (e.g.
# EXTRA="--activations s8-symmetric").
set -euo pipefail
# shellcheck source=bench/preamble.sh
source "$(dirname "$0")/preamble.sh"
MODELS=${MODELS:-"mlp cnn resnet mobilenet vit"}
METHODS=${METHODS:-"minmax percentile entropy mse"}
THREADS=${THREADS:-2}
EXTRA=${EXTRA:-}

for m in $MODELS; do
    for method in $METHODS; do
        # shellcheck disable=SC2086  # EXTRA is a list of flags
        "$pare" quantize "$models/$m.onnx" -o "$work/$m-$method.onnx" --data "$models/calib_x.npy" \
            --calibration "$method" --eval-data "$models/eval_x.npy" --labels "$models/eval_y.npy" \
            --threads "$THREADS" --quiet --report "$work/$m-$method.json" $EXTRA > /dev/null
    done
done

/usr/bin/python3 - "$work" "$MODELS" "$METHODS" <<'EOF'
import json, sys
work, models, methods = sys.argv[1], sys.argv[2].split(), sys.argv[3].split()
reports = {(m, x): json.load(open(f"{work}/{m}-{x}.json"))["accuracy"] for m in models for x in methods}
# One table per measure: the top-1 drop (one image of 2000 is 0.05 points), and two finer ones against the float
# model: top-1 agreement and the SQNR of the output logits.
measures = [("top-1 drop, points (lower is better)", lambda a: a["top1_drop_points"] + 0.0, max, "%.2f"),
            ("top-1 agreement with float, % (higher is better)", lambda a: a["agreement"] * 100, min, "%.2f"),
            ("output SQNR vs float, dB (higher is better)", lambda a: a["output_sqnr_db"], min, "%.1f")]
for title, value, worst, fmt in measures:
    print(f"\n{title}\n")
    print("| model | float top-1 | " + " | ".join(methods) + " |")
    print("|---|---:|" + "---:|" * len(methods))
    for m in models:
        before = reports[(m, methods[0])]["before"]["top1"] * 100
        print(f"| {m} | {before:.2f}% | " + " | ".join(fmt % value(reports[(m, x)]) for x in methods) + " |")
    columns = [[value(reports[(m, x)]) for m in models] for x in methods]
    print("| mean | | " + " | ".join(fmt % (sum(c) / len(c)) for c in columns) + " |")
    print("| worst | | " + " | ".join(fmt % worst(c) for c in columns) + " |")
EOF
