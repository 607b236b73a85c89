#include "quantize_report.h"

#include <algorithm>
#include <limits>

#include "common.h"
#include "onnx/shape_inference.h"
#include "report/model_stats.h"
#include "report/report.h"

namespace pare {

namespace {

nlohmann::ordered_json params_json(const QuantParams& p) { return {{"scale", p.scale}, {"zero_point", p.zero_point}}; }

// The parameter fields of a layer-table entry for `scheme` (see quantize_layers_json).
nlohmann::ordered_json layer_params_json(const QuantizedLayer& layer, const std::string& scheme) {
    nlohmann::ordered_json entry = nlohmann::ordered_json::object();
    if (scheme == "fp16") {
        entry["weight_dtype"] = dtype_onnx_name(DType::kF16);
        return entry;
    }
    entry["input_params"] = scheme == "dynamic" ? nlohmann::ordered_json("dynamic") : params_json(layer.input_params);
    if (!layer.weight_params.empty()) {
        const auto [lo, hi] = std::minmax_element(layer.weight_params.begin(), layer.weight_params.end(),
                                                  [](const auto& a, const auto& b) { return a.scale < b.scale; });
        entry["weight_params"] = {{"dtype", dtype_onnx_name(DType::kI8)},
                                  {"channels", layer.weight_params.size()},
                                  {"scale_min", lo->scale},
                                  {"scale_max", hi->scale},
                                  {"zero_point", 0}};
    }
    return entry;
}

// SQNR of an error entry, or nullopt when absent or undefined.
std::optional<double> sqnr_of(const nlohmann::ordered_json& layer, const char* key) {
    if (!layer.contains(key) || !layer[key]["sqnr_db"].is_number()) return std::nullopt;
    return layer[key]["sqnr_db"].get<double>();
}

double damage_key(const nlohmann::ordered_json& layer) {
    if (auto local = sqnr_of(layer, "local_error")) return *local;
    if (auto cumulative = sqnr_of(layer, "activation_error")) return *cumulative;
    return std::numeric_limits<double>::infinity();
}

std::string db_cell(const nlohmann::ordered_json& layer, const char* key) {
    if (!layer.contains(key)) return "-";
    if (auto sqnr = sqnr_of(layer, key)) return format_number("%.2f", *sqnr);
    return "exact";
}

}  // namespace

nlohmann::ordered_json quantize_layers_json(const std::vector<QuantizedLayer>& layers, const std::string& scheme,
                                            const nlohmann::ordered_json& measured, const LocalErrorGraph& graph,
                                            const LayerErrors& errors) {
    // The error of `layer` among a probe list's, when measured.
    auto probed = [&](const std::vector<LocalProbe>& probes, const std::vector<ErrorStats>& stats,
                      const std::string& layer) -> const ErrorStats* {
        for (size_t p = 0; p < probes.size() && p < stats.size(); ++p) {
            if (probes[p].layer == layer && stats[p].elements()) return &stats[p];
        }
        return nullptr;
    };
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
        if (layer.weight_error.elements()) entry["weight_error"] = error_stats_json(layer.weight_error);
        if (layer.gptq) {
            entry["weight_rounding"] = "gptq";
            entry["output_error_rtn"] = layer.rtn_output_error;
            entry["output_error_gptq"] = layer.gptq_output_error;
        }
        // Measured where the quantized model carries the layer's result under its float name: the dequantized
        // output when it is quantized, else the layer's own output.
        const std::string value = layer.output.empty() ? layer.node_output : layer.output;
        if (const ErrorStats* cumulative = probed(graph.cumulative, errors.cumulative, layer.node)) {
            entry["activation_error"] = error_stats_json(*cumulative);
        } else {
            for (const auto& e : measured) {
                if (e["output"] == value) entry["activation_error"] = e["activation_error"];
            }
        }
        if (const ErrorStats* local = probed(graph.probes, errors.local, layer.node)) {
            entry["local_error"] = error_stats_json(*local);
        }
        table.push_back(entry);
    }
    std::stable_sort(table.begin(), table.end(),
                     [](const auto& a, const auto& b) { return damage_key(a) < damage_key(b); });
    return table;
}

EvalOptions written_model_evaluation(const QuantizeOptions& options) {
    EvalOptions eval;
    eval.model = options.output;
    eval.compare = options.model;
    eval.data = options.eval_data;
    eval.labels = options.labels;
    eval.batch = options.batch;
    eval.limit = options.limit;
    eval.data_options = options.data_options;
    eval.per_layer = true;
    return eval;
}

nlohmann::ordered_json take_measured_errors(Report& report) {
    auto& json = report.json();
    // Intermediate tensors from the per-layer comparison, graph outputs from the outputs table.
    nlohmann::ordered_json measured = json.contains("layers") ? json["layers"] : nlohmann::ordered_json::array();
    for (const auto& output : json.value("outputs", nlohmann::ordered_json::array())) {
        nlohmann::ordered_json error = output;
        error.erase("name");
        error.erase("reference_name");
        measured.push_back({{"output", output["name"]}, {"activation_error", error}});
    }
    json.erase("layers");
    return measured;
}

Result<LoadedModel> report_written_model(Report& report, const LoadedModel& loaded, const std::string& output_path) {
    const ModelStats before = compute_model_stats(loaded.model, infer_value_types(loaded.model));
    report.set_input_model(loaded, before);
    PARE_ASSIGN_OR_RETURN(LoadedModel written, load_model(output_path));
    const ModelStats after = compute_model_stats(written.model, infer_value_types(written.model));
    auto& json = report.json();
    json["inputs"].erase("reference");
    const int64_t before_bytes = loaded.file_bytes + loaded.external_bytes;
    const int64_t after_bytes = written.file_bytes + written.external_bytes;
    json["output"] = {{"path", output_path},
                      {"sha256", written.sha256},
                      {"bytes", after_bytes},
                      {"parameters", after.parameters},
                      {"nonzero_parameters", after.nonzero_parameters}};
    json["size"] = {{"before_bytes", before_bytes},
                    {"after_bytes", after_bytes},
                    {"ratio", static_cast<double>(before_bytes) / static_cast<double>(after_bytes)},
                    {"weight_bytes_before", before.constant_bytes},
                    {"weight_bytes_after", after.constant_bytes}};
    return written;
}

void print_quantize_summary(const nlohmann::ordered_json& r, std::ostream& out) {
    out << "quantized " << r["inputs"]["model"]["path"].get<std::string>() << " -> "
        << r["output"]["path"].get<std::string>() << " (" << r["config"]["scheme"].get<std::string>() << ", "
        << r["config"]["format"].get<std::string>() << ", " << r["quantization"]["layers"] << " layers)\n";
    const auto& size = r["size"];
    out << "size: " << with_commas(size["before_bytes"].get<int64_t>()) << " -> "
        << with_commas(size["after_bytes"].get<int64_t>()) << " bytes ("
        << format_number("%.2fx", size["ratio"].get<double>()) << " smaller)\n";
    if (r.contains("accuracy") && r["accuracy"].contains("before")) {
        const auto& a = r["accuracy"];
        out << "top-1: " << format_number("%.2f%%", a["before"]["top1"].get<double>() * 100) << " -> "
            << format_number("%.2f%%", a["after"]["top1"].get<double>() * 100) << " (drop "
            << format_number("%.2f", a["top1_drop_points"].get<double>() + 0.0) << " points), agreement "
            << format_number("%.2f%%", a["agreement"].get<double>() * 100) << "\n";
    }
    if (r.contains("accuracy") && r["accuracy"].contains("output_sqnr_db")) {
        const auto& sqnr = r["accuracy"]["output_sqnr_db"];
        out << "output SQNR: " << (sqnr.is_number() ? format_number("%.2f dB", sqnr.get<double>()) : "exact") << "\n";
    }
    if (r.contains("latency") && r["latency"].contains("before_ms")) {
        const auto& latency = r["latency"];
        out << "latency per batch of " << latency["batch"] << " (median of " << latency["runs"]
            << " runs): " << format_number("%.3f", latency["before_ms"].get<double>()) << " ms float -> "
            << format_number("%.3f", latency["after_ms"].get<double>()) << " ms quantized ("
            << format_number("%.2fx", latency["before_ms"].get<double>() / latency["after_ms"].get<double>())
            << " as fast)\n";
    }
    if (r.contains("timing")) {
        out << "time:";
        for (const char* phase : {"calibration", "rewrite", "evaluation", "total"}) {
            const std::string key = std::string(phase) + "_s";
            if (r["timing"].contains(key))
                out << " " << phase << " " << format_number("%.2f s", r["timing"][key].get<double>());
        }
        out << "\n";
    }
    size_t width = 5;
    for (const auto& layer : r["layers"]) width = std::max(width, layer["name"].get<std::string>().size());
    out << "layers, most damaged first (SQNR in dB against the float model; local: the layer alone quantized on\n"
           "float inputs, cumulative: every layer up to it quantized, weight: the dequantized weight):\n";
    auto row = [&](const std::string& name, const std::string& op, const std::string& local,
                   const std::string& cumulative, const std::string& weight) {
        std::string line = "  " + name + std::string(width - name.size() + 2, ' ');
        line += op + std::string(op.size() < 14 ? 14 - op.size() : 1, ' ');
        for (const std::string* cell : {&local, &cumulative, &weight}) {
            line += std::string(cell->size() < 11 ? 11 - cell->size() : 1, ' ') + *cell;
        }
        out << line << "\n";
    };
    row("layer", "op", "local", "cumulative", "weight");
    for (const auto& layer : r["layers"]) {
        row(layer["name"].get<std::string>(), layer["op_type"].get<std::string>(), db_cell(layer, "local_error"),
            db_cell(layer, "activation_error"), db_cell(layer, "weight_error"));
    }
}

}  // namespace pare
