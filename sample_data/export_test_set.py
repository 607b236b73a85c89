#!/usr/bin/python3
"""Export the full Fashion-MNIST test set as normalized .npy files (numpy only).

Usage:
    /usr/bin/python3 sample_data/export_test_set.py OUTDIR [--data-dir DIR]

Writes
    OUTDIR/test_x.npy  float32 [10000, 1, 28, 28], x = (pixel/255 - 0.2860) / 0.3530
    OUTDIR/test_y.npy  int64   [10000]

The source is the Debian copy of Fashion-MNIST (gzipped IDX files) in
/usr/share/datasets/fashion-mnist/ unless --data-dir or the environment
variable FMNIST_DIR says otherwise.

Idempotent: if both files already exist with the right shape and dtype the
script does nothing. Files are written to a temporary name and renamed, so an
interrupted run never leaves a truncated .npy behind.

This module is also imported by make_fmnist.py so that the normalization used
for the shipped eval/calibration arrays is bit-identical to this one.
"""
import gzip
import os
import sys

import numpy as np

DEFAULT_DATA_DIR = "/usr/share/datasets/fashion-mnist"
MEAN = 0.2860
STD = 0.3530
N_TEST = 10000


def data_dir(override=None):
    return override or os.environ.get("FMNIST_DIR") or DEFAULT_DATA_DIR


def read_idx(path):
    """Read a (gzipped) IDX file into a numpy array (uint8 payloads only)."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise ValueError(f"{path}: not an IDX file")
    dtype_code, ndim = raw[2], raw[3]
    if dtype_code != 0x08:
        raise ValueError(f"{path}: unsupported IDX dtype 0x{dtype_code:02x} (want uint8)")
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    count = int(np.prod(dims)) if dims else 0
    offset = 4 + 4 * ndim
    if len(raw) - offset != count:
        raise ValueError(f"{path}: payload has {len(raw) - offset} bytes, header says {count}")
    return np.frombuffer(raw, dtype=np.uint8, offset=offset).reshape(dims)


def normalize(images_u8):
    """uint8 [N,28,28] -> float32 [N,1,28,28], (p/255 - MEAN)/STD, all in float32."""
    x = images_u8.astype(np.float32) / np.float32(255.0)
    x = (x - np.float32(MEAN)) / np.float32(STD)
    return np.ascontiguousarray(x.reshape(-1, 1, 28, 28).astype(np.float32, copy=False))


def load_split(split, override_dir=None):
    """Return (x float32 [N,1,28,28] normalized, y int64 [N]) for 'train' or 't10k'."""
    d = data_dir(override_dir)
    imgs = read_idx(os.path.join(d, f"{split}-images-idx3-ubyte.gz"))
    labels = read_idx(os.path.join(d, f"{split}-labels-idx1-ubyte.gz"))
    if imgs.shape[0] != labels.shape[0] or imgs.shape[1:] != (28, 28):
        raise ValueError(f"unexpected shapes {imgs.shape} / {labels.shape}")
    return normalize(imgs), labels.astype(np.int64)


def _complete(path, shape, dtype):
    try:
        a = np.load(path, mmap_mode="r")
    except Exception:
        return False
    return a.shape == shape and a.dtype == dtype


def _save_atomic(path, arr):
    tmp = path + ".tmp.npy"
    np.save(tmp, arr)
    os.replace(tmp, path)


def main(argv):
    args = list(argv[1:])
    override = None
    if "--data-dir" in args:
        i = args.index("--data-dir")
        if i + 1 >= len(args):
            print("--data-dir needs a value", file=sys.stderr)
            return 2
        override = args[i + 1]
        del args[i:i + 2]
    if len(args) != 1 or args[0] in ("-h", "--help"):
        print("usage: export_test_set.py OUTDIR [--data-dir DIR]", file=sys.stderr)
        return 2
    outdir = args[0]
    os.makedirs(outdir, exist_ok=True)
    xp = os.path.join(outdir, "test_x.npy")
    yp = os.path.join(outdir, "test_y.npy")
    if _complete(xp, (N_TEST, 1, 28, 28), np.float32) and _complete(yp, (N_TEST,), np.int64):
        print(f"{xp} and {yp} already complete; nothing to do")
        return 0
    x, y = load_split("t10k", override)
    if x.shape[0] != N_TEST:
        raise ValueError(f"expected {N_TEST} test images, got {x.shape[0]}")
    _save_atomic(xp, x)
    _save_atomic(yp, y)
    print(f"wrote {xp} {x.shape} float32 and {yp} {y.shape} int64")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
