#include "quantize_schemes.h"

#include <regex>

#include "core/log.h"
#include "onnx/shape_inference.h"
#include "quantize/dynamic_rewriter.h"
#include "quantize/fp16_converter.h"

namespace pare {

namespace {

Result<SchemeOutcome> apply_dynamic(const QuantizeOptions& options, Model& model) {
    DynamicSpec spec;
    spec.weight_per_channel = options.weights == "per-channel";
    if (!spec.weight_per_channel && options.weights != "per-tensor") {
        return usage_error("--weights must be per-channel or per-tensor");
    }
    PARE_ASSIGN_OR_RETURN(spec.excluded_nodes, excluded_nodes(model.graph, options.exclude));
    SchemeOutcome outcome;
    PARE_ASSIGN_OR_RETURN(outcome.layers, rewrite_to_dynamic(model.graph, model.opset(), spec));
    outcome.config = {{"scheme", "dynamic"},
                      {"activations", "u8"},
                      {"activation_dtype", dtype_onnx_name(DType::kU8)},
                      {"activation_params", "dynamic"},
                      {"weights", options.weights},
                      {"weight_dtype", dtype_onnx_name(DType::kI8)},
                      {"exclude", options.exclude},
                      {"format", "integer-ops"}};
    outcome.quantization = {{"layers", outcome.layers.size()}, {"calibration_samples", 0}};
    return outcome;
}

Result<SchemeOutcome> apply_fp16(const QuantizeOptions& options, Model& model) {
    Fp16Spec spec;
    for (const auto& op : options.keep_fp32) spec.keep_fp32_ops.insert(op);
    PARE_ASSIGN_OR_RETURN(spec.excluded_nodes, excluded_nodes(model.graph, options.exclude));
    PARE_ASSIGN_OR_RETURN(Fp16Conversion conversion, convert_to_fp16(model.graph, infer_value_types(model), spec));
    SchemeOutcome outcome;
    outcome.layers = std::move(conversion.layers);
    outcome.config = {{"scheme", "fp16"},
                      {"activation_dtype", dtype_onnx_name(DType::kF16)},
                      {"weight_dtype", dtype_onnx_name(DType::kF16)},
                      {"keep_fp32", std::vector<std::string>(spec.keep_fp32_ops.begin(), spec.keep_fp32_ops.end())},
                      {"exclude", options.exclude},
                      {"format", "float16"}};
    outcome.quantization = {{"layers", outcome.layers.size()},
                            {"nodes_fp16", conversion.nodes_fp16},
                            {"nodes_fp32", conversion.nodes_fp32},
                            {"casts", conversion.casts},
                            {"clamped_values", conversion.clamped_values}};
    return outcome;
}

}  // namespace

Result<bool> scheme_needs_calibration(const std::string& scheme) {
    if (scheme == "int8" || scheme == "int16") return true;
    if (scheme == "dynamic" || scheme == "fp16") return false;
    return usage_error("--scheme must be int8, int16, dynamic or fp16 (got '" + scheme + "')");
}

Result<std::set<std::string>> excluded_nodes(const Graph& graph, const std::vector<std::string>& patterns) {
    std::set<std::string> excluded;
    for (const auto& pattern : patterns) {
        std::regex expression;
        try {
            expression = std::regex(pattern);
        } catch (const std::regex_error&) {
            return usage_error("--exclude '" + pattern + "' is not a node name, an op type or a regular expression");
        }
        bool matched = false;
        for (const Node& node : graph.nodes) {
            if (node.name() == pattern || node.op_type() == pattern || std::regex_match(node.name(), expression)) {
                excluded.insert(node.name());
                matched = true;
            }
        }
        if (!matched) log_warning("--exclude '" + pattern + "' matches no node");
    }
    return excluded;
}

Result<SchemeOutcome> apply_calibration_free_scheme(const QuantizeOptions& options, const GlobalOptions& global,
                                                    Model& model) {
    if (!options.data.empty() || !options.table.empty()) {
        return usage_error("--scheme " + options.scheme + " uses no calibration data: drop --data/--table");
    }
    PARE_ASSIGN_OR_RETURN(SchemeOutcome outcome,
                          options.scheme == "fp16" ? apply_fp16(options, model) : apply_dynamic(options, model));
    outcome.config["batch"] = options.batch;
    outcome.config["seed"] = global.seed;
    return outcome;
}

}  // namespace pare
