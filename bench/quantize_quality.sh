#!/usr/bin/env bash
# Accuracy and size of every quantization scheme on every sample model, on the 2000 evaluation images and on the full
# 10,000-image Fashion-MNIST test set (written to BUILD/data by `make testdata`):
#   bench/quantize_quality.sh [BUILD_DIR] [MODEL_DIR]
# Each model is quantized once per scheme (static schemes calibrate on calib_x.npy, the 512 calibration images), then
# the written file is evaluated against the float model with `pare eval --compare`. Prints, per model and scheme, the
# top-1 drop in points (negative: the quantized model is better) and the top-1 agreement with the float model on both
# sets, and the file size ratio. MODELS and SCHEMES select the rows.
set -euo pipefail
# shellcheck source=bench/preamble.sh
source "$(dirname "$0")/preamble.sh"
MODELS=${MODELS:-"mlp cnn resnet mobilenet vit"}
SCHEMES=${SCHEMES:-"int8 int16 dynamic fp16 int4 log4"}
[ -f "$build/data/test_x.npy" ] || { echo "missing $build/data/test_x.npy: run 'make testdata' first" >&2; exit 2; }

# shellcheck source=bench/quality_lib.sh
source "$here/quality_lib.sh"

printf "%-10s %-8s %10s %12s %10s %12s %7s\n" model scheme drop_2k agree_2k drop_10k agree_10k size_x
for m in $MODELS; do
    float="$models/$m.onnx"
    for scheme in $SCHEMES; do
        case $scheme in
            int8 | int16) flags=(--scheme "$scheme" --data "$models/calib_x.npy") ;;
            log4) flags=(--scheme log --bits 4) ;;
            *) flags=(--scheme "$scheme") ;;
        esac
        quantized="$work/$m.$scheme.onnx"
        "$pare" quantize "$float" -o "$quantized" "${flags[@]}" --quiet --report "$work/q.json" > /dev/null
        ratio=$(/usr/bin/python3 -c 'import json,sys; print("%.2f" % json.load(open(sys.argv[1]))["size"]["ratio"])' "$work/q.json")
        read -r d2 a2 d10 a10 < <(drops_2k_10k "$quantized" "$float")
        printf "%-10s %-8s %10s %12s %10s %12s %7s\n" "$m" "$scheme" "$d2" "$a2" "$d10" "$a10" "$ratio"
    done
done
