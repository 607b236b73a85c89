// The layer table and the human summary of `pare quantize`.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "onnx/model_io.h"
#include "quantize/local_error.h"
#include "quantize/qdq_rewriter.h"

namespace pare {

class Report;

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

/// How pare quantize measures the file it wrote (-o) against the float model (--eval-data, --labels and the data
/// flags), with the per-layer comparison on.
EvalOptions written_model_evaluation(const QuantizeOptions& options);

/// Takes the per-layer comparison evaluate_into_report left in `report.json()["layers"]` out of the report and
/// returns it with the outputs table appended, as errors by tensor name (entries {"output", "activation_error"}).
nlohmann::ordered_json take_measured_errors(Report& report);

/// Fills the report's inputs.model (the float model `loaded`, the compared reference dropped), output and size
/// sections for the quantized file written at `output_path`, and returns that file as loaded back.
Result<LoadedModel> report_written_model(Report& report, const LoadedModel& loaded, const std::string& output_path);

/// The human summary of a quantize report: size, accuracy, latency, and the layer table in the report's order.
void print_quantize_summary(const nlohmann::ordered_json& report, std::ostream& out);

}  // namespace pare
