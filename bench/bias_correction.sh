#!/usr/bin/env bash
# --bias-correction on the sample models, without and with the flag, at the default int8 settings and at harder ones
# where quantization leaves a mean shift to recover (per-tensor weights, min-max ranges): top-1 drop against the
# float model and agreement on the 2000 evaluation images (and on the 10,000-image test set in BUILD/data when
# `make testdata` made it), the output SQNR against the float model, the passes the correction made and the
# quantize time.
#   bench/bias_correction.sh [BUILD_DIR] [MODEL_DIR]
# MODELS, SETTINGS (names from the list below) and VARIANTS ("off on": without and with the flag) select the rows.
set -euo pipefail
# shellcheck source=bench/preamble.sh
source "$(dirname "$0")/preamble.sh"
MODELS=${MODELS:-"mlp cnn resnet mobilenet vit"}
SETTINGS=${SETTINGS:-"default per-tensor minmax per-tensor+minmax"}
VARIANTS=${VARIANTS:-"off on"}

# shellcheck source=bench/quality_lib.sh
source "$here/quality_lib.sh"
field() { /usr/bin/python3 -c 'import json,sys; print(eval(sys.argv[2], {"r": json.load(open(sys.argv[1]))}))' "$@"; }

printf "%-10s %-18s %-8s %8s %9s %8s %9s %8s %6s %8s\n" model setting bc drop_2k agree_2k drop_10k agree_10k sqnr_db passes time_s
for m in $MODELS; do
    float="$models/$m.onnx"
    for setting in $SETTINGS; do
        case $setting in
            default) flags=() ;;
            per-tensor) flags=(--weights per-tensor) ;;
            minmax) flags=(--calibration minmax) ;;
            per-tensor+minmax) flags=(--weights per-tensor --calibration minmax) ;;
            *) echo "unknown setting $setting" >&2; exit 2 ;;
        esac
        for bc in $VARIANTS; do
            extra=()
            [ $bc = on ] && extra=(--bias-correction)
            quantized="$work/$m.onnx"
            start=$(date +%s.%N)
            "$pare" quantize "$float" -o "$quantized" --scheme int8 --data "$models/calib_x.npy" ${flags[@]+"${flags[@]}"} \
                ${extra[@]+"${extra[@]}"} --quiet --report "$work/q.json" > /dev/null
            seconds=$(/usr/bin/python3 -c "import sys; print('%.1f' % (float(sys.argv[2]) - float(sys.argv[1])))" \
                "$start" "$(date +%s.%N)")
            read -r d2 a2 d10 a10 < <(drops_2k_10k "$quantized" "$float")
            sqnr=$(field "$work/e2k.json" '"%.2f" % r["accuracy"]["output_sqnr_db"]')
            passes=$(field "$work/q.json" 'r["quantization"].get("bias_correction", {}).get("passes", "-")')
            printf "%-10s %-18s %-8s %8s %9s %8s %9s %8s %6s %8s\n" "$m" "$setting" "$bc" "$d2" "$a2" "$d10" "$a10" \
                "$sqnr" "$passes" "$seconds"
        done
    done
done
