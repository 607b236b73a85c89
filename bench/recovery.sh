#!/usr/bin/env bash
# The recovery algorithms of the int8 scheme (--equalize, --smoothquant ALPHA, --bias-correction), each alone, on the
# sample models: top-1 drop against the float model on the 2000 evaluation images (and on the 10,000-image test set
# in BUILD/data when `make testdata` made it), without and with the flag.
#   bench/recovery.sh [BUILD_DIR] [MODEL_DIR]
# Every row calibrates on calib_x.npy (the 512 calibration images) with the default int8 settings; the written file
# is measured with `pare eval --compare`. Prints per model and variant the drop in points (negative: the quantized
# model is better), the top-1 agreement with the float model, and what the flag touched (from the report).
# MODELS and VARIANTS select the rows; SCHEME=int16 measures the int16 scheme instead.
set -euo pipefail
# shellcheck source=bench/preamble.sh
source "$(dirname "$0")/preamble.sh"
MODELS=${MODELS:-"mlp cnn resnet mobilenet vit"}
VARIANTS=${VARIANTS:-"plain equalize smoothquant0.5 bias-correction"}
SCHEME=${SCHEME:-int8}

# shellcheck source=bench/quality_lib.sh
source "$here/quality_lib.sh"
# What the recovery flag did, from the quantize report's quantization section.
touched() {
    /usr/bin/python3 -c '
import json, sys
q = json.load(open(sys.argv[1]))["quantization"]
parts = []
if "equalize" in q: parts.append("pairs=%d relu6=%d sweeps=%d" % (q["equalize"]["pairs"], q["equalize"]["relu6_bounded"], q["equalize"]["iterations"]))
if "smoothquant" in q: parts.append("layers=%d folded=%d mul=%d" % (q["smoothquant"]["layers"], q["smoothquant"]["folded"], q["smoothquant"]["mul_inserted"]))
if "bias_correction" in q: parts.append("corrected=%d added=%d skipped=%d" % (q["bias_correction"]["layers"], q["bias_correction"]["biases_added"], len(q["bias_correction"]["skipped"])))
print(" ".join(parts) or "-")' "$1"
}

printf "%-10s %-16s %8s %10s %8s %10s  %s\n" model variant drop_2k agree_2k drop_10k agree_10k touched
for m in $MODELS; do
    float="$models/$m.onnx"
    for variant in $VARIANTS; do
        case $variant in
            plain) flags=() ;;
            equalize) flags=(--equalize) ;;
            smoothquant*) flags=(--smoothquant "${variant#smoothquant}") ;;
            bias-correction) flags=(--bias-correction) ;;
            *) echo "unknown variant $variant" >&2; exit 2 ;;
        esac
        quantized="$work/$m.$variant.onnx"
        "$pare" quantize "$float" -o "$quantized" --scheme "$SCHEME" --data "$models/calib_x.npy" ${flags[@]+"${flags[@]}"} \
            --quiet --report "$work/q.json" > /dev/null
        read -r d2 a2 d10 a10 < <(drops_2k_10k "$quantized" "$float")
        printf "%-10s %-16s %8s %10s %8s %10s  %s\n" "$m" "$variant" "$d2" "$a2" "$d10" "$a10" "$(touched "$work/q.json")"
    done
done
