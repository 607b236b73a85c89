#!/usr/bin/python3
"""PyTorch's post-training static int8 quantization of the sample CNN, the job `pare quantize` does, for
bench/quantize_vs_pytorch.sh:

    /usr/bin/python3 bench/quantize_pytorch.py MODEL_DIR [--threads N] [--batch 64]

Rebuilds sample_data/make_fmnist.py's SmallCNN, loads the weights from cnn.onnx's initializers (their names are the
module's state_dict keys), quantizes it in FX graph mode with the default qconfig of the 'onednn' engine (the
Debian torch 1.13 build has no fbgemm), calibrated on calib_x.npy, and evaluates float and int8 on eval_x/eval_y.
Prints one JSON line: engine, accuracies, and the seconds from the start of main (after `import torch`) to the
quantized model evaluated; the import itself is measured separately as import_seconds.
"""
import time

STARTED = time.perf_counter()

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402

import numpy as np  # noqa: E402
import onnx  # noqa: E402
from onnx import numpy_helper  # noqa: E402
import torch  # noqa: E402
from torch.ao.quantization import get_default_qconfig_mapping  # noqa: E402
from torch.ao.quantization.quantize_fx import convert_fx, prepare_fx  # noqa: E402

IMPORTED = time.perf_counter()

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "sample_data"))
from make_fmnist import SmallCNN  # noqa: E402


def load_cnn(path):
    """SmallCNN with the weights stored in the ONNX file."""
    model = SmallCNN()
    initializers = onnx.load(path).graph.initializer
    weights = {init.name: torch.from_numpy(numpy_helper.to_array(init).copy()) for init in initializers}
    model.load_state_dict(weights, strict=True)
    return model.eval()


def top1(model, x, y, batch):
    correct = 0
    with torch.no_grad():
        for start in range(0, len(x), batch):
            logits = model(x[start:start + batch])
            correct += int((logits.argmax(1) == y[start:start + batch]).sum())
    return correct / len(x)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("model_dir")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch", type=int, default=64)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    engine = "onednn" if "onednn" in torch.backends.quantized.supported_engines else "fbgemm"
    torch.backends.quantized.engine = engine

    began = time.perf_counter()
    model = load_cnn(os.path.join(args.model_dir, "cnn.onnx"))
    calib = torch.from_numpy(np.load(os.path.join(args.model_dir, "calib_x.npy")))
    x = torch.from_numpy(np.load(os.path.join(args.model_dir, "eval_x.npy")))
    y = torch.from_numpy(np.load(os.path.join(args.model_dir, "eval_y.npy")))

    float_top1 = top1(model, x, y, args.batch)
    prepared = prepare_fx(model, get_default_qconfig_mapping(engine), example_inputs=(calib[:1],))
    with torch.no_grad():
        for start in range(0, len(calib), args.batch):
            prepared(calib[start:start + args.batch])
    quantized = convert_fx(prepared)
    int8_top1 = top1(quantized, x, y, args.batch)
    seconds = time.perf_counter() - began

    print(json.dumps({"engine": engine, "threads": args.threads, "torch": torch.__version__,
                      "float_top1": float_top1, "int8_top1": int8_top1,
                      "drop_points": (float_top1 - int8_top1) * 100, "job_seconds": seconds,
                      "import_seconds": IMPORTED - STARTED}))


if __name__ == "__main__":
    main()
