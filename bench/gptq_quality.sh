#!/usr/bin/env bash
# Round-to-nearest against GPTQ (--weight-rounding gptq, calibrated on calib_x.npy, the 512 calibration images) on
# the sample models, on the 2000 evaluation images and, when `make testdata` wrote BUILD/data, the 10k test set:
#   bench/gptq_quality.sh [BUILD_DIR] [MODEL_DIR]
# Prints per model, scheme and rounding the top-1 drop in points against the float model (negative: better), the
# top-1 agreement with it, and how many times smaller the quantized layers' weights and all weights are.
# MODELS and SCHEMES (int4 = block 32, log4, int8) select the rows.
set -euo pipefail
# shellcheck source=bench/preamble.sh
source "$(dirname "$0")/preamble.sh"
MODELS=${MODELS:-"mlp cnn resnet vit mobilenet"}
SCHEMES=${SCHEMES:-"int4 log4 int8"}

# shellcheck source=bench/quality_lib.sh
source "$here/quality_lib.sh"

printf "%-10s %-6s %-5s %8s %9s %8s %9s %8s %8s\n" model scheme round drop_2k agree_2k drop_10k agree_10k layers_x weights_x
for m in $MODELS; do
    float="$models/$m.onnx"
    for scheme in $SCHEMES; do
        case $scheme in
            int4) flags=(--scheme int4 --block-size 32) ;;
            log4) flags=(--scheme log --bits 4) ;;
            int8) flags=(--scheme int8) ;;
        esac
        for rounding in rtn gptq; do
            data=()
            if [ "$rounding" = gptq ] || [ "$scheme" = int8 ]; then data=(--data "$models/calib_x.npy"); fi
            quantized="$work/$m.$scheme.$rounding.onnx"
            "$pare" quantize "$float" -o "$quantized" "${flags[@]}" --weight-rounding "$rounding" "${data[@]}" \
                --quiet --report "$work/q.json" > /dev/null
            read -r layers_x weights_x < <(/usr/bin/python3 -c 'import json,sys
r=json.load(open(sys.argv[1])); q=r["quantization"]; s=r["size"]
layers="%.2f" % (q["layer_weight_bytes_before"] / q["layer_weight_bytes_after"]) if "layer_weight_bytes_after" in q else "-"
print(layers, "%.2f" % (s["weight_bytes_before"] / s["weight_bytes_after"]))' "$work/q.json")
            read -r d2 a2 d10 a10 < <(drops_2k_10k "$quantized" "$float")
            printf "%-10s %-6s %-5s %8s %9s %8s %9s %8s %8s\n" "$m" "$scheme" "$rounding" "$d2" "$a2" "$d10" "$a10" \
                "$layers_x" "$weights_x"
        done
    done
done
