"""Cross-check cases for the quantization kernels that ONNX 1.12's node tests miss (blocked, 16-bit and 4-bit
QuantizeLinear/DequantizeLinear, per-column QLinearMatMul and MatMulInteger, padded/strided/grouped ConvInteger and
QLinearConv, exact rounding ties): random models built with onnx.helper, expected outputs from ONNX Runtime through
tests/ort/run_ort.js. Writes conformance-runner case folders (model.onnx + test_data_set_0).

Needs python3-onnx, python3-numpy, node and onnxruntime-node (a developer tool, not part of CI):
    /usr/bin/python3 tests/conformance/make_ort_quant_cases.py /tmp/ort_quant_cases NODE_MODULES_DIR
    build/tests/pare_conformance --data /tmp/ort_quant_cases --all

Not generated, because pare follows the spec where ONNX Runtime does not: QuantizeLinear of float16 x with a float16
scale (the spec and ONNX's reference divide in float16, ONNX Runtime in float32; ONNX Runtime 1.30 has no kernel for
float16 x with a float32 scale), and infinite inputs (ONNX Runtime converts +inf to the type's minimum; the spec
saturates to the maximum).
onnxruntime-node can neither feed nor return 4-bit tensors: 4-bit inputs are initializers, and 4-bit outputs are
read back through a DequantizeLinear with scale 1.
"""
import os, shutil, subprocess, sys, tempfile
import numpy as np, onnx
from onnx import helper, numpy_helper, TensorProto

root = sys.argv[1] if len(sys.argv) > 1 else '/tmp/ort_quant_cases'
modules = sys.argv[2] if len(sys.argv) > 2 else 'build/ort/node_modules'
run_ort = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'ort', 'run_ort.js')
shutil.rmtree(root, ignore_errors=True)
rng = np.random.default_rng(1234)

FLOAT, FLOAT16, UINT8, INT8, UINT16, INT16, INT32, UINT4, INT4 = 1, 10, 2, 3, 4, 5, 6, 21, 22
RANGES = {UINT8: (0, 255), INT8: (-128, 127), UINT16: (0, 65535), INT16: (-32768, 32767), UINT4: (0, 15),
          INT4: (-8, 7), INT32: (-100000, 100000)}
NP = {FLOAT: np.float32, FLOAT16: np.float16, UINT8: np.uint8, INT8: np.int8, UINT16: np.uint16, INT16: np.int16,
      INT32: np.int32}


def tensor(name, dtype, values):
    """A TensorProto of any dtype here, 4-bit ones packed two per byte, low nibble first."""
    values = np.asarray(values)
    t = TensorProto(name=name, data_type=dtype, dims=values.shape)
    if dtype in (UINT4, INT4):
        nibbles = (values.astype(np.int64).ravel() & 0xF).astype(np.uint8)
        if len(nibbles) % 2:
            nibbles = np.append(nibbles, 0)
        t.raw_data = (nibbles[0::2] | (nibbles[1::2] << 4)).astype(np.uint8).tobytes()
    else:
        t.raw_data = values.astype(NP[dtype]).tobytes()
    return t


def rand_int(dtype, shape):
    lo, hi = RANGES[dtype]
    return rng.integers(lo, hi + 1, size=shape)


def save(name, nodes, inputs, outputs, initializers, opset, feeds):
    """Writes model.onnx, runs it in ONNX Runtime and stores inputs and ORT's outputs as the test data set."""
    graph = helper.make_graph(nodes, name, [helper.make_tensor_value_info(n, t, s) for n, t, s in inputs],
                              [helper.make_tensor_value_info(n, t, None) for n, t in outputs], initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid('', opset)])
    model.ir_version = 10 if opset >= 21 else 8
    case = os.path.join(root, 'test_ort_' + name)
    os.makedirs(os.path.join(case, 'test_data_set_0'))
    onnx.save(model, os.path.join(case, 'model.onnx'))
    with tempfile.TemporaryDirectory() as scratch:
        files = []
        for i, (n, t, _) in enumerate(inputs):
            files.append(os.path.join(scratch, f'input_{i}.npy'))
            np.save(files[-1], feeds[n].astype(NP[t]))
            with open(os.path.join(case, 'test_data_set_0', f'input_{i}.pb'), 'wb') as f:
                f.write(numpy_helper.from_array(feeds[n].astype(NP[t]), n).SerializeToString())
        subprocess.run(['node', run_ort, '--modules', modules, '--model', os.path.join(case, 'model.onnx'),
                        '--out', scratch] + files, check=True, stdout=subprocess.DEVNULL)
        for i, (n, _) in enumerate(outputs):
            value = np.load(os.path.join(scratch, f'output_{i}.npy'))
            with open(os.path.join(case, 'test_data_set_0', f'output_{i}.pb'), 'wb') as f:
                f.write(numpy_helper.from_array(value, n).SerializeToString())


def param_shape(shape, granularity, axis, block):
    if granularity == 'tensor':
        return []
    if granularity == 'axis':
        return [shape[axis]]
    blocked = list(shape)
    blocked[axis] = -(-shape[axis] // block)
    return blocked


# QuantizeLinear: every integer output type and granularity, with and without a zero point. The first values of x
# are exact rounding ties.
for out in [UINT8, INT8, UINT16, INT16, UINT4, INT4]:
    for granularity in ['tensor', 'axis', 'block']:
        for repeat in range(2):
            for with_zero_point in [True, False]:
                shape, axis = [2, 3, 7], int(rng.integers(-3, 3))
                block = int(rng.integers(2, 5)) if granularity == 'block' else 0
                s_shape = param_shape(shape, granularity, axis % 3, block)
                scale = 2.0 ** rng.integers(-3, 3, size=s_shape) * rng.choice([1.0, 0.37, 1.7], size=s_shape)
                lo, hi = RANGES[out]
                x = rng.normal(0, (hi - lo) * np.max(scale) / 3, size=shape)
                flat = x.ravel()
                flat[:6] = (np.arange(6) - 2.5) * float(np.ravel(scale)[0])
                x = flat.reshape(shape)
                initializers, inputs = [tensor('scale', FLOAT, scale)], ['x', 'scale']
                attributes = {'axis': axis}
                if block:
                    attributes['block_size'] = block
                if with_zero_point:
                    initializers.append(tensor('zp', out, rand_int(out, s_shape)))
                    inputs.append('zp')
                else:
                    attributes['output_dtype'] = out
                nodes, outputs = [helper.make_node('QuantizeLinear', inputs, ['y'], **attributes)], [('y', out)]
                if out in (UINT4, INT4):
                    initializers.append(tensor('one', FLOAT, 1.0))
                    nodes.append(helper.make_node('DequantizeLinear', ['y', 'one'], ['y_values']))
                    outputs = [('y_values', FLOAT)]
                save(f'quantize_{out}_{granularity}_{repeat}_{int(with_zero_point)}', nodes, [('x', FLOAT, shape)],
                     outputs, initializers, 21, {'x': x})

# DequantizeLinear: every integer input type and granularity, float32 and float16 scales.
for in_type in [UINT8, INT8, UINT16, INT16, INT32, UINT4, INT4]:
    for granularity in ['tensor', 'axis', 'block']:
        for scale_type in [FLOAT, FLOAT16]:
            shape, axis = [3, 2, 5], int(rng.integers(-3, 3))
            block = int(rng.integers(2, 4)) if granularity == 'block' else 0
            s_shape = param_shape(shape, granularity, axis % 3, block)
            x = rand_int(in_type, shape)
            initializers, inputs = [tensor('scale', scale_type, rng.uniform(0.001, 2.0, size=s_shape))], ['x', 'scale']
            if in_type != INT32:
                initializers.append(tensor('zp', in_type, rand_int(in_type, s_shape)))
                inputs.append('zp')
            attributes = {'axis': axis}
            if block:
                attributes['block_size'] = block
            name = f'dequantize_{in_type}_{granularity}_{scale_type}'
            if in_type in (UINT4, INT4):
                initializers.append(tensor('x4', in_type, x))
                nodes = [helper.make_node('Relu', ['unused'], ['unused_out']),
                         helper.make_node('DequantizeLinear', ['x4'] + inputs[1:], ['y'], **attributes)]
                save(name, nodes, [('unused', FLOAT, [3])], [('y', scale_type), ('unused_out', FLOAT)], initializers,
                     21, {'unused': np.zeros(3)})
            else:
                save(name, [helper.make_node('DequantizeLinear', inputs, ['y'], **attributes)], [('x', in_type, shape)],
                     [('y', scale_type)], initializers, 21, {'x': x})

# DynamicQuantizeLinear over ranges on both sides of zero, one side only, and tiny.
for i, (lo, hi) in enumerate([(-3, 2), (-5, -1), (1, 9), (-0.01, 100), (-1e-3, 1e-3)]):
    save(f'dynamic_quantize_{i}', [helper.make_node('DynamicQuantizeLinear', ['x'], ['y', 's', 'z'])],
         [('x', FLOAT, [4, 9])], [('y', UINT8), ('s', FLOAT), ('z', UINT8)], [], 11,
         {'x': rng.uniform(lo, hi, size=[4, 9])})

# MatMulInteger: per-tensor A zero point, per-tensor or per-column B zero point, batch broadcasting.
for i, (a_type, b_type, per_column) in enumerate([(UINT8, UINT8, False), (UINT8, INT8, True), (INT8, INT8, True),
                                                  (INT8, UINT8, False)]):
    initializers = [tensor('b', b_type, rand_int(b_type, [4, 5])), tensor('a_zp', a_type, rand_int(a_type, [])),
                    tensor('b_zp', b_type, rand_int(b_type, [5] if per_column else []))]
    save(f'matmul_integer_{i}', [helper.make_node('MatMulInteger', ['a', 'b', 'a_zp', 'b_zp'], ['y'])],
         [('a', a_type, [2, 3, 4])], [('y', INT32)], initializers, 10, {'a': rand_int(a_type, [2, 3, 4])})

# QLinearMatMul: per-tensor and per-column b (ONNX Runtime has no int8 x uint8 kernel).
for i, (a_type, b_type, per_column) in enumerate([(UINT8, UINT8, False), (INT8, INT8, False), (UINT8, INT8, True)]):
    n = [4] if per_column else []
    initializers = [tensor('a_s', FLOAT, rng.uniform(0.01, 0.1)), tensor('a_zp', a_type, rand_int(a_type, [])),
                    tensor('b', b_type, rand_int(b_type, [6, 4])), tensor('b_s', FLOAT, rng.uniform(0.01, 0.1, n)),
                    tensor('b_zp', b_type, rand_int(b_type, n)), tensor('y_s', FLOAT, rng.uniform(0.05, 0.5)),
                    tensor('y_zp', a_type, rand_int(a_type, []))]
    node = helper.make_node('QLinearMatMul', ['a', 'a_s', 'a_zp', 'b', 'b_s', 'b_zp', 'y_s', 'y_zp'], ['y'])
    save(f'qlinear_matmul_{i}', [node], [('a', a_type, [2, 3, 6])], [('y', a_type)], initializers, 10,
         {'a': rand_int(a_type, [2, 3, 6])})

# ConvInteger: padding, strides, dilations, groups, auto_pad.
for i, attributes in enumerate([{}, {'pads': [1, 2, 0, 1], 'strides': [2, 1]}, {'dilations': [2, 2], 'group': 2},
                                {'auto_pad': 'SAME_UPPER', 'strides': [2, 2]}, {'auto_pad': 'SAME_LOWER', 'group': 2}]):
    group = attributes.get('group', 1)
    initializers = [tensor('w', UINT8, rand_int(UINT8, [6, 4 // group, 3, 2])),
                    tensor('x_zp', UINT8, rand_int(UINT8, [])), tensor('w_zp', UINT8, rand_int(UINT8, []))]
    save(f'conv_integer_{i}', [helper.make_node('ConvInteger', ['x', 'w', 'x_zp', 'w_zp'], ['y'], **attributes)],
         [('x', UINT8, [2, 4, 7, 6])], [('y', INT32)], initializers, 10, {'x': rand_int(UINT8, [2, 4, 7, 6])})

# QLinearConv: per-channel weight scales, int32 bias, groups, padding, strides, dilations.
for i, (x_type, w_type, attributes, per_channel, bias) in enumerate([
        (UINT8, INT8, {}, True, True), (INT8, INT8, {'pads': [1, 1, 1, 1], 'group': 2}, True, False),
        (UINT8, UINT8, {'strides': [2, 2], 'dilations': [1, 2]}, False, True),
        (INT8, INT8, {'auto_pad': 'SAME_UPPER', 'group': 4}, True, True)]):
    group, m = attributes.get('group', 1), [8] if per_channel else []
    initializers = [tensor('x_s', FLOAT, rng.uniform(0.01, 0.1)), tensor('x_zp', x_type, rand_int(x_type, [])),
                    tensor('w', w_type, rand_int(w_type, [8, 4 // group, 3, 3])),
                    tensor('w_s', FLOAT, rng.uniform(0.001, 0.02, size=m)),
                    tensor('w_zp', w_type, np.zeros(m) if w_type == INT8 else rand_int(w_type, m)),
                    tensor('y_s', FLOAT, rng.uniform(0.05, 0.5)), tensor('y_zp', x_type, rand_int(x_type, []))]
    inputs = ['x', 'x_s', 'x_zp', 'w', 'w_s', 'w_zp', 'y_s', 'y_zp']
    if bias:
        initializers.append(tensor('B', INT32, rng.integers(-5000, 5000, size=[8])))
        inputs.append('B')
    save(f'qlinear_conv_{i}', [helper.make_node('QLinearConv', inputs, ['y'], **attributes)],
         [('x', x_type, [1, 4, 6, 7])], [('y', x_type)], initializers, 10, {'x': rand_int(x_type, [1, 4, 6, 7])})

print(f'{len(os.listdir(root))} cases in {root}')
