// The layer table and the human summary of `pare quantize`.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "quantize/local_error.h"
#include "quantize/qdq_rewriter.h"

namespace pare {

/// One entry per quantized layer, most damaged first: what the layer got (parameters, absorbed activation), its
/// weight error (float weight against the dequantized integers), its cumulative error (everything before the layer
/// quantized too: the graph's cumulative probes when it has them, else `measured`, entries {"output",
/// "activation_error"} of the per-layer comparison of the written model with the float model) and its local error
/// (the layer alone quantized on float inputs). Damage is the local SQNR, else the cumulative one: the first entry is
/// the layer that loses most by itself.
/// `scheme` sets the parameter fields: input_params (int8/int16: scale and zero point; dynamic: "dynamic"),
/// weight_params (integer schemes: dtype, channels, scale range) or weight_dtype (fp16).
nlohmann::ordered_json quantize_layers_json(const std::vector<QuantizedLayer>& layers, const std::string& scheme,
                                            const nlohmann::ordered_json& measured, const LocalErrorGraph& graph,
                                            const LayerErrors& errors);

/// The human summary of a quantize report: size, accuracy, latency, and the layer table in the report's order.
void print_quantize_summary(const nlohmann::ordered_json& report, std::ostream& out);

}  // namespace pare
