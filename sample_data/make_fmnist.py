#!/usr/bin/python3
"""Train and export the Fashion-MNIST sample models used by pare's tests and demos.

    /usr/bin/python3 sample_data/make_fmnist.py                # everything -> sample_data/fmnist/
    /usr/bin/python3 sample_data/make_fmnist.py --models cnn,vit
    /usr/bin/python3 sample_data/make_fmnist.py --quick --out /tmp/q   # 1-epoch smoke run

Needs Debian's python3-torch (1.13), python3-onnx (1.12) and numpy, and the
Debian Fashion-MNIST IDX files (/usr/share/datasets/fashion-mnist). Reads the
data itself (gzip + numpy, see export_test_set.py), so no torchvision.

Everything is seeded (one seed per model, one data-order generator per model)
and torch.use_deterministic_algorithms(True) is on, so two runs on the same
machine with the same BLAS and thread count write the same weights, the same
.onnx bytes and the same reference.json. Each model is seeded independently,
so regenerating a subset with --models reproduces those models exactly.

Outputs (in --out, default sample_data/fmnist):
    mlp.onnx cnn.onnx resnet.onnx mobilenet.onnx vit.onnx student.onnx
    calib_x.npy            float32 [512,1,28,28]  first 512 training images
    eval_x.npy / eval_y.npy float32 [2000,1,28,28] / int64 [2000]  first 2000 test images
    <model>_eval_pred.npy  int64 [2000]  argmax of the PyTorch float32 logits on eval_x
    reference.json         per-model params, accuracies, op types, hashes, logits

Every exported model is checked with onnx.checker (full_check), its op types
are asserted, and it is run through onnx_numpy_ref.py (an independent numpy
interpreter) on all of eval_x and compared with PyTorch's logits.
"""
import argparse
import collections
import hashlib
import io
import json
import os
import random
import sys
import time
import warnings

# The build machine is shared with parallel C++ compiles; spinning OpenMP workers make an
# oversubscribed 2-thread run up to 10x slower. Passive waiting does not change any numbers.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import onnx  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import export_test_set as fm  # noqa: E402  (shared IDX reader + normalization)
import onnx_numpy_ref  # noqa: E402

SEED = 1234
N_CALIB = 512
N_EVAL = 2000
PAD_VALUE = (0.0 - fm.MEAN) / fm.STD  # a black (background) pixel after normalization


# --------------------------------------------------------------------------- models

class MLP(nn.Module):
    """Flatten -> 784-256-128-10 with ReLU."""

    def __init__(self):
        super().__init__()
        self.flatten = nn.Flatten()
        self.fc1 = nn.Linear(784, 256)
        self.fc2 = nn.Linear(256, 128)
        self.fc3 = nn.Linear(128, 10)

    def forward(self, x):
        x = self.flatten(x)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


class SmallCNN(nn.Module):
    """conv3x3(c1)-ReLU-maxpool2 -> conv3x3(c2)-ReLU-maxpool2 -> fc(hidden)-ReLU -> fc(10)."""

    def __init__(self, c1=16, c2=32, hidden=60):
        super().__init__()
        self.conv1 = nn.Conv2d(1, c1, 3, padding=1)
        self.conv2 = nn.Conv2d(c1, c2, 3, padding=1)
        self.flatten = nn.Flatten()
        self.fc1 = nn.Linear(c2 * 7 * 7, hidden)
        self.fc2 = nn.Linear(hidden, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = F.relu(self.fc1(self.flatten(x)))
        return self.fc2(x)


class ConvBNAct(nn.Sequential):
    def __init__(self, cin, cout, k=3, stride=1, groups=1, act=nn.ReLU):
        super().__init__(
            nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False),
            nn.BatchNorm2d(cout),
            act(),
        )


class BasicBlock(nn.Module):
    """ResNet basic block: conv-BN-ReLU-conv-BN + shortcut (1x1 conv-BN when the shape changes), ReLU."""

    def __init__(self, cin, cout, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = None
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        r = x if self.shortcut is None else self.shortcut(x)
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return F.relu(y + r)


class ConcatDown(nn.Module):
    """Inception-style reduction: Concat([MaxPool2(x), ConvBNReLU_stride2(x)]) along channels."""

    def __init__(self, cin, cconv):
        super().__init__()
        self.conv = ConvBNAct(cin, cconv, 3, 2)

    def forward(self, x):
        return torch.cat([F.max_pool2d(x, 2), self.conv(x)], dim=1)


class ResNetFM(nn.Module):
    def __init__(self, w=(24, 48, 96, 192)):
        super().__init__()
        a, b, c, d = w
        self.stem = ConvBNAct(1, a)                # a  @28x28
        self.down1 = ConcatDown(a, b - a)          # b  @14x14
        self.block1 = BasicBlock(b, b)
        self.down2 = ConcatDown(b, c - b)          # c  @7x7
        self.block2 = BasicBlock(c, c)
        self.block3 = BasicBlock(c, d, stride=2)   # d  @4x4, projection shortcut
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(d, 10)

    def forward(self, x):
        x = self.stem(x)
        x = self.block1(self.down1(x))
        x = self.block2(self.down2(x))
        x = self.block3(x)
        return self.fc(self.flatten(self.pool(x)))


class DepthwiseSeparable(nn.Sequential):
    """MobileNet-v1 block: depthwise 3x3 (groups=cin)-BN-ReLU6, pointwise 1x1-BN-ReLU6."""

    def __init__(self, cin, cout, stride):
        super().__init__(
            ConvBNAct(cin, cin, 3, stride, groups=cin, act=nn.ReLU6),
            ConvBNAct(cin, cout, 1, 1, act=nn.ReLU6),
        )


class MobileNetFM(nn.Module):
    CFG = ((24, 48, 2), (48, 64, 1), (64, 128, 2), (128, 128, 1), (128, 192, 1))

    def __init__(self):
        super().__init__()
        self.stem = ConvBNAct(1, self.CFG[0][0], 3, 1, act=nn.ReLU6)
        self.blocks = nn.Sequential(*[DepthwiseSeparable(i, o, s) for i, o, s in self.CFG])
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(self.CFG[-1][1], 10)

    def forward(self, x):
        return self.fc(self.flatten(self.pool(self.blocks(self.stem(x)))))


class Attention(nn.Module):
    """Multi-head self-attention written with plain matmuls (exports as MatMul/Softmax)."""

    def __init__(self, dim, heads, tokens):
        super().__init__()
        self.h, self.dh, self.n, self.dim = heads, dim // heads, tokens, dim
        self.q = nn.Linear(dim, dim)
        self.k = nn.Linear(dim, dim)
        self.v = nn.Linear(dim, dim)
        self.proj = nn.Linear(dim, dim)
        self.scale = self.dh ** -0.5

    def _heads(self, t):  # [B,N,D] -> [B,H,N,Dh]
        return t.reshape(-1, self.n, self.h, self.dh).transpose(1, 2)

    def forward(self, x):
        q = self._heads(self.q(x))
        k = self._heads(self.k(x))
        v = self._heads(self.v(x))
        att = torch.softmax(torch.matmul(q, k.transpose(-2, -1)) * self.scale, dim=-1)
        out = torch.matmul(att, v).transpose(1, 2).reshape(-1, self.n, self.dim)
        return self.proj(out)


class TransformerBlock(nn.Module):
    def __init__(self, dim, heads, mlp, tokens):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = Attention(dim, heads, tokens)
        self.norm2 = nn.LayerNorm(dim)
        self.fc1 = nn.Linear(dim, mlp)
        self.fc2 = nn.Linear(mlp, dim)

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.fc2(F.gelu(self.fc1(self.norm2(x))))


class ViTFM(nn.Module):
    """Patch-4 conv embedding (49 tokens), learned position embedding, pre-LN blocks, mean pooling."""

    def __init__(self, dim=64, depth=4, heads=4, mlp=128, patch=4):
        super().__init__()
        self.dim, self.tokens = dim, (28 // patch) ** 2
        self.patch_embed = nn.Conv2d(1, dim, patch, patch)
        self.pos = nn.Parameter(torch.zeros(1, self.tokens, dim))
        self.blocks = nn.Sequential(*[TransformerBlock(dim, heads, mlp, self.tokens) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, 10)
        nn.init.trunc_normal_(self.pos, std=0.02)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
                nn.init.zeros_(m.bias)

    def forward(self, x):
        x = self.patch_embed(x).reshape(-1, self.dim, self.tokens).transpose(1, 2) + self.pos
        x = self.norm(self.blocks(x))
        return self.head(x.mean(dim=1))


# name -> (constructor, opset, training config or None for untrained, one-line description,
#          op types that must be present)
SPECS = collections.OrderedDict([
    ("mlp", dict(
        make=MLP, opset=13, seed=SEED + 1,
        train=dict(epochs=10, bs=128, lr=2e-3, wd=0.01, aug="none", ls=0.0),
        desc="Flatten -> Linear 784-256 -> ReLU -> Linear 256-128 -> ReLU -> Linear 128-10",
        ops={"Flatten", "Gemm", "Relu"})),
    ("cnn", dict(
        make=SmallCNN, opset=13, seed=SEED + 2,
        train=dict(epochs=12, bs=128, lr=3e-3, wd=0.01, aug="flip", ls=0.0),
        desc="Conv3x3(1->16)+ReLU+MaxPool2 -> Conv3x3(16->32)+ReLU+MaxPool2 -> Flatten -> FC 1568-60 + ReLU -> FC 60-10",
        ops={"Conv", "Relu", "MaxPool", "Flatten", "Gemm"})),
    ("resnet", dict(
        make=ResNetFM, opset=13, seed=SEED + 3,
        train=dict(epochs=6, bs=128, lr=3e-3, wd=0.05, aug="flip+shift", ls=0.1),
        desc="ConvBNReLU(1->24) -> Concat[MaxPool, ConvBNReLU s2](->48@14x14) -> BasicBlock(48) -> "
             "Concat[MaxPool, ConvBNReLU s2](->96@7x7) -> BasicBlock(96) -> BasicBlock(96->192, s2, 1x1 proj) -> "
             "GlobalAvgPool -> FC 192-10",
        ops={"Conv", "BatchNormalization", "Relu", "Add", "Concat", "MaxPool", "GlobalAveragePool", "Flatten", "Gemm"})),
    ("mobilenet", dict(
        make=MobileNetFM, opset=13, seed=SEED + 4,
        train=dict(epochs=6, bs=128, lr=4e-3, wd=0.01, aug="flip", ls=0.1),
        desc="ConvBNReLU6(1->24) -> 5 depthwise-separable blocks [dw3x3-BN-ReLU6, pw1x1-BN-ReLU6] "
             "24->48(s2) ->64 ->128(s2) ->128 ->192 -> GlobalAvgPool -> FC 192-10",
        ops={"Conv", "BatchNormalization", "Clip", "GlobalAveragePool", "Flatten", "Gemm"})),
    ("vit", dict(
        make=ViTFM, opset=17, seed=SEED + 5,
        train=dict(epochs=6, bs=128, lr=2e-3, wd=0.05, aug="flip", ls=0.1),
        desc="Conv 4x4/4 patch embed (1->64, 49 tokens) + learned pos-emb -> 4 pre-LN blocks "
             "(4-head attention by MatMul/Softmax, GELU MLP 64-128-64) -> LayerNorm -> mean over tokens -> FC 64-10",
        ops={"Conv", "LayerNormalization", "MatMul", "Softmax", "Erf", "Transpose", "Reshape", "Add", "Mul",
             "ReduceMean", "Gemm"})),
    ("student", dict(
        make=lambda: SmallCNN(8, 16, 24), opset=13, seed=SEED + 6, train=None,
        desc="UNTRAINED (random init): Conv3x3(1->8)+ReLU+MaxPool2 -> Conv3x3(8->16)+ReLU+MaxPool2 -> Flatten -> "
             "FC 784-24 + ReLU -> FC 24-10",
        ops={"Conv", "Relu", "MaxPool", "Flatten", "Gemm"})),
])


# --------------------------------------------------------------------------- training

def seed_everything(seed):
    random.seed(seed)
    np.random.seed(seed % (2 ** 32))
    torch.manual_seed(seed)


def n_params(model):
    return sum(p.numel() for p in model.parameters())


def augment(x, mode, gen):
    if mode == "none":
        return x
    b = x.shape[0]
    if "flip" in mode:
        flip = torch.rand(b, generator=gen) < 0.5
        x = torch.where(flip[:, None, None, None], x.flip(3), x)
    if "shift" in mode:  # random translation by up to 2 px, background-filled
        xp = F.pad(x, (2, 2, 2, 2), value=PAD_VALUE)
        dy = torch.randint(0, 5, (b,), generator=gen)
        dx = torch.randint(0, 5, (b,), generator=gen)
        ar = torch.arange(28)
        rows = (dy[:, None] + ar)[:, :, None]
        cols = (dx[:, None] + ar)[:, None, :]
        x = xp[torch.arange(b)[:, None, None], 0, rows, cols].unsqueeze(1)
    return x.contiguous()


@torch.no_grad()
def predict_logits(model, x, bs=500):
    model.eval()
    return torch.cat([model(x[i:i + bs]) for i in range(0, x.shape[0], bs)])


def top1(logits, y):
    return float((logits.argmax(1) == y).double().mean())


def train(model, xtr, ytr, xev, yev, cfg, seed, log):
    gen = torch.Generator().manual_seed(seed)
    decay = [p for p in model.parameters() if p.ndim > 1]
    no_decay = [p for p in model.parameters() if p.ndim <= 1]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": cfg["wd"]},
                             {"params": no_decay, "weight_decay": 0.0}], lr=cfg["lr"])
    n, bs = xtr.shape[0], cfg["bs"]
    steps = n // bs
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg["lr"], total_steps=cfg["epochs"] * steps,
                                                pct_start=0.25)
    for ep in range(cfg["epochs"]):
        model.train()
        t0 = time.time()
        perm = torch.randperm(n, generator=gen)
        tot, correct = 0.0, 0
        for s in range(steps):
            idx = perm[s * bs:(s + 1) * bs]
            xb, yb = augment(xtr[idx], cfg["aug"], gen), ytr[idx]
            out = model(xb)
            loss = F.cross_entropy(out, yb, label_smoothing=cfg["ls"])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            tot += float(loss) * bs
            correct += int((out.argmax(1) == yb).sum())
        acc = top1(predict_logits(model, xev), yev)
        log(f"    epoch {ep + 1:2d}/{cfg['epochs']}  loss {tot / (steps * bs):.4f}  "
            f"train-acc {correct / (steps * bs) * 100:.2f}%  eval2000 {acc * 100:.2f}%  {time.time() - t0:.1f}s")
    model.eval()


# --------------------------------------------------------------------------- export + checks

def _clean_identities(m):
    """Replace Identity nodes (the exporter emits them when it deduplicates identical
    initializers, e.g. an untrained BN's running_var == weight == 1) by plain tensors."""
    inits = {t.name: t for t in m.graph.initializer}
    outputs = {o.name for o in m.graph.output}
    rename = {}
    keep = []
    for node in m.graph.node:
        if node.op_type == "Identity":
            src = rename.get(node.input[0], node.input[0])
            if src in inits:
                t = onnx.TensorProto()
                t.CopyFrom(inits[src])
                t.name = node.output[0]
                m.graph.initializer.append(t)
                inits[t.name] = t
                continue
            if node.output[0] not in outputs:
                rename[node.output[0]] = src
                continue
        for k, name in enumerate(node.input):
            if name in rename:
                node.input[k] = rename[name]
        keep.append(node)
    del m.graph.node[:]
    m.graph.node.extend(keep)


def _constants_to_initializers(m):
    """Turn Constant nodes (Clip bounds, Reshape shapes, scalar factors) into initializers so
    that every weight/constant of the sample models lives in graph.initializer."""
    keep = []
    for node in m.graph.node:
        if node.op_type == "Constant" and len(node.attribute) == 1 and node.attribute[0].name == "value":
            t = onnx.TensorProto()
            t.CopyFrom(node.attribute[0].t)
            t.name = node.output[0]
            m.graph.initializer.append(t)
            continue
        keep.append(node)
    del m.graph.node[:]
    m.graph.node.extend(keep)


def export_onnx(model, name, spec, sample, path, nparams):
    model.eval()
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # PRESERVE with the model in eval() skips the exporter's eval-mode peephole pass that
        # folds BatchNorm into the preceding Conv, so BatchNormalization nodes stay in the graph
        # (in inference form, one output) -- asserted below.
        torch.onnx.export(model, sample, buf, opset_version=spec["opset"],
                          input_names=["input"], output_names=["logits"],
                          dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}},
                          training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=True)
    m = onnx.load_from_string(buf.getvalue())
    _clean_identities(m)
    _constants_to_initializers(m)
    m.doc_string = f"pare sample model '{name}' (Fashion-MNIST): {spec['desc']}"
    meta = {"dataset": "fashion-mnist", "normalization": f"x = (pixel/255 - {fm.MEAN}) / {fm.STD}",
            "input_layout": "NCHW float32 [N,1,28,28]", "classes": "10 (logits, no softmax)",
            "params_pytorch": str(nparams), "trained": str(spec["train"] is not None).lower()}
    del m.metadata_props[:]
    for k, v in meta.items():
        p = m.metadata_props.add()
        p.key, p.value = k, v
    onnx.checker.check_model(m, full_check=True)
    check_structure(m, name, spec)
    data = m.SerializeToString()
    with open(path, "wb") as f:
        f.write(data)
    return m, data


def op_histogram(m):
    return dict(sorted(collections.Counter(n.op_type for n in m.graph.node).items()))


def check_structure(m, name, spec):
    ops = set(op_histogram(m))
    missing = spec["ops"] - ops
    assert not missing, f"{name}: missing op types {missing}; has {sorted(ops)}"
    assert not ops & {"Identity", "Constant"}, f"{name}: Identity/Constant nodes left"
    for n in m.graph.node:
        if n.op_type == "BatchNormalization":
            assert len(n.output) == 1, f"{name}: BatchNormalization in training form"
        if n.op_type == "Dropout":
            raise AssertionError(f"{name}: Dropout in graph")
    opset = {o.domain: o.version for o in m.opset_import}[""]
    assert opset == spec["opset"], (name, opset)
    (inp,), (out,) = m.graph.input, m.graph.output
    assert inp.name == "input" and out.name == "logits"

    def dims(v):
        return [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim]
    assert inp.type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    assert dims(inp) == ["N", 1, 28, 28], dims(inp)
    assert dims(out) == ["N", 10], dims(out)


def sha256(b):
    return hashlib.sha256(b).hexdigest()


def blas_library():
    try:
        with open("/proc/self/maps") as f:
            libs = sorted({line.split()[-1] for line in f if "blas" in line.lower() and "/" in line})
        return [os.path.realpath(p) for p in libs]
    except OSError:
        return []


# --------------------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(HERE, "fmnist"))
    ap.add_argument("--models", default=",".join(SPECS), help="comma list of " + ",".join(SPECS))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--quick", action="store_true",
                    help="smoke/determinism run: 1 epoch on 4096 training images (needs --out)")
    ap.add_argument("--data-dir", default=None)
    args = ap.parse_args()
    if args.quick and os.path.abspath(args.out) == os.path.abspath(os.path.join(HERE, "fmnist")):
        ap.error("--quick must not overwrite the shipped models; pass --out")
    names = [s for s in args.models.split(",") if s]
    for s in names:
        if s not in SPECS:
            ap.error(f"unknown model {s}")

    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)
    t_start = time.time()

    def log(msg):
        print(f"[{time.time() - t_start:7.1f}s] {msg}", flush=True)

    os.makedirs(args.out, exist_ok=True)
    xtr_np, ytr_np = fm.load_split("train", args.data_dir)
    xte_np, yte_np = fm.load_split("t10k", args.data_dir)
    assert xtr_np.shape == (60000, 1, 28, 28) and xte_np.shape == (10000, 1, 28, 28)
    calib, eval_x, eval_y = xtr_np[:N_CALIB], xte_np[:N_EVAL], yte_np[:N_EVAL]
    np.save(os.path.join(args.out, "calib_x.npy"), calib)
    np.save(os.path.join(args.out, "eval_x.npy"), eval_x)
    np.save(os.path.join(args.out, "eval_y.npy"), eval_y)
    log(f"data: train {xtr_np.shape}, test {xte_np.shape}; wrote calib_x {calib.shape}, eval_x {eval_x.shape}")

    xtr, ytr = torch.from_numpy(xtr_np), torch.from_numpy(ytr_np)
    xte, yte = torch.from_numpy(xte_np), torch.from_numpy(yte_np)
    if args.quick:
        xtr, ytr = xtr[:4096], ytr[:4096]

    ref_path = os.path.join(args.out, "reference.json")
    ref = {"models": {}}
    if os.path.exists(ref_path):
        with open(ref_path) as f:
            ref = json.load(f)
    ref.update({
        "dataset": "Fashion-MNIST (Debian /usr/share/datasets/fashion-mnist IDX files)",
        "normalization": {"mean": fm.MEAN, "std": fm.STD, "formula": "x = (pixel/255 - mean) / std, float32"},
        "files": {
            "calib_x.npy": {"shape": list(calib.shape), "dtype": "float32", "what": "first 512 training images",
                            "sha256": sha256(calib.tobytes())},
            "eval_x.npy": {"shape": list(eval_x.shape), "dtype": "float32", "what": "first 2000 test images",
                           "sha256": sha256(eval_x.tobytes())},
            "eval_y.npy": {"shape": list(eval_y.shape), "dtype": "int64", "what": "labels of eval_x",
                           "sha256": sha256(eval_y.tobytes())},
        },
        "generator": {"script": "sample_data/make_fmnist.py", "seed": SEED, "torch": torch.__version__,
                      "onnx": onnx.__version__, "numpy": np.__version__, "threads": args.threads,
                      "blas": blas_library(), "quick": bool(args.quick)},
        "notes": "accuracies are fractions in [0,1], measured by PyTorch float32 in eval mode; "
                 "eval_pred_sha256 = sha256 of the little-endian int64 argmax array (= <model>_eval_pred.npy data)",
    })
    ref.setdefault("models", {})
    summary = []
    for name in names:
        spec = SPECS[name]
        seed_everything(spec["seed"])
        model = spec["make"]()
        nparams = n_params(model)
        log(f"{name}: {nparams} parameters")
        t0 = time.time()
        if spec["train"] is not None:
            cfg = dict(spec["train"])
            if args.quick:
                cfg["epochs"] = 1
            train(model, xtr, ytr, xte[:N_EVAL], yte[:N_EVAL], cfg, spec["seed"], log)
        train_s = time.time() - t0
        model.eval()
        logits = predict_logits(model, xte)
        acc10k = top1(logits, yte)
        ev_logits = logits[:N_EVAL].numpy()
        ev_pred = ev_logits.argmax(1).astype(np.int64)
        acc2k = float((ev_pred == eval_y).mean())
        path = os.path.join(args.out, f"{name}.onnx")
        m, data = export_onnx(model, name, spec, xte[:2], path, nparams)
        np.save(os.path.join(args.out, f"{name}_eval_pred.npy"), ev_pred)

        # Independent check of the exported file: numpy interpreter vs PyTorch on all of eval_x.
        t1 = time.time()
        np_logits = onnx_numpy_ref.run_batched(onnx_numpy_ref.Model(m), eval_x)
        diff = float(np.abs(np_logits - ev_logits).max())
        scale = float(np.abs(ev_logits).max())
        agree = float((np_logits.argmax(1) == ev_pred).mean())
        assert diff <= 1e-4 * max(1.0, scale), f"{name}: ONNX (numpy ref) vs PyTorch max |diff| {diff}"
        assert agree >= 0.999, f"{name}: argmax agreement {agree}"
        hist = op_histogram(m)
        log(f"{name}: test10k {acc10k * 100:.2f}%  eval2000 {acc2k * 100:.2f}%  train {train_s:.0f}s  "
            f"onnx {len(data)} B  numpy-ref max|diff| {diff:.2e} agree {agree * 100:.2f}% ({time.time() - t1:.0f}s)")
        log(f"{name}: ops {hist}")
        ref["models"][name] = {
            "file": f"{name}.onnx",
            "architecture": spec["desc"],
            "trained": spec["train"] is not None,
            "train_config": spec["train"] if not args.quick or spec["train"] is None else dict(spec["train"], epochs=1),
            "seed": spec["seed"],
            "opset": spec["opset"],
            "params": nparams,
            "top1_test10k": round(acc10k, 6),
            "top1_eval2000": round(acc2k, 6),
            "eval_pred_file": f"{name}_eval_pred.npy",
            "eval_pred_count": int(ev_pred.shape[0]),
            "eval_pred_sha256": sha256(ev_pred.astype("<i8").tobytes()),
            "logits_eval_first8": [[float(v) for v in row] for row in ev_logits[:8]],
            "op_types": hist,
            "num_nodes": len(m.graph.node),
            "onnx_bytes": len(data),
            "onnx_sha256": sha256(data),
            "numpy_ref_max_abs_diff_eval2000": diff,
            "numpy_ref_argmax_agreement_eval2000": agree,
        }
        summary.append((name, nparams, spec["opset"], acc10k, acc2k, train_s, len(data)))
        order = list(SPECS) + sorted(set(ref["models"]) - set(SPECS))
        ref["models"] = {k: ref["models"][k] for k in order if k in ref["models"]}
        with open(ref_path, "w") as f:
            json.dump(ref, f, indent=1, sort_keys=False)
            f.write("\n")

    log("summary (markdown):")
    print("| model | params | opset | top-1 test 10k | top-1 eval 2000 | train s | onnx bytes |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, p, o, a, b, s, nb in summary:
        print(f"| {name} | {p:,} | {o} | {a * 100:.2f}% | {b * 100:.2f}% | {s:.0f} | {nb:,} |")
    log(f"total wall time {time.time() - t_start:.0f}s")


if __name__ == "__main__":
    main()
