#!/usr/bin/python3
"""Writes a QDQ (QuantizeLinear/DequantizeLinear) int8 version of a float sample model, for the int8 benchmarks
and tests of the engine. Not a quantizer for users (that is `pare quantize`): a plain, predictable QDQ layout like
ONNX Runtime's static quantization produces.

    /usr/bin/python3 bench/make_qdq_model.py FLOAT.onnx CALIB.npy OUT.onnx [--samples 64]

- BatchNormalization after a Conv is folded into it first, as quantizers do;
- weights of Conv, Gemm and MatMul (constant inputs): int8, symmetric, per output channel, behind DequantizeLinear;
  biases stay float (the engine quantizes them to int32 itself);
- activations read by Conv, Gemm, MatMul, Add, Concat, MaxPool, AveragePool, GlobalAveragePool: uint8, asymmetric,
  per tensor, from min/max over the calibration samples, as Q -> DQ right after their producer (so a Relu before
  them ends up between the Conv and the Q).
Calibration runs sample_data/onnx_numpy_ref.py (numpy only; PARE_SAMPLE_DATA names another directory holding it).
"""
import argparse
import os
import sys

import numpy as np
import onnx
from onnx import helper, numpy_helper, TensorProto

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.environ.get("PARE_SAMPLE_DATA", os.path.join(HERE, "..", "sample_data")))
import onnx_numpy_ref  # noqa: E402

QUANTIZED_READERS = {"Conv", "Gemm", "MatMul", "Add", "Concat", "MaxPool", "AveragePool", "GlobalAveragePool"}
WEIGHT_INPUT = {"Conv": 1, "Gemm": 1, "MatMul": 1}


def calibrate(model, x):
    """min/max of every float value over the samples."""
    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    known = {o.name for o in probe.graph.output}
    for node in probe.graph.node:
        for out in node.output:
            if out and out not in known:
                probe.graph.output.add().name = out
                known.add(out)
    values = onnx_numpy_ref.Model(probe).run({probe.graph.input[0].name: x})
    values[probe.graph.input[0].name] = x
    return {k: (float(np.min(v)), float(np.max(v))) for k, v in values.items() if v.dtype.kind == "f"}


def weight_axis(node):
    if node.op_type == "Conv":
        return 0
    if node.op_type == "Gemm":
        trans_b = next((a.i for a in node.attribute if a.name == "transB"), 0)
        return 0 if trans_b else 1
    return 1  # MatMul [K, N]


def fold_batch_norms(model):
    """Folds every BatchNormalization that follows a Conv (read by nothing else) into the Conv's weights and bias."""
    graph = model.graph
    inits = {t.name: t for t in graph.initializer}
    producers = {out: node for node in graph.node for out in node.output}
    readers = {}
    for node in graph.node:
        for name in node.input:
            readers[name] = readers.get(name, 0) + 1
    removed = []
    for bn in graph.node:
        conv = producers.get(bn.input[0])
        if bn.op_type != "BatchNormalization" or conv is None or conv.op_type != "Conv" or readers[bn.input[0]] != 1:
            continue
        gamma, beta, mean, var = (numpy_helper.to_array(inits[n]).astype(np.float64) for n in bn.input[1:5])
        eps = next((a.f for a in bn.attribute if a.name == "epsilon"), 1e-5)
        s = gamma / np.sqrt(var + eps)
        w = numpy_helper.to_array(inits[conv.input[1]]).astype(np.float64)
        b = numpy_helper.to_array(inits[conv.input[2]]).astype(np.float64) if len(conv.input) > 2 else np.zeros(len(s))
        w_name, b_name = conv.input[1] + "_bn", conv.name + "_bn_bias"
        graph.initializer.extend([
            numpy_helper.from_array((w * s.reshape(-1, *[1] * (w.ndim - 1))).astype(np.float32), w_name),
            numpy_helper.from_array(((b - mean) * s + beta).astype(np.float32), b_name)])
        del conv.input[1:]
        conv.input.extend([w_name, b_name])
        conv.output[0] = bn.output[0]
        removed.append(bn)
    for bn in removed:
        graph.node.remove(bn)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model")
    ap.add_argument("calib")
    ap.add_argument("out")
    ap.add_argument("--samples", type=int, default=64)
    args = ap.parse_args()

    model = onnx.load(args.model)
    fold_batch_norms(model)
    graph = model.graph
    inits = {t.name: t for t in graph.initializer}
    ranges = calibrate(model, np.load(args.calib)[: args.samples].astype(np.float32))
    new_inits, new_nodes = [], []

    # Weights: int8 per channel behind DequantizeLinear.
    weight_dq = {}
    for node in graph.node:
        index = WEIGHT_INPUT.get(node.op_type)
        if index is None or len(node.input) <= index or node.input[index] not in inits:
            continue
        name = node.input[index]
        if name not in weight_dq:
            w = numpy_helper.to_array(inits[name]).astype(np.float64)
            if w.ndim < 2:
                continue
            axis = weight_axis(node)
            reduce_axes = tuple(a for a in range(w.ndim) if a != axis)
            scale = np.maximum(np.abs(w).max(axis=reduce_axes), 1e-8) / 127.0
            shape = [1] * w.ndim
            shape[axis] = -1
            q = np.clip(np.round(w / scale.reshape(shape)), -127, 127).astype(np.int8)
            new_inits += [numpy_helper.from_array(q, name + "_q"),
                          numpy_helper.from_array(scale.astype(np.float32), name + "_scale"),
                          numpy_helper.from_array(np.zeros(scale.shape, np.int8), name + "_zp")]
            new_nodes.append(helper.make_node("DequantizeLinear", [name + "_q", name + "_scale", name + "_zp"],
                                              [name + "_dq"], name=name + "_DequantizeLinear", axis=axis))
            weight_dq[name] = name + "_dq"
        node.input[index] = weight_dq[name]

    # Activations: Q -> DQ after the producer of every value a quantized op reads.
    activation_dq = {}
    for node in graph.node:
        if node.op_type not in QUANTIZED_READERS:
            continue
        for i, name in enumerate(node.input):
            if not name or name in inits or name in weight_dq.values() or name not in ranges:
                continue
            if name not in activation_dq:
                lo, hi = min(ranges[name][0], 0.0), max(ranges[name][1], 0.0)
                scale = max((hi - lo) / 255.0, 1e-8)
                zp = int(np.clip(np.round(-lo / scale), 0, 255))
                new_inits += [numpy_helper.from_array(np.array(scale, np.float32), name + "_act_scale"),
                              numpy_helper.from_array(np.array(zp, np.uint8), name + "_act_zp")]
                new_nodes.append(helper.make_node("QuantizeLinear", [name, name + "_act_scale", name + "_act_zp"],
                                                  [name + "_q"], name=name + "_QuantizeLinear"))
                new_nodes.append(helper.make_node("DequantizeLinear", [name + "_q", name + "_act_scale", name + "_act_zp"],
                                                  [name + "_act_dq"], name=name + "_act_DequantizeLinear"))
                activation_dq[name] = name + "_act_dq"
            node.input[i] = activation_dq[name]

    # Keep the node list topological: each inserted node right after its input's producer.
    produced_at = {}
    for i, node in enumerate(graph.node):
        for out in node.output:
            produced_at[out] = i
    placed = {i: [] for i in range(-1, len(graph.node))}
    pending = list(new_nodes)
    while pending:
        progress = False
        for n in list(pending):
            source = n.input[0]
            if source in inits or source in [t.name for t in new_inits] or source == graph.input[0].name:
                placed[-1].append(n)
            elif source in produced_at:
                placed[produced_at[source]].append(n)
            else:
                continue
            for out in n.output:
                produced_at[out] = produced_at.get(source, -1)
            pending.remove(n)
            progress = True
        if not progress:
            raise RuntimeError("cannot place " + pending[0].name)
    order = list(placed[-1])
    for i, node in enumerate(graph.node):
        order.append(node)
        order += placed[i]
    # Q before its DQ: stable sort by dependency inside each group is already the insertion order.
    del graph.node[:]
    graph.node.extend(order)
    graph.initializer.extend(new_inits)
    read = {name for node in graph.node for name in node.input}
    unused = [t for t in graph.initializer if t.name not in read]
    for t in unused:
        graph.initializer.remove(t)
    model.doc_string = "QDQ int8 version of: " + model.doc_string
    onnx.checker.check_model(model)
    onnx.save(model, args.out)
    print(f"{args.out}: {len(weight_dq)} weights, {len(activation_dq)} activations quantized")


if __name__ == "__main__":
    main()
