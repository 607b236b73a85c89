// pare bench: latency and throughput of a model on the engine, with seeded random inputs or the first batch of a
// dataset.
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <random>

#include "common.h"
#include "core/progress.h"
#include "data/dataset.h"
#include "onnx/shape_inference.h"
#include "report/latency.h"
#include "report/metrics.h"
#include "report/model_runner.h"
#include "report/model_stats.h"

namespace pare {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

// "name=1x3x224x224" -> (name, shape).
Result<std::pair<std::string, Shape>> parse_shape_flag(const std::string& text) {
    const size_t equals = text.rfind('=');
    const std::string bad = "--shape '" + text + "' is not NAME=D1xD2x...";
    if (equals == std::string::npos || equals == 0 || equals + 1 == text.size()) return usage_error(bad);
    Shape shape;
    size_t pos = equals + 1;
    while (pos <= text.size()) {
        const size_t end = std::min(text.find('x', pos), text.size());
        const std::string dim = text.substr(pos, end - pos);
        if (dim.empty() || dim.size() > 12 || dim.find_first_not_of("0123456789") != std::string::npos) {
            return usage_error(bad);
        }
        shape.push_back(std::stoll(dim));
        pos = end + 1;
    }
    return std::make_pair(text.substr(0, equals), shape);
}

// Uniform values from a seeded generator: floats in [-1, 1), integers in [0, 10), booleans 0/1. Built from raw
// mt19937_64 output so the numbers do not depend on the standard library's distributions.
Tensor random_tensor(DType dtype, const Shape& shape, std::mt19937_64& rng) {
    Tensor values(DType::kF64, shape);
    double* dst = values.data<double>();
    for (int64_t i = 0; i < values.numel(); ++i) {
        const double unit = static_cast<double>(rng() >> 11) * 0x1.0p-53;
        if (dtype_is_float(dtype)) {
            dst[i] = unit * 2.0 - 1.0;
        } else if (dtype == DType::kBool) {
            dst[i] = unit < 0.5 ? 0.0 : 1.0;
        } else {
            dst[i] = static_cast<double>(static_cast<int>(unit * 10.0));
        }
    }
    return dtype == DType::kF64 ? values : values.cast(dtype);
}

// Input shapes: --shape wins; otherwise the declared shape with a dynamic dim 0 set to the batch.
Result<std::vector<Shape>> bench_shapes(const ModelRunner& runner, const std::map<std::string, Shape>& given,
                                        int64_t batch) {
    std::vector<Shape> shapes;
    for (size_t i = 0; i < runner.input_names().size(); ++i) {
        const std::string& name = runner.input_names()[i];
        auto found = given.find(name);
        if (found != given.end()) {
            shapes.push_back(found->second);
            continue;
        }
        const ValueType& type = runner.input_types()[i];
        if (!type.has_shape) {
            return usage_error("input '" + name + "' has no declared shape: give --shape " + name + "=...");
        }
        Shape shape = type.shape;
        if (!shape.empty() && shape[0] < 0) shape[0] = batch;
        for (size_t d = 0; d < shape.size(); ++d) {
            if (shape[d] < 0) {
                const std::string symbol = d < type.symbolic_dims.size() ? type.symbolic_dims[d] : "";
                return usage_error("input '" + name + "' has dynamic dimension " + std::to_string(d) +
                                   (symbol.empty() ? "" : " ('" + symbol + "')") + ": give --shape " + name + "=...");
            }
        }
        shapes.push_back(shape);
    }
    return shapes;
}

void print_summary(const nlohmann::ordered_json& r, std::ostream& out) {
    out << "model: " << r["inputs"]["model"]["path"].get<std::string>() << "\n";
    const auto& config = r["config"];
    for (const auto& input : config["inputs"]) {
        std::string shape;
        for (const auto& d : input["shape"]) shape += (shape.empty() ? "" : "x") + std::to_string(d.get<int64_t>());
        out << "input " << input["name"].get<std::string>() << ": " << input["dtype"].get<std::string>() << " " << shape
            << "\n";
    }
    out << "inputs from " << config["input_source"].get<std::string>()
        << (config["input_source"] == "random" ? " (seed " + std::to_string(config["seed"].get<uint64_t>()) + ")" : "")
        << "; " << config["threads"] << " threads, batch " << config["batch"] << ", " << config["warmup"]
        << " warm-up + " << config["repeat"] << " timed runs\n";
    const auto& latency = r["latency"];
    out << "latency: mean " << format_number("%.3f", latency["mean_ms"]) << " ms, p50 "
        << format_number("%.3f", latency["p50_ms"]) << " ms, p90 " << format_number("%.3f", latency["p90_ms"])
        << " ms (min " << format_number("%.3f", latency["min_ms"]) << ", max "
        << format_number("%.3f", latency["max_ms"]) << ")\n";
    out << "throughput: " << format_number("%.1f", latency["samples_per_s"]) << " samples/s\n";
}

}  // namespace

Status run_bench(const BenchOptions& options, const GlobalOptions& global) {
    const auto started = Clock::now();
    if (options.batch < 0 || options.warmup < 0 || options.repeat < 1) {
        return usage_error("--batch and --warmup must not be negative and --repeat must be at least 1");
    }
    if (!options.data.empty() && !options.shapes.empty()) return usage_error("--shape and --data cannot be combined");
    std::map<std::string, Shape> given;
    for (const auto& text : options.shapes) {
        PARE_ASSIGN_OR_RETURN(auto parsed, parse_shape_flag(text));
        given[parsed.first] = parsed.second;
    }
    PARE_RETURN_IF_ERROR(check_output_paths({{"--report", global.report_path}}, {options.model, options.data}));
    PARE_ASSIGN_OR_RETURN(SessionOptions session_opts, session_options(global));
    PARE_ASSIGN_OR_RETURN(LoadedModel loaded, load_runnable_model(options.model, global));
    const ModelStats stats = compute_model_stats(loaded.model, infer_value_types(loaded.model));
    ModelRunner runner(loaded.model, session_opts, "'" + options.model + "'");
    for (const auto& [name, shape] : given) {
        const auto& names = runner.input_names();
        if (std::find(names.begin(), names.end(), name) == names.end()) {
            return usage_error("--shape names '" + name + "', which is not an input of '" + options.model + "'");
        }
    }
    if (runner.fixed_batch() && options.batch && options.batch != runner.fixed_batch()) {
        return usage_error("'" + options.model + "' fixes its batch dimension to " +
                           std::to_string(runner.fixed_batch()) + "; --batch " + std::to_string(options.batch) +
                           " cannot be used with it");
    }
    int64_t batch = options.batch ? options.batch : runner.fixed_batch() ? runner.fixed_batch() : 1;
    const double load_seconds = seconds_since(started);

    std::vector<Tensor> inputs;
    std::optional<Dataset> dataset;
    if (!options.data.empty()) {
        PARE_ASSIGN_OR_RETURN(Dataset opened,
                              open_dataset(options.data, runner.input_names(), options.data_options, 0, global));
        dataset.emplace(std::move(opened));
        PARE_RETURN_IF_ERROR(dataset->check_against(runner.input_types()).with_context("'" + options.model + "'"));
        if (dataset->samples() < batch) {
            return invalid_input("data '" + options.data + "' has " + std::to_string(dataset->samples()) +
                                 " samples; a batch of " + std::to_string(batch) + " needs more");
        }
        dataset->set_limit(batch);
        PARE_ASSIGN_OR_RETURN(inputs, dataset->read(0, batch));
    } else {
        PARE_ASSIGN_OR_RETURN(std::vector<Shape> shapes, bench_shapes(runner, given, batch));
        std::mt19937_64 rng(global.seed);
        for (size_t i = 0; i < shapes.size(); ++i)
            inputs.push_back(random_tensor(runner.input_types()[i].dtype, shapes[i], rng));
    }
    std::vector<Shape> shapes;
    for (const Tensor& input : inputs) shapes.push_back(input.shape());
    if (!given.empty() && !inputs.empty() && inputs[0].rank() > 0) batch = inputs[0].dim(0);  // --shape decides
    PARE_ASSIGN_OR_RETURN(Session * session, runner.session_for(shapes));

    std::vector<double> times_ms;
    {
        Progress progress("bench", options.warmup + options.repeat);
        PARE_ASSIGN_OR_RETURN(times_ms, time_runs(*session, inputs, options.warmup, options.repeat,
                                                  [&progress] { progress.advance(1); }));
    }
    double run_seconds = 0;
    for (double ms : times_ms) run_seconds += ms / 1e3;
    const LatencySummary latency = summarize_latency(times_ms);

    Report report("bench", global.argv);
    report.set_input_model(loaded, stats);
    if (dataset) PARE_RETURN_IF_ERROR(report.set_input_data(*dataset));
    auto& json = report.json();
    nlohmann::ordered_json input_list = nlohmann::ordered_json::array();
    for (size_t i = 0; i < inputs.size(); ++i) {
        input_list.push_back({{"name", runner.input_names()[i]},
                              {"dtype", dtype_onnx_name(inputs[i].dtype())},
                              {"shape", inputs[i].shape()}});
    }
    json["config"] = {{"batch", batch},
                      {"warmup", options.warmup},
                      {"repeat", options.repeat},
                      {"device", global.device},
                      {"threads", omp_get_max_threads()},
                      {"seed", global.seed},
                      {"input_source", dataset ? "data" : "random"},
                      {"inputs", input_list}};
    report.set_timing("load", load_seconds);
    report.set_timing("compile", runner.compile_seconds());
    report.set_timing("run", run_seconds);
    report.set_timing("total", seconds_since(started));
    report.set_peak_memory();
    json["latency"] = {{"batch", batch}};
    json["latency"].update(latency_json(latency));
    json["latency"]["samples_per_s"] = latency.mean_ms > 0 ? batch * 1e3 / latency.mean_ms : 0.0;
    return emit_report(report, global, false, [&](std::ostream& out) { print_summary(report.json(), out); });
}

}  // namespace pare
