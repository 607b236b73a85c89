// Local error of quantized layers: each layer alone quantized, fed the float model's own input, against the float
// model's output of that layer. One graph holds the float model and, for every layer, a copy of that layer's
// quantized form exactly as the written model computes it (the input's QuantizeLinear -> DequantizeLinear, the
// dequantized weight and bias, the compute node, its output quantizer; a weight-only layer: its decoded weight beside
// the float input), so one pass over the data measures every layer, with memory bounded by one batch.
#pragma once

#include <string>
#include <vector>

#include "data/dataset.h"
#include "exec/session.h"
#include "quantize/qdq_rewriter.h"
#include "report/metrics.h"

namespace pare {

/// One layer's local output next to the float output it is compared with.
struct LocalProbe {
    std::string layer;      // node name of the quantized layer
    std::string reference;  // the float model's value
    std::string local;      // the quantized copy's value
    /// The layer's own output before any output quantizer or absorbed activation: the float model's value, and the
    /// quantized copy's (the compute node on dequantized inputs, weight and bias). Bias correction compares these.
    std::string node_reference;
    std::string node_local;
};

struct LocalErrorGraph {
    Model model;                         // the float model plus one quantized copy per probed layer
    std::vector<LocalProbe> probes;      // in layer order; a layer whose form could not be copied has none
    std::vector<LocalProbe> cumulative;  // with a whole copy of the quantized model: its value of each layer
};

/// Builds the graph. `float_model` is the model `quantized` was rewritten from (same value names); `layers` are what
/// rewrite_to_qdq returned. A layer whose quantized form is not the rewriter's pattern (edited by hand) is skipped.
/// With `cumulative`, the graph also holds a whole copy of `quantized` fed the same inputs, for the cumulative error
/// of a model written in a form whose layer outputs no longer carry the float names (QOperator).
LocalErrorGraph build_local_error_graph(const Model& float_model, const Model& quantized,
                                        const std::vector<QuantizedLayer>& layers, bool cumulative = false);

struct LayerErrors {
    std::vector<ErrorStats> local;       // per LocalErrorGraph::probes
    std::vector<ErrorStats> cumulative;  // per LocalErrorGraph::cumulative
};

/// Runs the graph over the dataset in batches of `batch` (the model's own when it fixes one) and returns the error of
/// every probe's value against its reference, in probe order. Streaming: nothing is kept across batches.
Result<LayerErrors> measure_local_errors(const LocalErrorGraph& graph, Dataset& dataset, int64_t batch,
                                         const SessionOptions& options);

}  // namespace pare
