// Times pare's engine on one model, the counterpart of ort_time.js:
//
//   pare_engine_time MODEL BATCH THREADS [SECONDS] [--reference] [--no-optimize] [--kernels] [--check] [--verbose]
//                    [--profile] [--observe]
//
// Feeds random float32 data to every graph input (the first dimension set to BATCH) and prints one JSON line with
// the median latency and throughput; --kernels lists the kernel chosen for each node on stderr first; --check also
// runs the reference kernels on the unoptimized graph and reports the largest difference of the outputs; --verbose
// logs why fast kernels declined or handed a node to its reference kernel; --profile prints each node's share of the
// time on stderr, slowest first; --observe runs the engine as calibration does, every node output observed (so no
// fusion hides one), with an observer that does nothing: the engine's share of calibration's cost.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "core/log.h"
#include "exec/session.h"
#include "onnx/model_io.h"

using namespace pare;

int main(int argc, char** argv) {
    if (argc < 4) {
        std::fprintf(stderr, "usage: %s MODEL BATCH THREADS [SECONDS] [--reference] [--no-optimize] [--kernels]\n",
                     argv[0]);
        return 2;
    }
    const std::string path = argv[1];
    const int64_t batch = std::atoll(argv[2]);
    SessionOptions options;
    options.threads = std::atoi(argv[3]);
    double seconds = 2.0;
    bool list_kernels = false, check = false, profile = false, observe = false;
    for (int i = 4; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--reference") {
            options.reference_only = true;
        } else if (arg == "--no-optimize") {
            options.optimize = false;
        } else if (arg == "--kernels") {
            list_kernels = true;
        } else if (arg == "--check") {
            check = true;
        } else if (arg == "--verbose") {
            set_log_level(LogLevel::kVerbose);
        } else if (arg == "--observe") {
            observe = true;
        } else if (arg == "--profile") {
            options.profile = profile = true;
        } else {
            seconds = std::atof(argv[i]);
        }
    }
    auto loaded = load_model(path);
    if (!loaded.ok()) {
        std::fprintf(stderr, "%s\n", loaded.status().message().c_str());
        return 3;
    }
    const Model& model = loaded->model;
    std::map<std::string, Shape> shapes;
    std::vector<Tensor> inputs;
    uint32_t seed = 1;
    for (const auto& name : model.graph.input_names()) {
        const ValueType type = value_type_from_proto(*model.graph.find_value_info(name));
        Shape shape = type.shape;
        if (!shape.empty()) shape[0] = batch;
        for (auto& d : shape) d = d < 0 ? 1 : d;
        shapes[name] = shape;
        Tensor t(DType::kF32, shape);
        for (int64_t i = 0; i < t.numel(); ++i) {
            seed = seed * 1103515245u + 12345u;
            t.data<float>()[i] = static_cast<float>((seed >> 8) & 0xffff) / 65535.0f * 4.0f - 2.0f;
        }
        inputs.push_back(t);
    }
    if (observe) {
        options.observe_any_layout = true;
        for (const Node& node : model.graph.nodes) {
            for (const auto& output : node.proto.output()) options.observed.insert(output);
        }
    }
    auto session = Session::create(model, shapes, options);
    if (observe) (*session)->set_observer([](const std::string&, const Tensor&) {});
    if (!session.ok()) {
        std::fprintf(stderr, "%s\n", session.status().message().c_str());
        return 4;
    }
    if (list_kernels) {
        for (const auto& [node, kernel] : (*session)->kernel_choices())
            std::fprintf(stderr, "%-50s %s\n", node.c_str(), kernel.c_str());
    }
    double max_diff = 0.0;
    if (check) {
        SessionOptions reference_options = options;
        reference_options.reference_only = true;
        auto reference = Session::create(model, shapes, reference_options);
        if (!reference.ok()) {
            std::fprintf(stderr, "reference: %s\n", reference.status().message().c_str());
            return 4;
        }
        auto expected = (*reference)->run(inputs);
        auto actual = (*session)->run(inputs);
        if (!expected.ok() || !actual.ok()) {
            std::fprintf(stderr, "%s\n", (expected.ok() ? actual.status() : expected.status()).message().c_str());
            return 1;
        }
        for (size_t o = 0; o < actual->size(); ++o) {
            const Tensor& a = (*actual)[o];
            const Tensor& e = (*expected)[o];
            if (a.shape() != e.shape()) {
                std::fprintf(stderr, "output %zu: shape %s, reference %s\n", o, shape_to_string(a.shape()).c_str(),
                             shape_to_string(e.shape()).c_str());
                return 1;
            }
            for (int64_t i = 0; i < a.numel(); ++i) {
                max_diff = std::max(max_diff, std::fabs(a.element_as_double(i) - e.element_as_double(i)));
            }
        }
    }
    using clock = std::chrono::steady_clock;
    for (int i = 0; i < 5; ++i) {
        auto result = (*session)->run(inputs);
        if (!result.ok()) {
            std::fprintf(stderr, "%s\n", result.status().message().c_str());
            return 1;
        }
    }
    std::vector<double> times;
    const auto start = clock::now();
    while (times.size() < 10 || std::chrono::duration<double>(clock::now() - start).count() < seconds) {
        const auto t0 = clock::now();
        auto result = (*session)->run(inputs);
        times.push_back(std::chrono::duration<double, std::milli>(clock::now() - t0).count());
    }
    if (profile) {
        auto steps = (*session)->profile();
        double total = 0.0;
        for (const auto& step : steps) total += step.total_ms;
        std::sort(steps.begin(), steps.end(), [](const auto& a, const auto& b) { return a.total_ms > b.total_ms; });
        for (const auto& step : steps) {
            std::fprintf(stderr, "%6.2f%%  %-60s %s\n", 100.0 * step.total_ms / total, step.node.c_str(),
                         step.implementation.c_str());
        }
        // Runs = the warm-up and check runs too; their share is small enough for this summary.
        std::fprintf(stderr, "kernels: %.4f ms per run of %zu steps\n", total / static_cast<double>(times.size() + 5),
                     steps.size());
    }
    std::sort(times.begin(), times.end());
    const double median = times[times.size() / 2], best = times.front();
    std::string name = path.substr(path.find_last_of('/') + 1);
    name = name.substr(0, name.rfind(".onnx"));
    std::printf(
        "{\"engine\":\"pare%s\",\"model\":\"%s\",\"batch\":%lld,\"threads\":%d,\"median_ms\":%.4f,"
        "\"min_ms\":%.4f,\"samples_per_s\":%.1f,\"best_samples_per_s\":%.1f,\"runs\":%zu%s}\n",
        options.reference_only ? "-reference" : "", name.c_str(), static_cast<long long>(batch), options.threads,
        median, best, batch * 1000.0 / median, batch * 1000.0 / best, times.size(),
        check ? (",\"max_abs_diff\":" + std::to_string(max_diff)).c_str() : "");
    return 0;
}
