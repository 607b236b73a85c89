#!/usr/bin/env bash
# The accuracy budget on every sample model: pare quantize --max-drop on the 2000 evaluation images (int8, calibrated
# on calib_x.npy), then the written file evaluated on the full 10,000-image test set when BUILD/data has it:
#   bench/budget_quality.sh [BUILD_DIR] [MODEL_DIR]
# MAX_DROP (default 0.1) is the budget; LABELS=0 measures it as disagreement with the float model instead of top-1
# drop. SCHEME (default int8) is the --scheme and its flags: a weight-only one ("int4", "log --bits 4", ...) runs
# without calibration data (round to nearest). Prints per model: the exit code (0 met, 5 not), the drop the budget
# was measured on, the evaluations the search made, the layers moved up (moved/quantized, then layer:precision), the
# size ratio against the float file, and the 10k drop / agreement of the written model.
set -uo pipefail
# shellcheck source=bench/preamble.sh
source "$(dirname "$0")/preamble.sh"
MODELS=${MODELS:-"mlp cnn resnet mobilenet vit"}
MAX_DROP=${MAX_DROP:-0.1}
LABELS=${LABELS:-1}
SCHEME=${SCHEME:-int8}

labels=()
[ "$LABELS" = 1 ] && labels=(--labels "$models/eval_y.npy")
read -r -a scheme <<< "$SCHEME"
calibration=()
case "${scheme[0]}" in int8|int16) calibration=(--data "$models/calib_x.npy") ;; esac
printf "%-10s %4s %9s %6s %8s %-40s %12s\n" model exit drop_2k evals size_x fallbacks "10k drop/agr"
for m in $MODELS; do
    float="$models/$m.onnx"
    start=$(date +%s)
    "$pare" quantize "$float" -o "$work/$m.onnx" --scheme "${scheme[@]}" "${calibration[@]}" \
        --eval-data "$models/eval_x.npy" "${labels[@]}" --max-drop "$MAX_DROP" --quiet --report "$work/q.json" > /dev/null
    code=$?
    seconds=$(( $(date +%s) - start ))
    summary=$(/usr/bin/python3 -c '
import json, sys
r = json.load(open(sys.argv[1])); b = r["budget"]
moved = "%d/%d:" % (len(b["fallbacks"]), len(b.get("layer_precisions", b["ranking"])))
moved += ",".join("%s:%s" % (f["layer"], f["to"]) for f in b["fallbacks"]) or "-"
print("%.2f %d %.2f %s" % (b["achieved"]["drop_points"], b["evaluations"], r["size"]["ratio"], moved))' "$work/q.json")
    read -r drop evals ratio moved <<< "$summary"
    tenk="-"
    if [ -f "$build/data/test_x.npy" ]; then
        "$pare" eval "$work/$m.onnx" --compare "$float" --data "$build/data/test_x.npy" \
            --labels "$build/data/test_y.npy" --batch 64 --quiet --report "$work/e.json" > /dev/null
        tenk=$(/usr/bin/python3 -c 'import json,sys; a=json.load(open(sys.argv[1]))["accuracy"]; print("%.2f/%.2f%%" % (a["top1_drop_points"], 100*a["agreement"]))' "$work/e.json")
    fi
    printf "%-10s %4s %9s %6s %8s %-40s %12s (%ss)\n" "$m" "$code" "$drop" "$evals" "$ratio" "$moved" "$tenk" "$seconds"
done
