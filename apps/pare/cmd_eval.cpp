// pare eval: a model's accuracy on a dataset and, with --compare, how far its outputs (and with --per-layer its
// intermediate tensors) stray from a reference model's on the same data.
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <set>

#include "common.h"
#include "core/progress.h"
#include "data/dataset.h"
#include "data/npy.h"
#include "onnx/shape_inference.h"
#include "report/metrics.h"
#include "report/model_runner.h"
#include "report/model_stats.h"

namespace pare {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

/// A value both models compute under the same name, and its error so far.
struct LayerError {
    std::string node;
    std::string op_type;
    std::string value;
    ErrorStats error;
};

// Node outputs of the model's main graph that the reference's main graph also computes, in the model's node order.
// Graph outputs are left out: the outputs table covers them.
std::vector<LayerError> common_values(const Model& model, const Model& reference) {
    std::set<std::string> reference_values;
    for (const Node& node : reference.graph.nodes) {
        for (const auto& output : node.proto.output()) reference_values.insert(output);
    }
    const std::vector<std::string> outputs = model.graph.output_names();
    std::vector<LayerError> layers;
    for (const Node& node : model.graph.nodes) {
        for (const auto& output : node.proto.output()) {
            if (output.empty() || !reference_values.count(output)) continue;
            if (std::find(outputs.begin(), outputs.end(), output) != outputs.end()) continue;
            layers.push_back(LayerError{node.name(), node.op_type(), output, ErrorStats()});
        }
    }
    return layers;
}

/// Keeps copies of the observed tensors of one run.
struct Capture {
    std::map<std::string, Tensor> values;
    Observer observer() {
        return [this](const std::string& name, const Tensor& value) { values[name] = value.clone(); };
    }
};

/// One model being evaluated: its runner, its accuracy and its timings.
struct Evaluated {
    std::string path;
    LoadedModel loaded;
    ModelStats stats;
    std::unique_ptr<ModelRunner> runner;
    Capture capture;
    AccuracyCounter accuracy;
    std::vector<std::pair<int64_t, double>> batch_ms;  // (samples, milliseconds) per batch
    double run_seconds = 0;

    Result<std::vector<Tensor>> run(const std::vector<Tensor>& batch) {
        capture.values.clear();
        const auto start = Clock::now();
        PARE_ASSIGN_OR_RETURN(std::vector<Tensor> outputs, runner->run(batch));
        const double seconds = seconds_since(start);
        const int64_t rows = batch[0].dim(0);
        run_seconds += seconds;
        batch_ms.emplace_back(rows, seconds * 1e3);
        // A padded batch (fixed batch size): compare only the real samples' intermediate values.
        const int64_t padded = runner->fixed_batch();
        for (auto& [name, value] : capture.values) {
            if (padded <= rows || value.rank() == 0 || value.dim(0) != padded) continue;
            Shape shape = value.shape();
            shape[0] = rows;
            value = Tensor(value.dtype(), shape, value.buffer(), value.offset());
        }
        return outputs;
    }

    /// Latency over full batches (every batch when none is full).
    LatencySummary latency(int64_t batch) const {
        std::vector<double> full, all;
        for (const auto& [samples, ms] : batch_ms) {
            all.push_back(ms);
            if (samples == batch) full.push_back(ms);
        }
        return summarize_latency(full.empty() ? all : full);
    }
};

Result<std::unique_ptr<Evaluated>> load_evaluated(const std::string& path, const SessionOptions& options,
                                                  const GlobalOptions& global) {
    auto evaluated = std::make_unique<Evaluated>();
    evaluated->path = path;
    PARE_ASSIGN_OR_RETURN(evaluated->loaded, load_runnable_model(path, global));
    evaluated->stats = compute_model_stats(evaluated->loaded.model, infer_value_types(evaluated->loaded.model));
    evaluated->runner = std::make_unique<ModelRunner>(evaluated->loaded.model, options, "'" + path + "'");
    return evaluated;
}

Result<int64_t> choose_batch(int64_t requested, const Evaluated& model, const Evaluated* reference) {
    int64_t batch = requested;
    for (const Evaluated* e : {&model, reference}) {
        if (!e || !e->runner->fixed_batch()) continue;
        if (batch > 0 && batch != e->runner->fixed_batch()) {
            return usage_error("'" + e->path + "' fixes its batch dimension to " +
                               std::to_string(e->runner->fixed_batch()) + "; --batch " + std::to_string(batch) +
                               " cannot be used with it");
        }
        batch = e->runner->fixed_batch();
    }
    return batch > 0 ? batch : 32;
}

/// Everything compared between the model and the reference.
struct Comparison {
    AgreementCounter agreement;
    KlDivergence kl;
    std::vector<ErrorStats> outputs;
    std::vector<LayerError> layers;
};

struct EvalRun {
    int64_t batch = 0;
    int64_t samples = 0;
    bool scored = false;  // output 0 holds class scores
    std::vector<int64_t> predictions;
    std::optional<Comparison> comparison;
};

Status evaluate(Dataset& dataset, const std::vector<int64_t>& labels, Evaluated& model, Evaluated* reference,
                bool need_scores, EvalRun& run) {
    Progress progress("eval", dataset.samples());
    return dataset.for_each_batch(run.batch, [&](int64_t start, const std::vector<Tensor>& batch) -> Status {
        const int64_t count = batch[0].dim(0);
        PARE_ASSIGN_OR_RETURN(std::vector<Tensor> outputs, model.run(batch));
        const std::string what = "output '" + model.runner->output_names()[0] + "' of '" + model.path + "'";
        Result<ScoreRows> scores = score_rows(outputs[0], what);
        if (start == 0) {
            run.scored = scores.ok();
            if (!scores.ok() && need_scores) return scores.status();
        }
        if (run.scored) {
            PARE_RETURN_IF_ERROR(scores.status());
            const std::vector<int64_t> best = argmax_rows(*scores);
            run.predictions.insert(run.predictions.end(), best.begin(), best.end());
            if (!labels.empty()) PARE_RETURN_IF_ERROR(model.accuracy.add(*scores, labels.data() + start));
        }
        if (reference) {
            PARE_ASSIGN_OR_RETURN(std::vector<Tensor> expected, reference->run(batch));
            if (expected.size() != outputs.size()) {
                return invalid_input("'" + model.path + "' has " + std::to_string(outputs.size()) + " outputs but '" +
                                     reference->path + "' has " + std::to_string(expected.size()));
            }
            Comparison& comparison = *run.comparison;
            for (size_t o = 0; o < outputs.size(); ++o) {
                PARE_RETURN_IF_ERROR(comparison.outputs[o]
                                         .add(expected[o], outputs[o])
                                         .with_context("output " + std::to_string(o) + " of '" + model.path + "'"));
            }
            if (run.scored) {
                PARE_ASSIGN_OR_RETURN(ScoreRows expected_scores,
                                      score_rows(expected[0], "output 0 of '" + reference->path + "'"));
                PARE_RETURN_IF_ERROR(comparison.agreement.add(expected_scores, *scores));
                PARE_RETURN_IF_ERROR(comparison.kl.add(expected_scores, *scores));
                if (!labels.empty()) {
                    PARE_RETURN_IF_ERROR(reference->accuracy.add(expected_scores, labels.data() + start));
                }
            }
            for (LayerError& layer : comparison.layers) {
                auto mine = model.capture.values.find(layer.value);
                auto theirs = reference->capture.values.find(layer.value);
                if (mine == model.capture.values.end() || theirs == reference->capture.values.end()) continue;
                if (mine->second.shape() != theirs->second.shape()) continue;
                PARE_RETURN_IF_ERROR(layer.error.add(theirs->second, mine->second));
            }
        }
        run.samples += count;
        progress.advance(count);
        return Status();
    });
}

nlohmann::ordered_json top_json(const AccuracyCounter& accuracy) {
    return {{"top1", accuracy.top1()}, {"top5", accuracy.top5()}};
}

nlohmann::ordered_json latency_section(const Evaluated& model, const Evaluated* reference, int64_t batch,
                                       int64_t samples) {
    nlohmann::ordered_json latency;
    latency["batch"] = batch;
    const LatencySummary summary = model.latency(batch);
    latency.update(latency_json(summary));
    latency["samples_per_s"] = model.run_seconds > 0 ? samples / model.run_seconds : 0.0;
    if (reference) {
        const LatencySummary before = reference->latency(batch);
        latency["before_ms"] = before.mean_ms;
        latency["after_ms"] = summary.mean_ms;
        latency["reference"] = latency_json(before);
        latency["reference"]["samples_per_s"] = reference->run_seconds > 0 ? samples / reference->run_seconds : 0.0;
    }
    return latency;
}

std::string percent(double fraction) { return format_number("%.2f%%", fraction * 100.0); }

// A report number for the summary; null (NaN in the data) prints as "n/a".
std::string num(const char* format, const nlohmann::ordered_json& value) {
    return value.is_number() ? format_number(format, value.get<double>()) : "n/a";
}

std::string db_text(const nlohmann::ordered_json& value) {
    return value.is_null() ? "exact" : format_number("%.2f dB", value.get<double>());
}

void print_summary(const nlohmann::ordered_json& r, std::ostream& out) {
    const auto& data = r["inputs"]["data"];
    out << "model: " << r["inputs"]["model"]["path"].get<std::string>() << "\n";
    out << "data: " << data["path"].get<std::string>() << " (" << with_commas(data["samples"].get<int64_t>())
        << " samples, batch " << r["config"]["batch"] << ")\n";
    const auto& accuracy = r["accuracy"];
    if (accuracy.contains("top1")) {
        out << "accuracy: top-1 " << percent(accuracy["top1"]) << ", top-5 " << percent(accuracy["top5"]) << "\n";
    }
    if (r["inputs"].contains("reference")) {
        out << "reference: " << r["inputs"]["reference"]["path"].get<std::string>() << "\n";
        if (accuracy.contains("before")) {
            out << "accuracy: top-1 " << percent(accuracy["before"]["top1"]) << " -> "
                << percent(accuracy["after"]["top1"]) << " (drop "
                << format_number("%.2f", accuracy["top1_drop_points"].get<double>() + 0.0) << " points), top-5 "
                << percent(accuracy["before"]["top5"]) << " -> " << percent(accuracy["after"]["top5"]) << "\n";
        }
        if (accuracy.contains("agreement")) {
            out << "top-1 agreement with the reference: " << percent(accuracy["agreement"]) << ", KL "
                << num("%.3g", accuracy["kl_divergence"]) << "\n";
        }
        for (const auto& output : r["outputs"]) {
            out << "output " << output["name"].get<std::string>() << ": SQNR " << db_text(output["sqnr_db"])
                << ", cosine " << num("%.6f", output["cosine"]) << ", max abs error "
                << num("%.3g", output["max_abs_error"]) << "\n";
        }
        if (r.contains("layers") && !r["layers"].empty()) {
            out << "layers (SQNR against the reference):\n";
            for (const auto& layer : r["layers"]) {
                const auto& error = layer["activation_error"];
                out << "  " << layer["output"].get<std::string>() << " (" << layer["op_type"].get<std::string>()
                    << "): " << db_text(error["sqnr_db"]) << ", cosine " << num("%.6f", error["cosine"])
                    << ", max abs error " << num("%.3g", error["max_abs_error"]) << "\n";
            }
        }
    }
    const auto& latency = r["latency"];
    out << "latency per batch of " << latency["batch"] << ": mean " << num("%.3f", latency["mean_ms"]) << " ms, p50 "
        << num("%.3f", latency["p50_ms"]) << " ms, p90 " << num("%.3f", latency["p90_ms"]) << " ms; "
        << num("%.1f", latency["samples_per_s"]) << " samples/s\n";
    if (latency.contains("reference")) {
        out << "reference latency: mean " << num("%.3f", latency["reference"]["mean_ms"]) << " ms; "
            << num("%.1f", latency["reference"]["samples_per_s"]) << " samples/s\n";
    }
}

}  // namespace

Status evaluate_into_report(const EvalOptions& options, const GlobalOptions& global, Report& report) {
    const auto started = Clock::now();
    if (options.per_layer && options.compare.empty()) return usage_error("--per-layer needs --compare REF");
    if (options.batch < 0 || options.limit < 0) return usage_error("--batch and --limit must not be negative");
    PARE_RETURN_IF_ERROR(check_output_paths({{"--report", global.report_path}, {"--predictions", options.predictions}},
                                            {options.model, options.compare, options.data, options.labels}));
    PARE_ASSIGN_OR_RETURN(SessionOptions session, session_options(global));

    // Unsupported ops of either model fail here, before any data is read.
    PARE_ASSIGN_OR_RETURN(std::unique_ptr<Evaluated> model, load_evaluated(options.model, session, global));
    std::unique_ptr<Evaluated> reference;
    std::optional<Comparison> comparison;
    if (!options.compare.empty()) {
        PARE_ASSIGN_OR_RETURN(reference, load_evaluated(options.compare, session, global));
        comparison.emplace();
        if (options.per_layer) {
            comparison->layers = common_values(model->loaded.model, reference->loaded.model);
            SessionOptions observing = session;
            for (const auto& layer : comparison->layers) observing.observed.insert(layer.value);
            for (Evaluated* e : {model.get(), reference.get()}) {
                e->runner = std::make_unique<ModelRunner>(e->loaded.model, observing, "'" + e->path + "'");
                e->runner->set_observer(e->capture.observer());
            }
        }
    }
    const double load_seconds = seconds_since(started);

    PARE_ASSIGN_OR_RETURN(Dataset dataset, open_dataset(options.data, model->runner->input_names(),
                                                        options.data_options, options.limit, global));
    PARE_RETURN_IF_ERROR(dataset.check_against(model->runner->input_types()).with_context("'" + options.model + "'"));
    if (reference) {
        if (reference->runner->input_names().size() != model->runner->input_names().size()) {
            return invalid_input("'" + options.compare + "' has " +
                                 std::to_string(reference->runner->input_names().size()) + " inputs but '" +
                                 options.model + "' has " + std::to_string(model->runner->input_names().size()));
        }
        PARE_RETURN_IF_ERROR(
            dataset.check_against(reference->runner->input_types()).with_context("'" + options.compare + "'"));
    }
    if (dataset.samples() == 0) return invalid_input("data '" + options.data + "' holds no samples");
    PARE_ASSIGN_OR_RETURN(std::vector<int64_t> labels, dataset_labels(dataset, options.labels));

    EvalRun run;
    PARE_ASSIGN_OR_RETURN(run.batch, choose_batch(options.batch, *model, reference.get()));
    run.comparison = std::move(comparison);
    if (reference) run.comparison->outputs.resize(model->loaded.model.graph.output_names().size());
    const bool need_scores = !labels.empty() || !options.predictions.empty();
    PARE_RETURN_IF_ERROR(evaluate(dataset, labels, *model, reference.get(), need_scores, run));
    if (!options.predictions.empty()) {
        PARE_RETURN_IF_ERROR(write_npy(
            options.predictions, tensor_from_vector(run.predictions, {static_cast<int64_t>(run.predictions.size())})));
    }

    report.set_input_model(model->loaded, model->stats);
    if (reference) report.set_input_model(reference->loaded, reference->stats, "reference");
    PARE_RETURN_IF_ERROR(report.set_input_data(dataset));
    if (!options.labels.empty()) {
        PARE_RETURN_IF_ERROR(report.set_input_labels(options.labels, dataset.samples()));
    } else if (!labels.empty()) {
        report.json()["inputs"]["labels"] = {{"from", "the label column of " + options.data},
                                             {"samples", labels.size()}};
    }
    auto& json = report.json();
    json["config"] = {{"batch", run.batch},
                      {"limit", options.limit},
                      {"per_layer", options.per_layer},
                      {"device", global.device},
                      {"threads", omp_get_max_threads()},
                      {"seed", global.seed},
                      {"predictions", options.predictions.empty() ? nlohmann::ordered_json(nullptr)
                                                                  : nlohmann::ordered_json(options.predictions)}};
    nlohmann::ordered_json accuracy;
    accuracy["samples"] = run.samples;
    if (!labels.empty() && !reference) {
        accuracy["top1"] = model->accuracy.top1();
        accuracy["top5"] = model->accuracy.top5();
    }
    if (reference) {
        const Comparison& comparison = *run.comparison;
        if (!labels.empty()) {
            accuracy["before"] = top_json(reference->accuracy);
            accuracy["after"] = top_json(model->accuracy);
            accuracy["top1_drop_points"] = (reference->accuracy.top1() - model->accuracy.top1()) * 100.0;
        }
        if (run.scored) {
            accuracy["agreement"] = comparison.agreement.agreement();
            accuracy["kl_divergence"] = comparison.kl.mean();
        }
        accuracy["output_sqnr_db"] = json_number(comparison.outputs[0].sqnr_db());
        accuracy["output_cosine"] = comparison.outputs[0].cosine();
        json["accuracy"] = accuracy;
        nlohmann::ordered_json outputs = nlohmann::ordered_json::array();
        const auto& model_outputs = model->loaded.model.graph.output_names();
        const auto& reference_outputs = reference->loaded.model.graph.output_names();
        for (size_t o = 0; o < comparison.outputs.size(); ++o) {
            nlohmann::ordered_json output = {{"name", model_outputs[o]}, {"reference_name", reference_outputs[o]}};
            output.update(error_stats_json(comparison.outputs[o]));
            outputs.push_back(output);
        }
        json["outputs"] = outputs;
        if (options.per_layer) {
            nlohmann::ordered_json layers = nlohmann::ordered_json::array();
            for (const LayerError& layer : comparison.layers) {
                if (!layer.error.elements()) continue;  // folded into a constant, or shapes differ
                layers.push_back({{"name", layer.node},
                                  {"op_type", layer.op_type},
                                  {"output", layer.value},
                                  {"activation_error", error_stats_json(layer.error)}});
            }
            json["layers"] = layers;
        }
    } else {
        json["accuracy"] = accuracy;
    }
    report.set_timing("load", load_seconds);
    report.set_timing("compile",
                      model->runner->compile_seconds() + (reference ? reference->runner->compile_seconds() : 0));
    report.set_timing("run", model->run_seconds);
    if (reference) report.set_timing("reference_run", reference->run_seconds);
    report.set_timing("total", seconds_since(started));
    report.set_peak_memory();
    json["latency"] = latency_section(*model, reference.get(), run.batch, run.samples);
    return Status();
}

Status run_eval(const EvalOptions& options, const GlobalOptions& global) {
    Report report("eval", global.argv);
    PARE_RETURN_IF_ERROR(evaluate_into_report(options, global, report));
    return emit_report(report, global, false, [&](std::ostream& out) { print_summary(report.json(), out); });
}

}  // namespace pare
