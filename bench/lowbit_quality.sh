#!/usr/bin/env bash
# Top-1 drop and weight compression of the weight-only low-bit schemes on the sample models, on the 2000 evaluation
# images (pare quantize --eval-data measures the written file against the float model):
#   bench/lowbit_quality.sh [BUILD_DIR] [MODEL_DIR]
# MODELS and SCHEMES select the rows; a scheme is a tag: log<B> (log, B bits), cb<B> (codebook, B bits, the default
# scaled tables), cb<B>c (per-channel tables), cb<B>t (one table per tensor), binary, ternary, int4, int4nbits (int4
# --format matmulnbits). Columns: top-1 drop in points, top-1 agreement with the float model, float weight bytes over
# written weight bytes (every initializer), the same for the quantized layers' weights only, and the lowest weight SQNR
# of any layer.
set -euo pipefail
# shellcheck source=bench/preamble.sh
source "$(dirname "$0")/preamble.sh"
MODELS=${MODELS:-"mlp cnn resnet mobilenet vit"}
SCHEMES=${SCHEMES:-"log4 cb4 cb4c cb4t binary ternary"}

printf "%-10s %-10s %8s %10s %9s %8s %9s\n" model scheme drop_2k agreement weight_x layer_x sqnr_db
for m in $MODELS; do
    for scheme in $SCHEMES; do
        case $scheme in
            log*) flags=(--scheme log --bits "${scheme#log}") ;;
            cb*t) b=${scheme#cb}; flags=(--scheme codebook --bits "${b%t}" --codebook per-tensor) ;;
            cb*c) b=${scheme#cb}; flags=(--scheme codebook --bits "${b%c}" --codebook per-channel) ;;
            cb*) flags=(--scheme codebook --bits "${scheme#cb}" --codebook scaled) ;;
            int4nbits) flags=(--scheme int4 --format matmulnbits) ;;
            *) flags=(--scheme "$scheme") ;;
        esac
        "$pare" quantize "$models/$m.onnx" -o "$work/q.onnx" "${flags[@]}" --eval-data "$models/eval_x.npy" \
            --labels "$models/eval_y.npy" --batch 64 --quiet --report "$work/q.json" > /dev/null
        /usr/bin/python3 - "$work/q.json" "$m" "$scheme" <<'PY'
import json, math, sys
r = json.load(open(sys.argv[1]))
a, s, q = r["accuracy"], r["size"], r["quantization"]
sq = [l["weight_sqnr_db"] for l in r["layers"] if l["weight_sqnr_db"] is not None]
print("%-10s %-10s %8.2f %10.4f %9.2f %8.2f %9.1f" % (sys.argv[2], sys.argv[3], a["top1_drop_points"] + 0.0, a["agreement"],
      s["weight_bytes_before"] / s["weight_bytes_after"],
      q["layer_weight_bytes_before"] / q["layer_weight_bytes_after"], min(sq) if sq else float("nan")))
PY
    done
done
