#!/usr/bin/env node
// Runs an ONNX model in ONNX Runtime (onnxruntime-node) on .npy inputs and writes every output as .npy: the
// reference side of pare's cross-checks. graphOptimizationLevel 'basic' keeps ORT's numbers exact (its default
// level rewrites DequantizeLinear->MatMul into integer kernels).
//
//   node run_ort.js --modules DIR --model M.onnx --out DIR [--batch N] [--threads N] IN_0.npy [IN_1.npy ...]
//
// Inputs are given in the model's input order and split into batches along dim 0 (the whole array when --batch is
// 0). Outputs are written as OUT/output_<i>.npy in the model's output order; a JSON line naming them is printed.
'use strict';

const fs = require('fs');
const path = require('path');

const NPY_TYPES = {
    '<f4': ['float32', Float32Array], '<f8': ['float64', Float64Array], '<f2': ['float16', Uint16Array],
    '|i1': ['int8', Int8Array], '|u1': ['uint8', Uint8Array], '<i2': ['int16', Int16Array],
    '<u2': ['uint16', Uint16Array], '<i4': ['int32', Int32Array], '<u4': ['uint32', Uint32Array],
    '<i8': ['int64', BigInt64Array], '<u8': ['uint64', BigUint64Array], '|b1': ['bool', Uint8Array],
};

function parseArgs(argv) {
    const args = {batch: 0, threads: 1, inputs: []};
    for (let i = 0; i < argv.length; ++i) {
        const flag = argv[i];
        if (flag === '--modules' || flag === '--model' || flag === '--out' || flag === '--batch' ||
            flag === '--threads') {
            if (i + 1 >= argv.length) throw new Error(`${flag} needs a value`);
            args[flag.slice(2)] = argv[++i];
        } else {
            args.inputs.push(flag);
        }
    }
    if (!args.modules || !args.model || !args.out) throw new Error('--modules, --model and --out are required');
    args.batch = Number(args.batch);
    args.threads = Number(args.threads);
    return args;
}

function readNpy(file) {
    const bytes = fs.readFileSync(file);
    if (bytes.toString('latin1', 0, 6) !== '\x93NUMPY') throw new Error(`${file} is not a .npy file`);
    const major = bytes[6];
    const headerLength = major === 1 ? bytes.readUInt16LE(8) : bytes.readUInt32LE(8);
    const start = major === 1 ? 10 : 12;
    const header = bytes.toString('latin1', start, start + headerLength);
    const descr = /'descr':\s*'([^']+)'/.exec(header);
    const fortran = /'fortran_order':\s*(True|False)/.exec(header);
    const shape = /'shape':\s*\(([^)]*)\)/.exec(header);
    if (!descr || !fortran || !shape) throw new Error(`${file}: unreadable .npy header`);
    if (fortran[1] === 'True') throw new Error(`${file}: Fortran order is not supported`);
    const key = descr[1] === '<b1' ? '|b1' : descr[1];
    if (!NPY_TYPES[key]) throw new Error(`${file}: dtype ${descr[1]} is not supported`);
    const [type, ArrayType] = NPY_TYPES[key];
    const dims = shape[1].split(',').map((d) => d.trim()).filter((d) => d.length).map(Number);
    const offset = start + headerLength;
    // Copy so the typed array is aligned whatever the header length was.
    const data = new ArrayType(bytes.buffer.slice(bytes.byteOffset + offset, bytes.byteOffset + bytes.length));
    return {type, dims, data};
}

function writeNpy(file, type, dims, data) {
    const descr = Object.keys(NPY_TYPES).find((k) => NPY_TYPES[k][0] === type);
    if (!descr) throw new Error(`cannot write ${type} as .npy`);
    const shape = dims.length === 1 ? `(${dims[0]},)` : `(${dims.join(', ')})`;
    let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
    const unpadded = 10 + header.length + 1;
    header += ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
    const prefix = Buffer.alloc(10);
    prefix.write('\x93NUMPY', 0, 'latin1');
    prefix[6] = 1;
    prefix[7] = 0;
    prefix.writeUInt16LE(header.length, 8);
    const payload = type === 'bool' ? Buffer.from(Uint8Array.from(data, (v) => (v ? 1 : 0)))
                                    : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    fs.writeFileSync(file, Buffer.concat([prefix, Buffer.from(header, 'latin1'), payload]));
}

function rowSize(dims) { return dims.slice(1).reduce((a, b) => a * b, 1); }

async function main() {
    const args = parseArgs(process.argv.slice(2));
    const ort = require(path.join(path.resolve(args.modules), 'onnxruntime-node'));
    const session = await ort.InferenceSession.create(args.model, {
        graphOptimizationLevel: 'basic', intraOpNumThreads: args.threads, interOpNumThreads: 1,
    });
    if (args.inputs.length !== session.inputNames.length) {
        throw new Error(`the model has ${session.inputNames.length} inputs, ${args.inputs.length} .npy files given`);
    }
    const arrays = args.inputs.map(readNpy);
    const samples = arrays[0].dims[0];
    const batch = args.batch > 0 ? args.batch : samples;
    const chunks = session.outputNames.map(() => []);
    const outputDims = [];
    // Rows [start, start + count) of every input, zero-padded to `rows` rows.
    const feedsFor = (start, count, rows) => {
        const feeds = {};
        arrays.forEach((array, i) => {
            const row = rowSize(array.dims);
            const data = new array.data.constructor(rows * row);
            data.set(array.data.subarray(start * row, (start + count) * row));
            feeds[session.inputNames[i]] = new ort.Tensor(array.type, data, [rows, ...array.dims.slice(1)]);
        });
        return feeds;
    };
    for (let start = 0; start < samples; start += batch) {
        const count = Math.min(batch, samples - start);
        let results;
        try {
            results = await session.run(feedsFor(start, count, count));
        } catch (error) {
            // A model that fixes its batch dimension gets its last, partial batch padded; the padding is cut off.
            if (count === batch) throw error;
            results = await session.run(feedsFor(start, count, batch));
        }
        session.outputNames.forEach((name, o) => {
            let tensor = results[name];
            if (tensor.dims.length && Number(tensor.dims[0]) !== count) {
                const row = rowSize(tensor.dims.map(Number));
                tensor = {type: tensor.type, dims: [count, ...tensor.dims.slice(1)],
                          data: tensor.data.slice(0, count * row)};
            }
            chunks[o].push(tensor);
            outputDims[o] = tensor.dims;
        });
    }
    fs.mkdirSync(args.out, {recursive: true});
    const written = session.outputNames.map((name, o) => {
        const parts = chunks[o];
        const total = parts.reduce((n, t) => n + t.data.length, 0);
        const data = new parts[0].data.constructor(total);
        let at = 0;
        for (const part of parts) {
            data.set(part.data, at);
            at += part.data.length;
        }
        const dims = [...outputDims[o]];
        if (dims.length) dims[0] = parts.reduce((n, t) => n + Number(t.dims[0]), 0);
        const file = path.join(args.out, `output_${o}.npy`);
        writeNpy(file, parts[0].type, dims.map(Number), data);
        return {name, file, type: parts[0].type, dims};
    });
    process.stdout.write(JSON.stringify({outputs: written}) + '\n');
}

main().catch((error) => {
    process.stderr.write(`run_ort: ${error.message}\n`);
    process.exit(1);
});
