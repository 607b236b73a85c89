// pare quantize: a float model and calibration data (or a calibration table) in, a QDQ int8 model out, measured on
// evaluation data against the float model, layer by layer.
#include <algorithm>
#include <chrono>

#include "calibration/calibrate.h"
#include "common.h"
#include "core/file_io.h"
#include "core/log.h"
#include "graph/passes.h"
#include "quantize/local_error.h"
#include "quantize/qdq_rewriter.h"
#include "quantize/qoperator_writer.h"
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

// The int8 and int16 schemes: activation statistics, then Q/DQ pairs.
Result<SchemeOutcome> quantize_static(const QuantizeOptions& options, const GlobalOptions& global,
                                      const LoadedModel& loaded, const SessionOptions& session, Model& model) {
    if (options.data.empty() == options.table.empty()) return usage_error("give exactly one of --data and --table");
    PARE_ASSIGN_OR_RETURN(RangeMethod method, parse_range_method(options.calibration));
    PARE_ASSIGN_OR_RETURN(QdqSpec spec, qdq_spec(options, model));
    if (options.format == "qoperator" && dtype_bits(spec.activation_dtype) != 8) {
        return unsupported("--format qoperator needs 8-bit activations (QLinearConv/QLinearMatMul take no others)");
    }

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
        auto calibrated = calibrate(model, dataset, session, config);
        if (!calibrated.ok()) return calibrated.status().with_context("calibrating '" + options.model + "'");
        table = std::move(calibrated).value();
    }

    RangeOptions range_options;
    range_options.percentile = options.percentile;
    range_options.bits = dtype_bits(spec.activation_dtype);
    const RangeLookup lookup = [&](const std::string& tensor, Range& range) {
        auto r = table.range(tensor, method, range_options);
        if (!r.ok()) return false;
        range = spec.activation_symmetric ? r->symmetric : r->asymmetric;
        return true;
    };
    PARE_ASSIGN_OR_RETURN(const LayerHessians hessians,
                          collect_gptq_hessians(options, global, model, spec.excluded_nodes));
    if (options.weight_rounding == "gptq") spec.hessians = &hessians;
    SchemeOutcome outcome;
    outcome.calibration_seconds = seconds_since(calibration_started);
    PARE_ASSIGN_OR_RETURN(outcome.layers, rewrite_to_qdq(model.graph, model.opset(), spec, lookup));
    if (!spec.qdq_domain.empty()) import_opset(model, spec.qdq_domain, 1);
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
    outcome.quantization = {{"layers", outcome.layers.size()}, {"calibration_samples", table.samples}};
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
    if (is_weight_only_scheme(options.scheme)) return run_quantize_weight_only(options, global);
    const auto started = Clock::now();
    PARE_ASSIGN_OR_RETURN(const bool calibrated, scheme_needs_calibration(options.scheme));
    if (!calibrated && options.format != "qdq") return usage_error("--format applies to the int8 and int16 schemes");
    if (options.format == "matmulnbits") return usage_error("--format matmulnbits applies to --scheme int4");
    if (!options.labels.empty() && options.eval_data.empty()) return usage_error("--labels needs --eval-data");
    PARE_RETURN_IF_ERROR(
        check_output_paths({{"-o", options.output}, {"--report", global.report_path}},
                           {options.model, options.data, options.table, options.eval_data, options.labels}));
    PARE_ASSIGN_OR_RETURN(SessionOptions session, session_options(global));
    PARE_ASSIGN_OR_RETURN(LoadedModel loaded, load_runnable_model(options.model, global));
    Model model = loaded.model;
    simplify_for_compression(model.graph);

    const Model float_model = model;  // what the local error of each layer is measured against
    const auto rewrite_started = Clock::now();
    PARE_ASSIGN_OR_RETURN(SchemeOutcome outcome, calibrated ? quantize_static(options, global, loaded, session, model)
                                                            : apply_calibration_free_scheme(options, global, model));
    const std::vector<QuantizedLayer>& layers = outcome.layers;
    if (layers.empty()) return usage_error("nothing to quantize: every Conv/Gemm/MatMul is excluded or has no range");
    // The local error of each layer is measured on the QDQ form, whose integer arithmetic the QOperator file shares.
    const Model qdq_model = model;
    const int qlinear_nodes = options.format == "qoperator" ? convert_qdq_to_qoperator(model.graph) : 0;
    if (options.format == "qoperator" && qlinear_nodes == 0) {
        log_warning("--format qoperator: no layer has a QOperator form here; the model keeps its QDQ form");
    }
    PARE_RETURN_IF_ERROR(save_model(model, options.output));
    const double rewrite_seconds = seconds_since(rewrite_started) - outcome.calibration_seconds;

    Report report("quantize", global.argv);
    // The accuracy is measured on the written file, against the float model, on the evaluation data; then each
    // layer's local error, in one more pass.
    const auto evaluation_started = Clock::now();
    LocalErrorGraph local_graph;
    LayerErrors layer_errors;
    if (!options.eval_data.empty()) {
        EvalOptions eval;
        eval.model = options.output;
        eval.compare = options.model;
        eval.data = options.eval_data;
        eval.labels = options.labels;
        eval.batch = options.batch;
        eval.limit = options.limit;
        eval.data_options = options.data_options;
        eval.per_layer = options.format == "qdq";  // QOperator outputs lose their float names: see below
        PARE_RETURN_IF_ERROR(evaluate_into_report(eval, global, report));
        // A QOperator file no longer carries the layers' outputs under their float names: the cumulative error
        // comes from a copy of the QDQ form in the same pass. Local errors need each layer's QDQ pattern: the
        // static schemes only.
        if (calibrated) {
            local_graph = build_local_error_graph(float_model, qdq_model, layers, options.format == "qoperator");
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
    if (!options.eval_data.empty()) report.set_timing("evaluation", evaluation_seconds);
    report.set_timing("total", seconds_since(started));
    report.set_peak_memory();
    return emit_report(report, global, false, [&](std::ostream& out) { print_quantize_summary(report.json(), out); });
}

}  // namespace pare
