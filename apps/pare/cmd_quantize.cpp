// pare quantize: a float model and calibration data (or a calibration table) in, a QDQ int8 model out, measured on
// evaluation data against the float model, layer by layer.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <optional>

#include "calibration/calibrate.h"
#include "common.h"
#include "core/file_io.h"
#include "core/log.h"
#include "graph/passes.h"
#include "quantize/bias_correction.h"
#include "quantize/equalize.h"
#include "quantize/local_error.h"
#include "quantize/qdq_rewriter.h"
#include "quantize/qoperator_writer.h"
#include "quantize/smoothquant.h"
#include "quantize_budget.h"
#include "quantize_report.h"
#include "quantize_schemes.h"
#include "report/latency.h"
#include "weight_rounding.h"

namespace pare {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

Result<QdqSpec> qdq_spec(const QuantizeOptions& options, const Model& model) {
    QdqSpec spec;
    const int bits = options.scheme == "int16" ? 16 : options.activation_bits;
    if (options.activations == "u8") {
        spec.activation_dtype = bits == 16 ? DType::kU16 : DType::kU8;
    } else if (options.activations == "s8-symmetric") {
        spec.activation_dtype = bits == 16 ? DType::kI16 : DType::kI8;
        spec.activation_symmetric = true;
    } else {
        return usage_error("--activations must be u8 or s8-symmetric");
    }
    // ai.onnx QuantizeLinear takes 16-bit integers from opset 21; below, ONNX Runtime's contrib ops do.
    if (bits == 16 && model.opset() < 21) spec.qdq_domain = "com.microsoft";
    spec.weight_per_channel = options.weights == "per-channel";
    if (!spec.weight_per_channel && options.weights != "per-tensor") {
        return usage_error("--weights must be per-channel or per-tensor");
    }
    PARE_ASSIGN_OR_RETURN(spec.excluded_nodes, excluded_nodes(model.graph, options.exclude));
    return spec;
}

// Declares `domain` at `version` among the model's opset imports unless it is there already.
void import_opset(Model& model, const std::string& domain, int64_t version) {
    if (model.opset(domain) >= 0) return;
    auto* entry = model.header.add_opset_import();
    entry->set_domain(domain);
    entry->set_version(version);
}

// --equalize, --smoothquant or --bias-correction.
bool recovery_requested(const QuantizeOptions& options) {
    return options.equalize || !std::isnan(options.smoothquant) || options.bias_correction;
}

Result<CalibrationTable> calibrate_model(const Model& model, Dataset& dataset, const SessionOptions& session,
                                         const CalibrateConfig& config, const std::string& path) {
    auto calibrated = calibrate(model, dataset, session, config);
    if (!calibrated.ok()) return calibrated.status().with_context("calibrating '" + path + "'");
    return std::move(calibrated).value();
}

// The int8 and int16 schemes: activation statistics (after --equalize and --smoothquant have transformed the float
// model), then Q/DQ pairs (after --bias-correction has corrected the float biases).
Result<SchemeOutcome> quantize_static(const QuantizeOptions& options, const GlobalOptions& global,
                                      const LoadedModel& loaded, const SessionOptions& session, Model& model) {
    if (options.data.empty() == options.table.empty()) return usage_error("give exactly one of --data and --table");
    PARE_ASSIGN_OR_RETURN(RangeMethod method, parse_range_method(options.calibration));
    PARE_ASSIGN_OR_RETURN(QdqSpec spec, qdq_spec(options, model));
    if (options.format == "qoperator" && dtype_bits(spec.activation_dtype) != 8) {
        return unsupported("--format qoperator needs 8-bit activations (QLinearConv/QLinearMatMul take no others)");
    }

    const bool recovery = recovery_requested(options);
    if (recovery && options.data.empty()) {
        return usage_error("--equalize, --smoothquant and --bias-correction need --data (not a --table)");
    }
    SchemeOutcome outcome;
    nlohmann::ordered_json recovered;
    if (options.equalize) {
        const EqualizeResult equalized = equalize_cross_layer(model.graph);
        recovered["equalize"] = {{"pairs", equalized.pairs},
                                 {"relu6_bounded", equalized.bounded},
                                 {"iterations", equalized.iterations},
                                 {"last_deviation", equalized.deviation}};
        if (equalized.pairs == 0) log_info("--equalize: no Conv -> Conv pair to equalize in this model");
    }

    RangeOptions range_options;
    range_options.percentile = options.percentile;
    range_options.bits = dtype_bits(spec.activation_dtype);

    // Activation statistics: from a table made for this very model file, or from one pass over the data.
    CalibrationTable table;
    const auto calibration_started = Clock::now();
    if (!options.table.empty()) {
        PARE_ASSIGN_OR_RETURN(table, load_calibration_table(options.table));
        if (table.model_sha256 != loaded.sha256) {
            return invalid_input("calibration table '" + options.table + "' was made for another model (sha256 " +
                                 table.model_sha256.substr(0, 12) + "..., '" + options.model + "' is " +
                                 loaded.sha256.substr(0, 12) + "...)");
        }
    } else {
        PARE_ASSIGN_OR_RETURN(Dataset dataset, open_dataset(options.data, model.graph.input_names(),
                                                            options.data_options, options.samples, global));
        CalibrateConfig config;
        config.batch = options.batch;
        if (!std::isnan(options.smoothquant)) {
            // Per-channel maxima of the smoothable inputs first; the smoothed model is then calibrated anew.
            config.last_axis_channels = smoothable_activations(model.graph);
            PARE_ASSIGN_OR_RETURN(table, calibrate_model(model, dataset, session, config, options.model));
            ChannelMaxima maxima;
            for (const auto& name : config.last_axis_channels) {
                auto it = table.tensors.find(name);
                if (it == table.tensors.end()) continue;
                for (const MinMax& channel : it->second.channels()) {
                    maxima[name].push_back(std::max(std::fabs(channel.min), std::fabs(channel.max)));
                }
            }
            const SmoothQuantResult smoothed = smooth_quant(model.graph, options.smoothquant, maxima);
            recovered["smoothquant"] = {{"alpha", options.smoothquant},
                                        {"activations", smoothed.activations},
                                        {"layers", smoothed.layers},
                                        {"folded", smoothed.folded},
                                        {"mul_inserted", smoothed.inserted}};
            if (smoothed.layers == 0) log_info("--smoothquant: no MatMul/Gemm input to smooth in this model");
            config.last_axis_channels.clear();
        }
        PARE_ASSIGN_OR_RETURN(table, calibrate_model(model, dataset, session, config, options.model));
    }

    auto shared_table = std::make_shared<const CalibrationTable>(std::move(table));
    const RangeLookup lookup = [shared_table, method, range_options, spec](const std::string& tensor, Range& range) {
        auto r = shared_table->range(tensor, method, range_options);
        if (!r.ok()) return false;
        range = spec.activation_symmetric ? r->symmetric : r->asymmetric;
        return true;
    };
    // Shared: the budget's rewrites (outcome.requantize) outlive this function.
    PARE_ASSIGN_OR_RETURN(LayerHessians collected, collect_gptq_hessians(options, global, model, spec.excluded_nodes));
    const auto hessians = std::make_shared<const LayerHessians>(std::move(collected));
    if (options.weight_rounding == "gptq") spec.hessians = hessians.get();
    if (recovery) outcome.float_model = model;
    if (options.bias_correction) {
        PARE_ASSIGN_OR_RETURN(Dataset dataset, open_dataset(options.data, model.graph.input_names(),
                                                            options.data_options, options.samples, global));
        Model quantized = model;
        PARE_ASSIGN_OR_RETURN(const std::vector<QuantizedLayer> layers,
                              rewrite_to_qdq(quantized.graph, quantized.opset(), spec, lookup));
        PARE_ASSIGN_OR_RETURN(const BiasCorrectionResult corrected,
                              correct_biases_sequentially(model, quantized, layers, dataset, options.batch, session));
        recovered["bias_correction"] = {{"layers", corrected.corrected},
                                        {"biases_added", corrected.added},
                                        {"skipped", corrected.skipped},
                                        {"passes", corrected.passes},
                                        {"mean_shift_rms", corrected.shift_rms}};
    }
    outcome.calibration_seconds = seconds_since(calibration_started);
    // Rung 1 of an 8-bit scheme: the layer's activations in 16 bits (its weights stay 8-bit); the last: float.
    const bool wide_rung = dtype_bits(spec.activation_dtype) == 8;
    outcome.rungs = {wide_rung ? "int8" : "int16"};
    if (wide_rung) outcome.rungs.push_back("int16");
    outcome.rungs.push_back("float");
    const DType wide = spec.activation_dtype == DType::kU8 ? DType::kU16 : DType::kI16;
    outcome.requantize = [float_model = model, spec, lookup, hessians, wide_rung,
                          wide](const RungAssignment& rungs) -> Result<Requantized> {
        Requantized out{float_model, {}, {}};
        QdqSpec layer_spec = spec;
        for (const auto& [layer, rung] : rungs) {
            if (wide_rung && rung == 1) layer_spec.activation_overrides[layer] = wide;
            if (rung == (wide_rung ? 2 : 1)) layer_spec.excluded_nodes.insert(layer);
        }
        PARE_ASSIGN_OR_RETURN(out.layers, rewrite_to_qdq(out.model.graph, out.model.opset(), layer_spec, lookup));
        for (const Node& node : out.model.graph.nodes) {
            if (!node.is_onnx_domain()) import_opset(out.model, node.proto.domain(), 1);
        }
        return out;
    };
    PARE_ASSIGN_OR_RETURN(Requantized rewritten, outcome.requantize({}));
    model = std::move(rewritten.model);
    outcome.layers = std::move(rewritten.layers);
    const int64_t samples = shared_table->samples;
    outcome.config = {{"scheme", options.scheme},
                      {"activations", options.activations},
                      {"activation_dtype", dtype_onnx_name(spec.activation_dtype)},
                      {"weights", options.weights},
                      {"weight_dtype", dtype_onnx_name(spec.weight_dtype)},
                      {"weight_rounding", options.weight_rounding},
                      {"calibration", options.calibration},
                      {"percentile", options.percentile},
                      {"calibration_source", options.table.empty() ? options.data : options.table},
                      {"exclude", options.exclude},
                      {"format", options.format},
                      {"qdq_domain", spec.qdq_domain.empty() ? std::string("ai.onnx") : spec.qdq_domain},
                      {"batch", options.batch},
                      {"seed", global.seed}};
    outcome.config["equalize"] = options.equalize;
    outcome.config["smoothquant"] =
        std::isnan(options.smoothquant) ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(options.smoothquant);
    outcome.config["bias_correction"] = options.bias_correction;
    outcome.quantization = {{"layers", outcome.layers.size()}, {"calibration_samples", samples}};
    for (auto& [key, value] : recovered.items()) outcome.quantization[key] = value;
    return outcome;
}

// Latency of the float and the written model on one batch of `data`, without the observers the per-layer comparison
// attaches (they keep the engine from fusing), their runs alternating. Null when the data has too few samples for a
// model with a fixed batch.
Result<nlohmann::ordered_json> latency_before_after(const Model& before, const Model& after, const std::string& data,
                                                    const QuantizeOptions& options, const GlobalOptions& global,
                                                    const SessionOptions& session) {
    ModelRunner float_runner(before, session, "'" + options.model + "'");
    ModelRunner quantized_runner(after, session, "'" + options.output + "'");
    PARE_ASSIGN_OR_RETURN(Dataset dataset,
                          open_dataset(data, float_runner.input_names(), options.data_options, 0, global));
    const int64_t batch =
        float_runner.fixed_batch() ? float_runner.fixed_batch() : std::min(options.batch, dataset.samples());
    if (batch > dataset.samples()) return nlohmann::ordered_json();
    PARE_ASSIGN_OR_RETURN(std::vector<Tensor> inputs, dataset.read(0, batch));
    constexpr int64_t kWarmup = 3, kRepeat = 20;
    return compare_latency(float_runner, quantized_runner, inputs, kWarmup, kRepeat);
}

}  // namespace

Status run_quantize(const QuantizeOptions& options, const GlobalOptions& global) {
    PARE_RETURN_IF_ERROR(check_weight_rounding(options));
    PARE_RETURN_IF_ERROR(check_budget_options(options));
    if (recovery_requested(options) && options.scheme != "int8" && options.scheme != "int16") {
        return usage_error("--equalize, --smoothquant and --bias-correction apply to the int8 and int16 schemes");
    }
    if (options.smoothquant < 0.0 || options.smoothquant > 1.0) {  // NaN (off) passes
        return usage_error("--smoothquant ALPHA must be in [0, 1], not " + std::to_string(options.smoothquant));
    }
    if (is_weight_only_scheme(options.scheme)) return run_quantize_weight_only(options, global);
    const auto started = Clock::now();
    PARE_ASSIGN_OR_RETURN(const bool calibrated, scheme_needs_calibration(options.scheme));
    if (!calibrated && options.format != "qdq") return usage_error("--format applies to the int8 and int16 schemes");
    if (options.format == "matmulnbits") return usage_error("--format matmulnbits applies to --scheme int4");
    if (!options.labels.empty() && options.eval_data.empty()) return usage_error("--labels needs --eval-data");
    PARE_RETURN_IF_ERROR(check_output_paths(
        {{"-o", options.output}, {"--report", global.report_path}, {"--emit-exclusions", options.emit_exclusions}},
        {options.model, options.data, options.table, options.eval_data, options.labels}));
    PARE_ASSIGN_OR_RETURN(SessionOptions session, session_options(global));
    PARE_ASSIGN_OR_RETURN(LoadedModel loaded, load_runnable_model(options.model, global));
    Model model = loaded.model;
    simplify_for_compression(model.graph);

    Model float_model = model;  // what the local error of each layer is measured against
    const auto rewrite_started = Clock::now();
    PARE_ASSIGN_OR_RETURN(SchemeOutcome outcome, calibrated ? quantize_static(options, global, loaded, session, model)
                                                            : apply_calibration_free_scheme(options, global, model));
    // A float model transformed before quantization (--equalize, --smoothquant) computes other intermediate values
    // than the file: the cumulative error of each layer is then measured against it, as for QOperator below. With
    // --bias-correction it is the model before the correction, so the errors show what the correction won.
    const bool transformed = outcome.float_model.has_value();
    if (transformed) float_model = std::move(*outcome.float_model);
    // The accuracy budget replaces the model by the best one its search finds.
    std::optional<BudgetOutcome> budget;
    if (budget_requested(options)) {
        PARE_ASSIGN_OR_RETURN(budget, run_accuracy_budget(options, global, session, float_model, outcome,
                                                          Requantized{model, outcome.layers, {}}));
        model = budget->best.model;
        outcome.layers = budget->best.layers;
        outcome.quantization["layers"] = outcome.layers.size();
    }
    PARE_RETURN_IF_ERROR(emit_exclusions(options, float_model.graph, budget ? &*budget : nullptr));
    const std::vector<QuantizedLayer>& layers = outcome.layers;
    // The budget may leave every layer in float: the float model is then the answer it found.
    if (layers.empty() && !budget) {
        return usage_error("nothing to quantize: every Conv/Gemm/MatMul is excluded or has no range");
    }
    // The local error of each layer is measured on the QDQ form, whose integer arithmetic the QOperator file shares.
    const Model qdq_model = model;
    const int qlinear_nodes = options.format == "qoperator" ? convert_qdq_to_qoperator(model.graph) : 0;
    if (options.format == "qoperator" && qlinear_nodes == 0) {
        log_warning("--format qoperator: no layer has a QOperator form here; the model keeps its QDQ form");
    }
    PARE_RETURN_IF_ERROR(save_model(model, options.output));
    const double budget_seconds = budget ? budget->json["search_s"].get<double>() : 0.0;
    const double rewrite_seconds = seconds_since(rewrite_started) - outcome.calibration_seconds - budget_seconds;

    Report report("quantize", global.argv);
    // The accuracy is measured on the written file, against the float model, on the evaluation data; then each
    // layer's local error, in one more pass.
    const auto evaluation_started = Clock::now();
    LocalErrorGraph local_graph;
    LayerErrors layer_errors;
    if (!options.eval_data.empty()) {
        EvalOptions eval = written_model_evaluation(options);
        eval.per_layer = options.format == "qdq" && !transformed;  // QOperator outputs lose their float names
        PARE_RETURN_IF_ERROR(evaluate_into_report(eval, global, report));
        // A QOperator file no longer carries the layers' outputs under their float names: the cumulative error
        // comes from a copy of the QDQ form in the same pass. Local errors need each layer's QDQ pattern: the
        // static schemes only.
        if (calibrated) {
            local_graph =
                build_local_error_graph(float_model, qdq_model, layers, options.format == "qoperator" || transformed);
            PARE_ASSIGN_OR_RETURN(Dataset dataset, open_dataset(options.eval_data, float_model.graph.input_names(),
                                                                options.data_options, options.limit, global));
            PARE_ASSIGN_OR_RETURN(layer_errors, measure_local_errors(local_graph, dataset, options.batch, session));
        }
    }
    const double evaluation_seconds = seconds_since(evaluation_started);
    auto& json = report.json();
    const nlohmann::ordered_json measured_layers = take_measured_errors(report);
    json["config"] = outcome.config;
    PARE_ASSIGN_OR_RETURN(const LoadedModel written, report_written_model(report, loaded, options.output));
    json["quantization"] = outcome.quantization;
    if (options.format == "qoperator") json["quantization"]["qlinear_nodes"] = qlinear_nodes;
    json["layers"] = quantize_layers_json(layers, options.scheme, measured_layers, local_graph, layer_errors);
    const std::string timing_data = options.eval_data.empty() ? options.data : options.eval_data;
    if (!timing_data.empty()) {
        PARE_ASSIGN_OR_RETURN(nlohmann::ordered_json latency,
                              latency_before_after(loaded.model, written.model, timing_data, options, global, session));
        if (!latency.is_null()) json["latency"] = latency;
    }
    report.set_timing("calibration", outcome.calibration_seconds);
    report.set_timing("rewrite", rewrite_seconds);
    if (budget) report.set_timing("budget_search", budget_seconds);
    if (!options.eval_data.empty()) report.set_timing("evaluation", evaluation_seconds);
    report.set_timing("total", seconds_since(started));
    report.set_peak_memory();
    if (budget) report_budget(*budget, report);
    PARE_RETURN_IF_ERROR(emit_report(report, global, false, [&](std::ostream& out) {
        print_quantize_summary(report.json(), out);
        print_budget_summary(report.json(), out);
    }));
    return budget_status(budget ? &*budget : nullptr);
}

}  // namespace pare
