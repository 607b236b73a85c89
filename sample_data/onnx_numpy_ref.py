#!/usr/bin/python3
"""Tiny numpy-only ONNX interpreter used to cross-check the exported sample models.

onnx 1.12 has no reference evaluator and onnxruntime is not available, so
make_fmnist.py runs every exported .onnx through this file and compares the
logits with PyTorch's. It implements only the operators the sample models use
(float32 inference, NCHW, ceil_mode=0 pooling, no auto_pad) and fails loudly on
anything else. Computation is done in float64 and returned as float32, so it
is a slightly *more* accurate reference than float32 PyTorch.

Usage as a script:
    /usr/bin/python3 sample_data/onnx_numpy_ref.py MODEL.onnx X.npy [OUT_LOGITS.npy]
prints top-1 predictions summary (and accuracy if a matching *_y.npy exists).
"""
import math
import sys

import numpy as np
import onnx
from onnx import numpy_helper


def _attrs(node):
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _erf(x):
    # numpy has no erf (and scipy is not installed). Numerical Recipes' erfc
    # Chebyshev fit has fractional error < 1.2e-7, i.e. float32 level.
    x = np.asarray(x, dtype=np.float64)
    z = np.abs(x)
    t = 1.0 / (1.0 + 0.5 * z)
    r = t * np.exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (
        -0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (
            -0.82215223 + t * 0.17087277)))))))))
    return np.where(x >= 0, 1.0 - r, r - 1.0)


def _pads2d(a, kh, kw):
    p = a.get("pads", [0, 0, 0, 0])
    if a.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
        raise NotImplementedError("auto_pad")
    return p  # [top, left, bottom, right]


def _windows(x, kh, kw, sh, sw, dh, dw):
    """x [N,C,H,W] (already padded) -> view [N,C,OH,OW,kh,kw]."""
    ekh, ekw = dh * (kh - 1) + 1, dw * (kw - 1) + 1
    v = np.lib.stride_tricks.sliding_window_view(x, (ekh, ekw), axis=(2, 3))
    return v[:, :, ::sh, ::sw, ::dh, ::dw]


def conv(x, w, b, a):
    n, c, h, wd = x.shape
    m, cg, kh, kw = w.shape
    g = a.get("group", 1)
    sh, sw = a.get("strides", [1, 1])
    dh, dw = a.get("dilations", [1, 1])
    pt, pl, pb, pr = _pads2d(a, kh, kw)
    if "kernel_shape" in a and list(a["kernel_shape"]) != [kh, kw]:
        raise ValueError("kernel_shape mismatch")
    xp = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)))
    win = _windows(xp, kh, kw, sh, sw, dh, dw)  # N,C,OH,OW,kh,kw
    if g == 1:
        out = np.tensordot(win, w, axes=([1, 4, 5], [1, 2, 3]))  # N,OH,OW,M
        out = out.transpose(0, 3, 1, 2)
    elif cg == 1 and m == c and g == c:  # depthwise
        out = np.einsum("nchwij,cij->nchw", win, w[:, 0], optimize=True)
    else:
        mg = m // g
        outs = []
        for gi in range(g):
            wi = win[:, gi * cg:(gi + 1) * cg]
            o = np.tensordot(wi, w[gi * mg:(gi + 1) * mg], axes=([1, 4, 5], [1, 2, 3]))
            outs.append(o.transpose(0, 3, 1, 2))
        out = np.concatenate(outs, axis=1)
    if b is not None:
        out = out + b.reshape(1, -1, 1, 1)
    return np.ascontiguousarray(out)


def maxpool(x, a):
    kh, kw = a["kernel_shape"]
    sh, sw = a.get("strides", [1, 1])
    dh, dw = a.get("dilations", [1, 1])
    if a.get("ceil_mode", 0):
        raise NotImplementedError("ceil_mode=1")
    if a.get("storage_order", 0):
        raise NotImplementedError("storage_order")
    pt, pl, pb, pr = _pads2d(a, kh, kw)
    xp = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)), constant_values=-np.inf)
    return _windows(xp, kh, kw, sh, sw, dh, dw).max(axis=(4, 5))


def _axes_list(axes, rank):
    return sorted(int(ax) % rank for ax in axes)


class Model:
    def __init__(self, path_or_model):
        self.m = onnx.load(path_or_model) if isinstance(path_or_model, str) else path_or_model
        self.opset = {o.domain: o.version for o in self.m.opset_import}[""]
        self.inits = {t.name: numpy_helper.to_array(t) for t in self.m.graph.initializer}

    def run(self, feeds):
        env = dict(self.inits)
        for k, v in feeds.items():
            env[k] = np.asarray(v, dtype=np.float64) if np.asarray(v).dtype.kind == "f" else np.asarray(v)
        for k, v in list(env.items()):
            if isinstance(v, np.ndarray) and v.dtype == np.float32:
                env[k] = v.astype(np.float64)
        for node in self.m.graph.node:
            ins = [env[i] if i else None for i in node.input]
            outs = self._op(node, ins, _attrs(node))
            for name, val in zip(node.output, outs):
                if name:
                    env[name] = val
        res = {}
        for o in self.m.graph.output:
            v = env[o.name]
            res[o.name] = v.astype(np.float32) if v.dtype.kind == "f" else v
        return res

    def _op(self, node, i, a):  # noqa: C901 - a flat dispatch table is clearest
        t = node.op_type
        if node.domain not in ("", "ai.onnx"):
            raise NotImplementedError(f"domain {node.domain}")
        if t == "Conv":
            return [conv(i[0], i[1], i[2] if len(i) > 2 else None, a)]
        if t == "BatchNormalization":
            if len(node.output) != 1:
                raise ValueError("BatchNormalization in training form (more than one output)")
            x, s, bb, mean, var = i
            shp = (1, -1) + (1,) * (x.ndim - 2)
            eps = a.get("epsilon", 1e-5)
            return [(x - mean.reshape(shp)) / np.sqrt(var.reshape(shp) + eps) * s.reshape(shp) + bb.reshape(shp)]
        if t == "Relu":
            return [np.maximum(i[0], 0)]
        if t == "Clip":
            lo = i[1] if len(i) > 1 and i[1] is not None else a.get("min", -np.inf)
            hi = i[2] if len(i) > 2 and i[2] is not None else a.get("max", np.inf)
            return [np.clip(i[0], lo, hi)]
        if t == "HardSigmoid":
            return [np.clip(a.get("alpha", 0.2) * i[0] + a.get("beta", 0.5), 0, 1)]
        if t == "HardSwish":
            return [i[0] * np.clip(i[0] / 6.0 + 0.5, 0, 1)]
        if t == "Sigmoid":
            return [1.0 / (1.0 + np.exp(-i[0]))]
        if t == "Erf":
            return [_erf(i[0])]
        if t == "Tanh":
            return [np.tanh(i[0])]
        if t == "Sqrt":
            return [np.sqrt(i[0])]
        if t in ("Add", "Sub", "Mul", "Div", "Pow"):
            f = {"Add": np.add, "Sub": np.subtract, "Mul": np.multiply, "Div": np.divide, "Pow": np.power}[t]
            return [f(i[0], i[1])]
        if t == "MaxPool":
            if len(node.output) > 1 and node.output[1]:
                raise NotImplementedError("MaxPool indices")
            return [maxpool(i[0], a)]
        if t == "GlobalAveragePool":
            return [i[0].mean(axis=tuple(range(2, i[0].ndim)), keepdims=True)]
        if t == "ReduceMean":
            axes = a.get("axes")
            if axes is None and len(i) > 1 and i[1] is not None:
                axes = i[1].tolist()
            axes = tuple(range(i[0].ndim)) if axes is None else tuple(_axes_list(axes, i[0].ndim))
            return [i[0].mean(axis=axes, keepdims=bool(a.get("keepdims", 1)))]
        if t == "Flatten":
            ax = a.get("axis", 1) % max(i[0].ndim, 1)
            return [i[0].reshape(int(np.prod(i[0].shape[:ax])), -1)]
        if t == "Reshape":
            shape = [int(s) for s in i[1]]
            if not a.get("allowzero", 0):
                shape = [i[0].shape[k] if s == 0 else s for k, s in enumerate(shape)]
            return [i[0].reshape(shape)]
        if t == "Transpose":
            return [np.transpose(i[0], a.get("perm"))]
        if t == "Concat":
            return [np.concatenate(i, axis=a["axis"])]
        if t == "Gemm":
            A = i[0].T if a.get("transA", 0) else i[0]
            B = i[1].T if a.get("transB", 0) else i[1]
            y = a.get("alpha", 1.0) * (A @ B)
            if len(i) > 2 and i[2] is not None:
                y = y + a.get("beta", 1.0) * i[2]
            return [y]
        if t == "MatMul":
            return [np.matmul(i[0], i[1])]
        if t == "Softmax":
            ax = a.get("axis", -1 if self.opset >= 13 else 1)
            if self.opset < 13:
                raise NotImplementedError("Softmax before opset 13 (coerced-2D semantics)")
            z = i[0] - i[0].max(axis=ax, keepdims=True)
            e = np.exp(z)
            return [e / e.sum(axis=ax, keepdims=True)]
        if t == "LayerNormalization":
            x = i[0]
            ax = a.get("axis", -1) % x.ndim
            axes = tuple(range(ax, x.ndim))
            mu = x.mean(axis=axes, keepdims=True)
            var = ((x - mu) ** 2).mean(axis=axes, keepdims=True)
            y = (x - mu) / np.sqrt(var + a.get("epsilon", 1e-5)) * i[1]
            if len(i) > 2 and i[2] is not None:
                y = y + i[2]
            if any(node.output[1:]):
                raise NotImplementedError("LayerNormalization Mean/InvStdDev outputs")
            return [y]
        if t == "Identity":
            return [i[0]]
        if t == "Constant":
            return [numpy_helper.to_array(a["value"]) if "value" in a else np.array(a[next(iter(a))])]
        if t == "Shape":
            return [np.array(i[0].shape, dtype=np.int64)]
        if t == "Gather":
            return [np.take(i[0], i[1].astype(np.int64), axis=a.get("axis", 0))]
        if t == "Unsqueeze":
            axes = a.get("axes") if self.opset < 13 else i[1].tolist()
            out_rank = i[0].ndim + len(axes)
            y = i[0]
            for ax in _axes_list(axes, out_rank):
                y = np.expand_dims(y, ax)
            return [y]
        if t == "Squeeze":
            axes = a.get("axes") if self.opset < 13 else (i[1].tolist() if len(i) > 1 and i[1] is not None else None)
            return [np.squeeze(i[0]) if axes is None else np.squeeze(i[0], axis=tuple(_axes_list(axes, i[0].ndim)))]
        if t == "Split":
            ax = a.get("axis", 0) % i[0].ndim
            split = a.get("split") if self.opset < 13 else (i[1].tolist() if len(i) > 1 and i[1] is not None else None)
            if split is None:
                n = len(node.output)
                split = [i[0].shape[ax] // n] * n
            idx = np.cumsum(split)[:-1]
            return list(np.split(i[0], idx, axis=ax))
        if t == "Slice":
            x = i[0]
            starts, ends = i[1].tolist(), i[2].tolist()
            axes = i[3].tolist() if len(i) > 3 and i[3] is not None else list(range(len(starts)))
            steps = i[4].tolist() if len(i) > 4 and i[4] is not None else [1] * len(starts)
            sl = [slice(None)] * x.ndim
            for s, e, ax, st in zip(starts, ends, axes, steps):
                sl[ax % x.ndim] = slice(s, e, st)
            return [x[tuple(sl)]]
        if t == "Cast":
            to = onnx.helper.tensor_dtype_to_np_dtype(a["to"])
            return [i[0].astype(np.float64 if np.dtype(to).kind == "f" else to)]
        raise NotImplementedError(f"op {t}")


def run_batched(model, x, input_name="input", output_name="logits", batch=200):
    outs = []
    for s in range(0, x.shape[0], batch):
        outs.append(model.run({input_name: x[s:s + batch]})[output_name])
    return np.concatenate(outs, axis=0)


def main(argv):
    if len(argv) < 3:
        print("usage: onnx_numpy_ref.py MODEL.onnx X.npy [OUT_LOGITS.npy]", file=sys.stderr)
        return 2
    m = Model(argv[1])
    x = np.load(argv[2])
    logits = run_batched(m, x)
    pred = logits.argmax(1)
    print(f"logits {logits.shape}, first preds {pred[:16].tolist()}")
    ypath = argv[2].replace("_x.npy", "_y.npy")
    if ypath != argv[2]:
        try:
            y = np.load(ypath)
            print(f"top-1 vs {ypath}: {(pred == y).mean() * 100:.2f}%")
        except FileNotFoundError:
            pass
    if len(argv) > 3:
        np.save(argv[3], logits)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
