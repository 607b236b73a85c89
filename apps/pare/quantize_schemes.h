// The schemes of pare quantize that need no calibration (dynamic, fp16), and what every scheme shares: the scheme
// names and the nodes --exclude names.
#pragma once

#include <nlohmann/json.hpp>

#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "commands.h"
#include "graph/graph.h"
#include "quantize/budget_search.h"
#include "quantize/qdq_rewriter.h"
#include "quantize/weight_only_rewriter.h"

namespace pare {

/// A model rewritten from the float model, and its quantized layers.
struct Requantized {
    Model model;
    std::vector<QuantizedLayer> layers;        // weight-only schemes: node, op_type, weight, node_output (output "")
    std::vector<WeightOnlyLayer> weight_only;  // the weight-only schemes' own account of their layers
};

/// Rewrites the float model again with some layers at other precisions: layer -> index into SchemeOutcome::rungs
/// (layers not named stay at rung 0, the scheme as asked).
using Requantize = std::function<Result<Requantized>(const RungAssignment& rungs)>;

/// What a scheme did to the model: the layers it changed, and the report's config and quantization sections.
struct SchemeOutcome {
    std::vector<QuantizedLayer> layers;
    nlohmann::ordered_json config;
    nlohmann::ordered_json quantization;
    double calibration_seconds = 0.0;
    /// The precisions a layer can be moved up to, the scheme's own first (int8: "int8", "int16", "float"), and the
    /// rewrite that does it; empty for schemes that cannot vary per layer.
    std::vector<std::string> rungs;
    Requantize requantize;
    /// The float model the layers were rewritten from, when the scheme transformed it first (--equalize,
    /// --smoothquant): the reference of the per-layer errors.
    std::optional<Model> float_model;
};

/// True for the schemes that use activation statistics (int8, int16); false for dynamic and fp16. Unknown schemes
/// are a usage error.
Result<bool> scheme_needs_calibration(const std::string& scheme);

/// Node names matched by --exclude entries: a node name, an op type, or a regular expression over node names.
Result<std::set<std::string>> excluded_nodes(const Graph& graph, const std::vector<std::string>& patterns);

/// Rewrites `model` with a scheme that needs no calibration: dynamic (DynamicQuantizeLinear + MatMulInteger /
/// ConvInteger) or fp16 (float16 weights and activations, Casts at the borders).
Result<SchemeOutcome> apply_calibration_free_scheme(const QuantizeOptions& options, const GlobalOptions& global,
                                                    Model& model);

}  // namespace pare
