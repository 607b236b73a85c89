"""Cross-check cases for the NN kernels that ONNX's node tests miss: ONNX models built with onnx.helper, expected
outputs from PyTorch (or numpy). Writes conformance-runner case folders (model.onnx + test_data_set_0).

Needs python3-torch and python3-onnx (not in install-deps.sh: a developer tool, not part of CI):
    /usr/bin/python3 tests/conformance/make_torch_cases.py /tmp/torch_cases
    build/tests/pare_conformance --data /tmp/torch_cases --all
"""
import os, shutil, sys
import numpy as np, torch, torch.nn.functional as F, onnx
from onnx import helper, numpy_helper
root = sys.argv[1] if len(sys.argv) > 1 else '/tmp/torch_cases'
shutil.rmtree(root, ignore_errors=True)
rng = np.random.default_rng(0)

def save(name, nodes, inputs, outputs, opset=17):
    d = os.path.join(root, 'test_' + name); os.makedirs(d + '/test_data_set_0')
    g = helper.make_graph(nodes, name,
        [helper.make_tensor_value_info(k, onnx.mapping.NP_TYPE_TO_TENSOR_TYPE[v.dtype], v.shape) for k, v in inputs],
        [helper.make_tensor_value_info(k, onnx.mapping.NP_TYPE_TO_TENSOR_TYPE[v.dtype], v.shape) for k, v in outputs])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid('', opset)])
    onnx.save(m, d + '/model.onnx')
    for i, (k, v) in enumerate(inputs):
        open(f'{d}/test_data_set_0/input_{i}.pb', 'wb').write(numpy_helper.from_array(v, k).SerializeToString())
    for i, (k, v) in enumerate(outputs):
        open(f'{d}/test_data_set_0/output_{i}.pb', 'wb').write(numpy_helper.from_array(v, k).SerializeToString())

def r(*shape): return rng.standard_normal(shape).astype(np.float32)
T = torch.from_numpy

# ---- Conv family vs torch
def conv_case(name, x, w, b, stride, pads, dil, group, torch_pad=None):
    nd = x.ndim - 2
    xt = T(x)
    if pads is not None:
        pb, pe = pads[:nd], pads[nd:]
        padspec = []
        for i in reversed(range(nd)): padspec += [pb[i], pe[i]]
        xt = F.pad(xt, padspec)
    fn = [F.conv1d, F.conv2d, F.conv3d][nd - 1]
    y = fn(xt, T(w), None if b is None else T(b), stride=stride, dilation=dil, groups=group).numpy()
    attrs = dict(strides=stride, dilations=dil, group=group)
    if pads is not None: attrs['pads'] = pads
    ins = [('x', x), ('w', w)] + ([('b', b)] if b is not None else [])
    save(name, [helper.make_node('Conv', [k for k, _ in ins], ['y'], **attrs)], ins, [('y', y)])

conv_case('conv_asym_pads', r(2, 3, 7, 6), r(4, 3, 3, 2), r(4), [2, 1], [0, 2, 1, 0], [1, 1], 1)
conv_case('conv_depthwise_mult2', r(1, 3, 8, 8), r(6, 1, 3, 3), r(6), [1, 1], [1, 1, 1, 1], [1, 1], 3)
conv_case('conv_groups_dilated_3d', r(1, 4, 6, 7, 5), r(6, 2, 2, 3, 2), None, [1, 2, 1], [1, 0, 1, 0, 2, 1], [2, 1, 2], 2)
conv_case('conv_1d_stride_dil', r(2, 5, 20), r(3, 5, 4), r(3), [3], [2, 1], [2], 1)

def convT_case(name, x, w, b, stride, pads, dil, group, outpad):
    nd = x.ndim - 2
    fn = [F.conv_transpose1d, F.conv_transpose2d, F.conv_transpose3d][nd - 1]
    # torch takes symmetric padding: crop the asymmetric remainder ourselves
    y = fn(T(x), T(w), None if b is None else T(b), stride=stride, padding=0, output_padding=outpad, groups=group, dilation=dil).numpy()
    sl = [slice(None), slice(None)] + [slice(pads[i], y.shape[2 + i] - pads[nd + i]) for i in range(nd)]
    y = np.ascontiguousarray(y[tuple(sl)])
    ins = [('x', x), ('w', w)] + ([('b', b)] if b is not None else [])
    save(name, [helper.make_node('ConvTranspose', [k for k, _ in ins], ['y'], strides=stride, pads=pads, dilations=dil, group=group, output_padding=outpad)], ins, [('y', y)])

convT_case('convtranspose_groups_dil_outpad', r(2, 4, 5, 4), r(4, 3, 3, 2), r(6), [2, 3], [1, 0, 0, 1], [2, 1], 2, [1, 2])
convT_case('convtranspose_1d_asym', r(1, 3, 6), r(3, 2, 4), None, [2], [2, 1], [1], 1, [0])

# ---- pools vs torch (symmetric pads only in torch)
def pool_case(name, op, x, k, s, p, ceil, extra, y):
    save(name, [helper.make_node(op, ['x'], ['y'], kernel_shape=k, strides=s, pads=p + p, ceil_mode=ceil, **extra)], [('x', x)], [('y', y)])

x = r(2, 3, 9, 8)
pool_case('maxpool_ceil_edge', 'MaxPool', x, [3, 2], [2, 3], [1, 1], 1, {},
          F.max_pool2d(T(x), [3, 2], [2, 3], [1, 1], ceil_mode=True).numpy())
x = r(1, 2, 6, 6)  # ceil_mode window that would start in the end padding: torch drops it
pool_case('maxpool_ceil_drop_last', 'MaxPool', x, [2, 2], [2, 2], [1, 1], 1, {},
          F.max_pool2d(T(x), 2, 2, 1, ceil_mode=True).numpy())
x = r(1, 2, 10, 9)
pool_case('maxpool_dilated_ceil', 'MaxPool', x, [3, 3], [2, 2], [1, 1], 1, {'dilations': [2, 1]},
          F.max_pool2d(T(x), 3, 2, 1, dilation=[2, 1], ceil_mode=True).numpy())
for cip in [0, 1]:
    x = r(2, 3, 9, 8)
    pool_case(f'avgpool_ceil_cip{cip}', 'AveragePool', x, [3, 3], [2, 2], [1, 1], 1, {'count_include_pad': cip},
              F.avg_pool2d(T(x), 3, 2, 1, ceil_mode=True, count_include_pad=bool(cip)).numpy())
    x = r(1, 2, 7, 7, 7)
    pool_case(f'avgpool3d_cip{cip}', 'AveragePool', x, [3, 3, 2], [2, 2, 2], [1, 1, 1], 0, {'count_include_pad': cip},
              F.avg_pool3d(T(x), [3, 3, 2], 2, 1, count_include_pad=bool(cip)).numpy())
x = r(1, 2, 9, 8)
pool_case('lppool_p3', 'LpPool', x, [3, 3], [2, 2], [0, 0], 0, {'p': 3}, F.lp_pool2d(T(np.abs(x)), 3, 3, 2).numpy())
x = r(1, 2, 6, 7)
y, idx = F.max_pool2d(T(x), 3, 2, 1, return_indices=True)
idx = idx.numpy() + (np.arange(2) * 42).reshape(1, 2, 1, 1)
save('maxpool_indices_pad', [helper.make_node('MaxPool', ['x'], ['y', 'i'], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])],
     [('x', x)], [('y', y.numpy()), ('i', idx.astype(np.int64))])

# ---- MatMul broadcasting / 1-D
for name, a, b in [('matmul_1d_1d', r(5), r(5)), ('matmul_1d_3d', r(4), r(2, 4, 3)), ('matmul_3d_1d', r(2, 3, 4), r(4)),
                   ('matmul_bcast', r(2, 1, 3, 4), r(5, 4, 2)), ('matmul_2d_4d', r(3, 4), r(2, 2, 4, 5))]:
    save(name, [helper.make_node('MatMul', ['a', 'b'], ['y'])], [('a', a), ('b', b)], [('y', np.matmul(a, b))])
a = rng.integers(-100, 100, (2, 3, 4)).astype(np.int32); b = rng.integers(-100, 100, (4, 2)).astype(np.int32)
save('matmul_int32', [helper.make_node('MatMul', ['a', 'b'], ['y'])], [('a', a), ('b', b)], [('y', np.matmul(a, b))])

# ---- Softmax opset 11 (coerced to 2-D) vs numpy
x = r(2, 3, 4)
flat = x.reshape(2, 12); e = np.exp(flat - flat.max(1, keepdims=True))
save('softmax_opset11_axis1', [helper.make_node('Softmax', ['x'], ['y'], axis=1)], [('x', x)], [('y', (e / e.sum(1, keepdims=True)).reshape(2, 3, 4))], opset=11)
save('logsoftmax_opset11_default', [helper.make_node('LogSoftmax', ['x'], ['y'])], [('x', x)],
     [('y', (np.log(e / e.sum(1, keepdims=True))).reshape(2, 3, 4).astype(np.float32))], opset=11)

# ---- recurrent vs torch
def run_torch_rnn(mod, x, h0, c0=None):
    with torch.no_grad():
        if c0 is None: y, h = mod(T(x), T(h0)); return y.numpy(), h.numpy(), None
        y, (h, c) = mod(T(x), (T(h0), T(c0))); return y.numpy(), h.numpy(), c.numpy()

def onnx_weights(mod, kind, D, H):
    # torch gate order -> ONNX: LSTM torch i,f,g,o -> onnx i,o,f,c ; GRU torch r,z,n -> onnx z,r,h
    def reorder(m):
        if kind == 'LSTM': i, f, g, o = np.split(m, 4); return np.concatenate([i, o, f, g])
        if kind == 'GRU': rr, z, n = np.split(m, 3); return np.concatenate([z, rr, n])
        return m
    W, R, B = [], [], []
    for d in range(D):
        sfx = '_reverse' if d else ''
        g = lambda n: getattr(mod, n + '_l0' + sfx).detach().numpy()
        W.append(reorder(g('weight_ih'))); R.append(reorder(g('weight_hh')))
        B.append(np.concatenate([reorder(g('bias_ih')), reorder(g('bias_hh'))]))
    return np.stack(W), np.stack(R), np.stack(B)

torch.manual_seed(0)
S, Bt, I, H = 5, 3, 4, 6
for kind in ['RNN', 'GRU', 'LSTM']:
    for D in [1, 2]:
        for extra in ([{}] if kind != 'RNN' else [{}, {'nonlinearity': 'relu'}]):
            mod = getattr(torch.nn, kind)(I, H, bidirectional=(D == 2), **extra)
            x, h0, c0 = r(S, Bt, I), r(D, Bt, H), r(D, Bt, H)
            y, hn, cn = run_torch_rnn(mod, x, h0, c0 if kind == 'LSTM' else None)
            y = y.reshape(S, Bt, D, H).transpose(0, 2, 1, 3).copy()
            W, R, B = onnx_weights(mod, kind, D, H)
            attrs = dict(hidden_size=H, direction='bidirectional' if D == 2 else 'forward')
            if kind == 'GRU': attrs['linear_before_reset'] = 1
            if extra: attrs['activations'] = ['Relu'] * D
            ins = [('x', x), ('w', W), ('r', R), ('b', B), ('', None), ('h0', h0)] + ([('c0', c0)] if kind == 'LSTM' else [])
            outs = [('y', y), ('yh', hn)] + ([('yc', cn)] if kind == 'LSTM' else [])
            name = f'{kind.lower()}_torch_d{D}' + ('_relu' if extra else '')
            node_in = [k for k, _ in ins]
            real_ins = [(k, v) for k, v in ins if v is not None]
            save(name, [helper.make_node(kind, node_in, [k for k, _ in outs], **attrs)], real_ins, outs, opset=14)
            # batch-major layout version
            tb = lambda a: np.ascontiguousarray(a.swapaxes(0, 1))
            real_ins_b = [(k, tb(v) if k in ('x', 'h0', 'c0') else v) for k, v in real_ins]
            outs_b = [('y', np.ascontiguousarray(y.transpose(2, 0, 1, 3))), ('yh', tb(hn))] + ([('yc', tb(cn))] if kind == 'LSTM' else [])
            save(name + '_layout1', [helper.make_node(kind, node_in, [k for k, _ in outs], layout=1, **attrs)], real_ins_b, outs_b, opset=14)
            # variable sequence lengths: run torch per batch entry on its own prefix
            lens = np.array([5, 2, 0 if kind != 'LSTM' else 3], dtype=np.int32)
            yv = np.zeros((S, D, Bt, H), np.float32); hv = np.zeros((D, Bt, H), np.float32); cv = np.zeros((D, Bt, H), np.float32)
            for bi in range(Bt):
                L = lens[bi]
                if L == 0:
                    hv[:, bi] = h0[:, bi]; cv[:, bi] = c0[:, bi]; continue
                yy, hh, cc = run_torch_rnn(mod, x[:L, bi:bi + 1], h0[:, bi:bi + 1], c0[:, bi:bi + 1] if kind == 'LSTM' else None)
                yv[:L, :, bi] = yy.reshape(L, D, H); hv[:, bi] = hh[:, 0]
                if cc is not None: cv[:, bi] = cc[:, 0]
            ins_v = [('x', x), ('w', W), ('r', R), ('b', B), ('lens', lens), ('h0', h0)] + ([('c0', c0)] if kind == 'LSTM' else [])
            outs_v = [('y', yv), ('yh', hv)] + ([('yc', cv)] if kind == 'LSTM' else [])
            save(name + '_seqlens', [helper.make_node(kind, [k for k, _ in ins_v], [k for k, _ in outs_v], **attrs)], ins_v, outs_v, opset=14)
print('cases:', len(os.listdir(root)))
