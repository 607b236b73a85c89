// pare quantize --scheme int4|log|codebook|binary|ternary: weight-only quantization below 8 bits. No calibration:
// activations stay float, so the weights alone are encoded (quantize/weight_only_rewriter.h) and the written model is
// measured against the float model on the evaluation data.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <memory>
#include <optional>

#include "common.h"
#include "core/log.h"
#include "graph/passes.h"
#include "quantize/opset_upgrade.h"
#include "quantize/weight_only_rewriter.h"
#include "quantize_budget.h"
#include "quantize_report.h"
#include "quantize_schemes.h"
#include "weight_rounding.h"

namespace pare {

namespace {

using Clock = std::chrono::steady_clock;

Result<WeightOnlySpec> weight_only_spec(const QuantizeOptions& options, const Graph& graph) {
    static const std::map<std::string, WeightOnlyScheme> schemes = {{"int4", WeightOnlyScheme::kInt4},
                                                                    {"log", WeightOnlyScheme::kLog},
                                                                    {"codebook", WeightOnlyScheme::kCodebook},
                                                                    {"binary", WeightOnlyScheme::kBinary},
                                                                    {"ternary", WeightOnlyScheme::kTernary}};
    WeightOnlySpec spec;
    spec.scheme = schemes.at(options.scheme);
    spec.block_size = options.block_size;
    spec.bits = options.bits;
    spec.codebook = options.codebook == "per-channel"  ? CodebookTables::kPerChannel
                    : options.codebook == "per-tensor" ? CodebookTables::kPerTensor
                                                       : CodebookTables::kScaled;
    spec.matmulnbits = options.format == "matmulnbits";
    if (spec.scheme == WeightOnlyScheme::kInt4 && spec.block_size < 0) {
        return usage_error("--block-size must be 0 (per output channel) or positive");
    }
    if (spec.scheme == WeightOnlyScheme::kLog && (spec.bits < 3 || spec.bits > 8)) {
        return usage_error("--bits must be 3 to 8 for --scheme log");
    }
    if (spec.scheme == WeightOnlyScheme::kCodebook && (spec.bits < 2 || spec.bits > 8)) {
        return usage_error("--bits must be 2 to 8 for --scheme codebook");
    }
    if (options.format == "qoperator" || (spec.matmulnbits && spec.scheme != WeightOnlyScheme::kInt4)) {
        return usage_error("--format " + options.format + " does not apply to --scheme " + options.scheme +
                           (spec.matmulnbits ? " (matmulnbits is for int4)" : ""));
    }
    PARE_ASSIGN_OR_RETURN(spec.excluded_nodes, excluded_nodes(graph, options.exclude));
    return spec;
}

// Bits per stored weight code of the scheme.
int code_bits(const WeightOnlySpec& spec) {
    switch (spec.scheme) {
        case WeightOnlyScheme::kInt4:
            return 4;
        case WeightOnlyScheme::kBinary:
            return 1;
        case WeightOnlyScheme::kTernary:
            return 2;
        default:
            return spec.bits;
    }
}

// The precisions a layer can climb (quantize/budget_search.h): the scheme as asked (named with its bits where it has
// several), 8-bit weights unless the scheme already has 8, and float.
std::vector<std::string> weight_only_rungs(const QuantizeOptions& options, const WeightOnlySpec& spec) {
    const bool sized = spec.scheme == WeightOnlyScheme::kLog || spec.scheme == WeightOnlyScheme::kCodebook;
    std::vector<std::string> rungs = {options.scheme + (sized ? std::to_string(spec.bits) : "")};
    if (code_bits(spec) < 8) rungs.push_back("int8");
    rungs.push_back("float");
    return rungs;
}

// What the local-error measurement needs of a weight-only layer: the compute node and its output, which keeps its
// float name (no output quantizer).
QuantizedLayer as_quantized_layer(const WeightOnlyLayer& layer) {
    QuantizedLayer quantized;
    quantized.node = layer.node;
    quantized.op_type = layer.op_type;
    quantized.weight = layer.weight;
    quantized.weight_elements = layer.weight_elements;
    quantized.node_output = layer.output;
    return quantized;
}

// Raises `model`'s ai.onnx import to `encoded`'s and adds the other domains `encoded` imports (com.microsoft for
// MatMulNBits), as the rewrite did.
Status import_opsets_of(const Model& encoded, Model& model) {
    if (encoded.opset() > model.opset()) PARE_RETURN_IF_ERROR(raise_onnx_opset(model, encoded.opset()));
    for (const auto& import : encoded.header.opset_import()) {
        if (import.domain().empty() || model.opset(import.domain()) >= 0) continue;
        *model.header.add_opset_import() = import;
    }
    return Status();
}

// The layer table, each entry with its output's error against the float model when the evaluation measured it.
nlohmann::ordered_json layers_json(const std::vector<WeightOnlyLayer>& layers, const WeightOnlySpec& spec,
                                   const std::string& scheme, const nlohmann::ordered_json& measured) {
    nlohmann::ordered_json table = nlohmann::ordered_json::array();
    for (const auto& layer : layers) {
        nlohmann::ordered_json entry = {{"name", layer.node},
                                        {"op_type", layer.op_type},
                                        {"scheme", layer.int8 ? std::string("int8") : scheme},
                                        {"bits", layer.int8 ? 8 : code_bits(spec)},
                                        {"format", layer.matmulnbits ? "matmulnbits" : "weight-only"},
                                        {"weight", layer.weight},
                                        {"weight_elements", layer.weight_elements},
                                        {"bytes_before", layer.bytes_before},
                                        {"bytes_after", layer.bytes_after},
                                        {"weight_sqnr_db", json_number(std::isfinite(layer.weight_sqnr_db)
                                                                           ? std::optional<double>(layer.weight_sqnr_db)
                                                                           : std::nullopt)},
                                        {"output", layer.output}};
        if (layer.gptq) {
            entry["weight_rounding"] = "gptq";
            entry["output_error_rtn"] = layer.rtn_output_error;
            entry["output_error_gptq"] = layer.gptq_output_error;
        }
        for (const auto& m : measured) {
            if (m.value("output", "") == layer.output) entry["activation_error"] = m["activation_error"];
        }
        table.push_back(entry);
    }
    return table;
}

void print_summary(const nlohmann::ordered_json& r, std::ostream& out) {
    out << "quantized " << r["inputs"]["model"]["path"].get<std::string>() << " -> "
        << r["output"]["path"].get<std::string>() << " (" << r["config"]["scheme"].get<std::string>() << " weights, "
        << r["quantization"]["layers"] << " layers)\n";
    const auto& size = r["size"];
    out << "size: " << with_commas(size["before_bytes"].get<int64_t>()) << " -> "
        << with_commas(size["after_bytes"].get<int64_t>()) << " bytes ("
        << format_number("%.2fx", size["ratio"].get<double>()) << " smaller); weights "
        << with_commas(size["weight_bytes_before"].get<int64_t>()) << " -> "
        << with_commas(size["weight_bytes_after"].get<int64_t>()) << " bytes\n";
    if (r.contains("accuracy") && r["accuracy"].contains("before")) {
        const auto& a = r["accuracy"];
        out << "top-1: " << format_number("%.2f%%", a["before"]["top1"].get<double>() * 100) << " -> "
            << format_number("%.2f%%", a["after"]["top1"].get<double>() * 100) << " (drop "
            << format_number("%.2f", a["top1_drop_points"].get<double>() + 0.0) << " points), agreement "
            << format_number("%.2f%%", a["agreement"].get<double>() * 100) << "\n";
    }
}

}  // namespace

bool is_weight_only_scheme(const std::string& scheme) {
    return scheme == "int4" || scheme == "log" || scheme == "codebook" || scheme == "binary" || scheme == "ternary";
}

Status run_quantize_weight_only(const QuantizeOptions& options, const GlobalOptions& global) {
    const auto started = Clock::now();
    if ((!options.data.empty() && options.weight_rounding != "gptq") || !options.table.empty()) {
        return usage_error("--scheme " + options.scheme +
                           " quantizes weights only: it takes no --table, and --data only with --weight-rounding gptq");
    }
    if (!options.labels.empty() && options.eval_data.empty()) return usage_error("--labels needs --eval-data");
    PARE_RETURN_IF_ERROR(check_output_paths(
        {{"-o", options.output}, {"--report", global.report_path}, {"--emit-exclusions", options.emit_exclusions}},
        {options.model, options.data, options.eval_data, options.labels}));
    PARE_ASSIGN_OR_RETURN(LoadedModel loaded, load_runnable_model(options.model, global));
    Model float_model = loaded.model;
    simplify_for_compression(float_model.graph);
    PARE_ASSIGN_OR_RETURN(const WeightOnlySpec spec, weight_only_spec(options, float_model.graph));
    // Collected once: the budget's rewrites round their 4-bit and 8-bit layers with the same Hessians.
    PARE_ASSIGN_OR_RETURN(LayerHessians collected,
                          collect_gptq_hessians(options, global, float_model, spec.excluded_nodes));
    const auto hessians = std::make_shared<const LayerHessians>(std::move(collected));
    const int64_t opset_before = float_model.opset();

    SchemeOutcome scheme;
    scheme.rungs = weight_only_rungs(options, spec);
    const int float_rung = static_cast<int>(scheme.rungs.size()) - 1;
    scheme.requantize = [&float_model, spec, hessians, gptq = options.weight_rounding == "gptq",
                         float_rung](const RungAssignment& rungs) -> Result<Requantized> {
        WeightOnlySpec layer_spec = spec;
        if (gptq) layer_spec.hessians = hessians.get();
        for (const auto& [layer, rung] : rungs) {
            layer_spec.rungs[layer] = rung == float_rung ? WeightOnlyRung::kFloat
                                      : rung == 0        ? WeightOnlyRung::kScheme
                                                         : WeightOnlyRung::kInt8;
        }
        Requantized out{float_model, {}, {}};
        PARE_ASSIGN_OR_RETURN(out.weight_only, rewrite_weight_only(out.model, layer_spec));
        for (const WeightOnlyLayer& layer : out.weight_only) out.layers.push_back(as_quantized_layer(layer));
        return out;
    };
    PARE_ASSIGN_OR_RETURN(Requantized written, scheme.requantize({}));
    if (written.layers.empty()) {
        return usage_error("nothing to quantize: no Conv/Gemm/MatMul with a float weight is left");
    }
    const bool any_nbits = std::any_of(written.weight_only.begin(), written.weight_only.end(),
                                       [](const WeightOnlyLayer& layer) { return layer.matmulnbits; });
    if (spec.matmulnbits && !any_nbits) {
        log_warning(
            "--format matmulnbits: no layer has that form here (MatMul or Gemm with a rank-2 weight and a "
            "power-of-two --block-size >= 16); every layer is written as DequantizeLinear");
    }
    std::optional<BudgetOutcome> budget;
    if (budget_requested(options)) {
        // The budget's rewrites, its float reference and its local-error graph (float nodes beside copies of the
        // encoded layers) read the float model under the opsets the encoding needs (the rewrite from it is the same).
        PARE_RETURN_IF_ERROR(import_opsets_of(written.model, float_model));
        PARE_ASSIGN_OR_RETURN(SessionOptions session, session_options(global));
        PARE_ASSIGN_OR_RETURN(budget, run_accuracy_budget(options, global, session, float_model, scheme, written));
        written = budget->best;
    }
    PARE_RETURN_IF_ERROR(emit_exclusions(options, float_model.graph, budget ? &*budget : nullptr));
    const Model& model = written.model;
    const std::vector<WeightOnlyLayer>& layers = written.weight_only;
    PARE_RETURN_IF_ERROR(save_model(model, options.output));

    Report report("quantize", global.argv);
    if (!options.eval_data.empty()) {
        PARE_RETURN_IF_ERROR(evaluate_into_report(written_model_evaluation(options), global, report));
    }
    auto& json = report.json();
    const nlohmann::ordered_json measured = take_measured_errors(report);
    const bool int4 = spec.scheme == WeightOnlyScheme::kInt4;
    const bool per_block = int4 && spec.block_size > 0;
    int64_t nbits_layers = 0;
    for (const auto& layer : layers) nbits_layers += layer.matmulnbits ? 1 : 0;
    json["config"] = {
        {"scheme", options.scheme},
        {"weights", per_block ? "per-block"
                    : spec.scheme == WeightOnlyScheme::kCodebook && spec.codebook == CodebookTables::kPerTensor
                        ? "per-tensor"
                        : "per-channel"},
        {"weight_dtype", int4                   ? "int4"
                         : code_bits(spec) <= 4 ? "uint4"
                                                : "uint8"},
        {"activations", "float"},
        {"weight_rounding", options.weight_rounding},
        {"exclude", options.exclude},
        {"format", spec.matmulnbits ? "matmulnbits" : "weight-only"},
        {"opset_before", opset_before},
        {"opset_after", model.opset()},
        {"batch", options.batch},
        {"seed", global.seed}};
    if (int4) json["config"]["block_size"] = spec.block_size;
    if (spec.scheme == WeightOnlyScheme::kLog || spec.scheme == WeightOnlyScheme::kCodebook) {
        json["config"]["bits"] = spec.bits;
    }
    if (spec.scheme == WeightOnlyScheme::kCodebook) json["config"]["codebook"] = options.codebook;
    if (options.weight_rounding == "gptq") json["config"]["calibration_source"] = options.data;
    PARE_RETURN_IF_ERROR(report_written_model(report, loaded, options.output).status());
    int64_t layer_bytes_before = 0, layer_bytes_after = 0;
    for (const auto& layer : layers) {
        layer_bytes_before += layer.bytes_before;
        layer_bytes_after += layer.bytes_after;
    }
    json["quantization"] = {{"layers", layers.size()},
                            {"matmulnbits_layers", nbits_layers},
                            {"layer_weight_bytes_before", layer_bytes_before},
                            {"layer_weight_bytes_after", layer_bytes_after}};
    json["layers"] = layers_json(layers, spec, options.scheme, measured);
    if (budget) report.set_timing("budget_search", budget->json["search_s"].get<double>());
    report.set_timing("total", std::chrono::duration<double>(Clock::now() - started).count());
    report.set_peak_memory();
    if (budget) report_budget(*budget, report);
    PARE_RETURN_IF_ERROR(emit_report(report, global, false, [&](std::ostream& out) {
        print_summary(report.json(), out);
        print_budget_summary(report.json(), out);
    }));
    return budget_status(budget ? &*budget : nullptr);
}

}  // namespace pare
