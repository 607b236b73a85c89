# Shared by the quality benchmarks (sourced): measuring a written model against its float model.
# Needs $pare, $models (the sample model folder), $build and $work (bench/preamble.sh sets them).

# Prints "drop_points agreement" of an eval --compare report.
drop_and_agreement() {
    /usr/bin/python3 -c 'import json,sys; a=json.load(open(sys.argv[1]))["accuracy"]; print("%.2f %.4f" % (a["top1_drop_points"], a["agreement"]))' "$1"
}

# Prints "drop_2k agree_2k drop_10k agree_10k" of QUANTIZED against FLOAT: on the 2000 evaluation images, and on the
# 10k test set when `make testdata` wrote it to BUILD/data ("- -" otherwise).
drops_2k_10k() {
    local quantized=$1 float=$2 d2 a2 d10=- a10=-
    "$pare" eval "$quantized" --compare "$float" --data "$models/eval_x.npy" --labels "$models/eval_y.npy" \
        --batch 64 --quiet --report "$work/e2k.json" > /dev/null
    read -r d2 a2 < <(drop_and_agreement "$work/e2k.json")
    if [ -f "$build/data/test_x.npy" ]; then
        "$pare" eval "$quantized" --compare "$float" --data "$build/data/test_x.npy" \
            --labels "$build/data/test_y.npy" --batch 64 --quiet --report "$work/e10k.json" > /dev/null
        read -r d10 a10 < <(drop_and_agreement "$work/e10k.json")
    fi
    echo "$d2 $a2 $d10 $a10"
}
