// pare quantize: a float model and calibration data (or a calibration table) in, a QDQ int8 model out, measured on
// evaluation data against the float model, layer by layer.
#include <algorithm>
#include <chrono>

#include "calibration/calibrate.h"
#include "common.h"
#include "core/file_io.h"
#include "core/log.h"
#include "graph/passes.h"
#include "onnx/shape_inference.h"
#include "quantize/qdq_rewriter.h"
#include "quantize_schemes.h"
#include "report/model_stats.h"

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

// The layer table: what each quantized layer got, and its output error against the float model on the evaluation
// data (cumulative: everything before it quantized too), worst first.
nlohmann::ordered_json layers_json(const std::vector<QuantizedLayer>& layers, const std::string& scheme,
                                   const nlohmann::ordered_json& errors) {
    nlohmann::ordered_json table = nlohmann::ordered_json::array();
    for (const auto& layer : layers) {
        nlohmann::ordered_json entry = {{"name", layer.node},
                                        {"op_type", layer.op_type},
                                        {"scheme", scheme},
                                        {"weight", layer.weight},
                                        {"weight_elements", layer.weight_elements},
                                        {"input", layer.input}};
        entry.update(layer_params_json(layer, scheme));
        entry["output"] = layer.output;
        entry["absorbed_activation"] = layer.absorbed_activation;
        // Measured where the quantized model carries the layer's result under its float name: the dequantized
        // output when it is quantized, else the layer's own output.
        const std::string measured = layer.output.empty() ? layer.node_output : layer.output;
        for (const auto& e : errors) {
            if (e["output"] == measured) entry["activation_error"] = e["activation_error"];
        }
        table.push_back(entry);
    }
    std::stable_sort(table.begin(), table.end(), [](const auto& a, const auto& b) {
        auto sqnr = [](const nlohmann::ordered_json& j) {
            if (!j.contains("activation_error") || !j["activation_error"]["sqnr_db"].is_number()) return 1e9;
            return j["activation_error"]["sqnr_db"].get<double>();
        };
        return sqnr(a) < sqnr(b);
    });
    return table;
}

void print_summary(const nlohmann::ordered_json& r, std::ostream& out) {
    out << "quantized " << r["inputs"]["model"]["path"].get<std::string>() << " -> "
        << r["output"]["path"].get<std::string>() << " (" << r["config"]["scheme"].get<std::string>() << ", "
        << r["quantization"]["layers"] << " layers)\n";
    const auto& size = r["size"];
    out << "size: " << with_commas(size["before_bytes"].get<int64_t>()) << " -> "
        << with_commas(size["after_bytes"].get<int64_t>()) << " bytes (" << format_number("%.2fx", size["ratio"].get<double>())
        << " smaller)\n";
    if (r.contains("accuracy") && r["accuracy"].contains("before")) {
        const auto& a = r["accuracy"];
        out << "top-1: " << format_number("%.2f%%", a["before"]["top1"].get<double>() * 100) << " -> "
            << format_number("%.2f%%", a["after"]["top1"].get<double>() * 100) << " (drop "
            << format_number("%.2f", a["top1_drop_points"].get<double>() + 0.0) << " points), agreement "
            << format_number("%.2f%%", a["agreement"].get<double>() * 100) << "\n";
    }
    if (r.contains("latency") && r["latency"].contains("before_ms")) {
        out << "latency per batch: " << format_number("%.3f", r["latency"]["before_ms"].get<double>()) << " ms -> "
            << format_number("%.3f", r["latency"]["after_ms"].get<double>()) << " ms\n";
    }
    out << "layers, most damaged first (output SQNR against the float model):\n";
    for (const auto& layer : r["layers"]) {
        std::string sqnr = "not measured";
        if (layer.contains("activation_error") && layer["activation_error"]["sqnr_db"].is_number()) {
            sqnr = format_number("%.2f dB", layer["activation_error"]["sqnr_db"].get<double>());
        }
        out << "  " << layer["name"].get<std::string>() << " (" << layer["op_type"].get<std::string>() << "): " << sqnr
            << "\n";
    }
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
                                      const LoadedModel& loaded, Model& model) {
    if (options.data.empty() == options.table.empty()) return usage_error("give exactly one of --data and --table");
    PARE_ASSIGN_OR_RETURN(RangeMethod method, parse_range_method(options.calibration));
    PARE_ASSIGN_OR_RETURN(SessionOptions session, session_options(global));
    PARE_ASSIGN_OR_RETURN(QdqSpec spec, qdq_spec(options, model));

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
        PARE_ASSIGN_OR_RETURN(Dataset dataset, Dataset::open(options.data, model.graph.input_names()));
        CalibrateConfig config;
        config.batch = options.batch;
        auto calibrated = calibrate(model, dataset, session, config);
        if (!calibrated.ok()) return calibrated.status().with_context("calibrating '" + options.model + "'");
        table = std::move(calibrated).value();
    }
    const double calibration_seconds = seconds_since(calibration_started);

    RangeOptions range_options;
    range_options.percentile = options.percentile;
    range_options.bits = dtype_bits(spec.activation_dtype);
    const RangeLookup lookup = [&](const std::string& tensor, Range& range) {
        auto r = table.range(tensor, method, range_options);
        if (!r.ok()) return false;
        range = spec.activation_symmetric ? r->symmetric : r->asymmetric;
        return true;
    };
    SchemeOutcome outcome;
    PARE_ASSIGN_OR_RETURN(outcome.layers, rewrite_to_qdq(model.graph, model.opset(), spec, lookup));
    if (!spec.qdq_domain.empty()) import_opset(model, spec.qdq_domain, 1);
    outcome.calibration_seconds = calibration_seconds;
    outcome.config = {{"scheme", options.scheme},
                      {"activations", options.activations},
                      {"activation_dtype", dtype_onnx_name(spec.activation_dtype)},
                      {"weights", options.weights},
                      {"weight_dtype", dtype_onnx_name(spec.weight_dtype)},
                      {"calibration", options.calibration},
                      {"percentile", options.percentile},
                      {"calibration_source", options.table.empty() ? options.data : options.table},
                      {"exclude", options.exclude},
                      {"format", "qdq"},
                      {"qdq_domain", spec.qdq_domain.empty() ? "ai.onnx" : spec.qdq_domain},
                      {"batch", options.batch},
                      {"seed", global.seed}};
    outcome.quantization = {{"layers", outcome.layers.size()}, {"calibration_samples", table.samples}};
    return outcome;
}

}  // namespace

Status run_quantize(const QuantizeOptions& options, const GlobalOptions& global) {
    const auto started = Clock::now();
    PARE_ASSIGN_OR_RETURN(const bool calibrated, scheme_needs_calibration(options.scheme));
    if (!options.labels.empty() && options.eval_data.empty()) return usage_error("--labels needs --eval-data");
    PARE_RETURN_IF_ERROR(check_output_paths({{"-o", options.output}, {"--report", global.report_path}},
                                            {options.model, options.data, options.table, options.eval_data, options.labels}));
    PARE_ASSIGN_OR_RETURN(LoadedModel loaded, load_runnable_model(options.model, global));
    Model model = loaded.model;
    simplify_for_compression(model.graph);
    PARE_ASSIGN_OR_RETURN(SchemeOutcome outcome, calibrated ? quantize_static(options, global, loaded, model)
                                                            : apply_calibration_free_scheme(options, global, model));
    if (outcome.layers.empty()) {
        return usage_error("nothing to quantize: every Conv/Gemm/MatMul is excluded or has no range");
    }
    PARE_RETURN_IF_ERROR(save_model(model, options.output));

    Report report("quantize", global.argv);
    // The accuracy is measured on the written file, against the float model, on the evaluation data.
    if (!options.eval_data.empty()) {
        EvalOptions eval;
        eval.model = options.output;
        eval.compare = options.model;
        eval.data = options.eval_data;
        eval.labels = options.labels;
        eval.batch = options.batch;
        eval.limit = options.limit;
        eval.per_layer = true;
        PARE_RETURN_IF_ERROR(evaluate_into_report(eval, global, report));
    }
    auto& json = report.json();
    // Errors by tensor name: intermediate tensors from the per-layer comparison, graph outputs from the outputs table.
    nlohmann::ordered_json measured_layers = json.contains("layers") ? json["layers"] : nlohmann::ordered_json::array();
    for (const auto& output : json.value("outputs", nlohmann::ordered_json::array())) {
        nlohmann::ordered_json error = output;
        error.erase("name");
        error.erase("reference_name");
        measured_layers.push_back({{"output", output["name"]}, {"activation_error", error}});
    }
    json.erase("layers");
    const ModelStats before = compute_model_stats(loaded.model, infer_value_types(loaded.model));
    report.set_input_model(loaded, before);
    PARE_ASSIGN_OR_RETURN(LoadedModel written, load_model(options.output));
    const ModelStats after = compute_model_stats(written.model, infer_value_types(written.model));
    json["inputs"].erase("reference");
    json["config"] = outcome.config;
    json["output"] = {{"path", options.output},
                      {"sha256", written.sha256},
                      {"bytes", written.file_bytes + written.external_bytes},
                      {"parameters", after.parameters},
                      {"nonzero_parameters", after.nonzero_parameters}};
    const double before_bytes = static_cast<double>(loaded.file_bytes + loaded.external_bytes);
    const double after_bytes = static_cast<double>(written.file_bytes + written.external_bytes);
    json["size"] = {{"before_bytes", before_bytes},
                    {"after_bytes", after_bytes},
                    {"ratio", before_bytes / after_bytes},
                    {"weight_bytes_before", before.constant_bytes},
                    {"weight_bytes_after", after.constant_bytes}};
    json["quantization"] = outcome.quantization;
    json["layers"] = layers_json(outcome.layers, options.scheme, measured_layers);
    report.set_timing("calibration", outcome.calibration_seconds);
    report.set_timing("total", seconds_since(started));
    return emit_report(report, global, false, [&](std::ostream& out) { print_summary(report.json(), out); });
}

}  // namespace pare
