#!/usr/bin/env bash
# `pare quantize` against PyTorch's post-training static quantization (bench/quantize_pytorch.py) on the sample CNN:
# the same float weights, calibration images (calib_x.npy, 512) and evaluation images (eval_x/eval_y, 2000), the same
# thread count and batch.
#   bench/quantize_vs_pytorch.sh [BUILD_DIR] [MODEL_DIR]
# Prints float and int8 top-1 of each and the wall time of each whole job, REPEAT times alternating the two (the
# machine may be shared; compare the best times). Wall time is the whole process: for pare the one CLI invocation
# (load, calibrate, rewrite, write, evaluate float and int8 with per-layer errors); for PyTorch the python process
# (import torch, load, evaluate float, calibrate, convert, evaluate int8), whose JSON also gives the job without the
# import.
set -euo pipefail
# shellcheck source=bench/preamble.sh
source "$(dirname "$0")/preamble.sh"
THREADS=${THREADS:-2}
REPEAT=${REPEAT:-3}
BATCH=${BATCH:-64}
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}

now() { date +%s.%N; }
for run in $(seq "$REPEAT"); do
    start=$(now)
    "$pare" quantize "$models/cnn.onnx" -o "$work/cnn_int8.onnx" --data "$models/calib_x.npy" \
        --eval-data "$models/eval_x.npy" --labels "$models/eval_y.npy" --batch "$BATCH" --threads "$THREADS" \
        --quiet --report "$work/pare.json" > /dev/null
    pare_seconds=$(echo "$(now) - $start" | bc -l)
    start=$(now)
    /usr/bin/python3 "$here/quantize_pytorch.py" "$models" --threads "$THREADS" --batch "$BATCH" > "$work/torch.json"
    torch_seconds=$(echo "$(now) - $start" | bc -l)
    /usr/bin/python3 - "$work" "$run" "$pare_seconds" "$torch_seconds" <<'EOF'
import json, sys
work, run, pare_s, torch_s = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
pare, torch = json.load(open(f"{work}/pare.json")), json.load(open(f"{work}/torch.json"))
a = pare["accuracy"]
print(f"run {run}: pare  {pare['config']['calibration']:>10}: float {a['before']['top1'] * 100:.2f}%  "
      f"int8 {a['after']['top1'] * 100:.2f}%  drop {a['top1_drop_points'] + 0.0:.2f}  wall {pare_s:.2f} s")
print(f"run {run}: torch {torch['engine']:>10}: float {torch['float_top1'] * 100:.2f}%  "
      f"int8 {torch['int8_top1'] * 100:.2f}%  drop {torch['drop_points'] + 0.0:.2f}  wall {torch_s:.2f} s "
      f"(job without import {torch['job_seconds']:.2f} s)")
EOF
done
