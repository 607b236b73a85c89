// Times ONNX Runtime (CPU EP) on one model: node bench/ort_time.js MODEL BATCH THREADS [SECONDS] [OPT_LEVEL]
// Feeds random float32 input of shape [BATCH,1,28,28] (the sample models' input "input") and prints one JSON line:
// {"engine":"ort","model":...,"batch":...,"threads":...,"median_ms":...,"min_ms":...,"samples_per_s":...,
// "best_samples_per_s":...} (throughput from the median and from the fastest run).
const path = require('path');
// `make ort` installs the pinned onnxruntime-node into build/ort; ORT_NODE points elsewhere.
const ort = require(process.env.ORT_NODE || path.join(__dirname, '..', 'build', 'ort', 'node_modules', 'onnxruntime-node'));

async function main() {
    const [model, batchArg, threadsArg, secondsArg, optLevel] = process.argv.slice(2);
    const batch = parseInt(batchArg || '1'), threads = parseInt(threadsArg || '1');
    const seconds = parseFloat(secondsArg || '2');
    const options = {intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential'};
    if (optLevel) options.graphOptimizationLevel = optLevel;
    const session = await ort.InferenceSession.create(model, options);
    const inputName = session.inputNames[0];
    const data = new Float32Array(batch * 28 * 28);
    let seed = 1;
    for (let i = 0; i < data.length; ++i) {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff;
        data[i] = seed / 0x7fffffff * 4 - 2;
    }
    const feeds = {[inputName]: new ort.Tensor('float32', data, [batch, 1, 28, 28])};
    for (let i = 0; i < 5; ++i) await session.run(feeds);
    const times = [];
    const start = process.hrtime.bigint();
    while (Number(process.hrtime.bigint() - start) / 1e9 < seconds || times.length < 10) {
        const t0 = process.hrtime.bigint();
        await session.run(feeds);
        times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    times.sort((a, b) => a - b);
    const median = times[Math.floor(times.length / 2)], best = times[0];
    console.log(JSON.stringify({engine: 'ort', model: path.basename(model, '.onnx'), batch, threads,
                                median_ms: +median.toFixed(4), min_ms: +best.toFixed(4),
                                samples_per_s: +(batch * 1000 / median).toFixed(1),
                                best_samples_per_s: +(batch * 1000 / best).toFixed(1), runs: times.length}));
}
main().catch((e) => { console.error(e.message || e); process.exit(1); });
