// Empirical bias correction (Nagel et al. 2019; AIMET's empirical bias correction): quantizing the layers shifts the
// mean of each layer's output, per output channel, away from the float model's. Layer by layer in topological order,
// the quantized model (upstream layers already quantized and already corrected) runs on calibration data, and each
// layer's bias absorbs the difference of its output mean from the float model's: bias += E[y_float] - E[y_quantized].
// The upstream shift that reaches a layer through its quantized input is removed with its own.
#pragma once

#include <string>
#include <vector>

#include "data/dataset.h"
#include "exec/session.h"
#include "graph/graph.h"
#include "quantize/qdq_rewriter.h"

namespace pare {

/// One layer's mean output error per output channel (axis 1 of a Conv's output, the last axis of a Gemm's/MatMul's).
struct BiasShift {
    std::string layer;
    std::vector<double> mean_error;  // E[y_quantized - y_float]
};

struct BiasCorrectionResult {
    int corrected = 0;                 // layers whose bias absorbed their shift
    int added = 0;                     // of them, layers that had no bias and got one (Conv, Gemm)
    std::vector<std::string> skipped;  // layers whose bias is shared, not constant, or (MatMul) not a following Add
    int passes = 0;                    // passes of the quantized model over the data (one per level of layers)
    /// Root mean square over the corrected layers' channels of the mean output error E[y_q - y] they had when
    /// measured (upstream layers already corrected).
    double shift_rms = 0.0;
};

/// Subtracts each shift from its layer's float bias in `graph`: a Conv's B or a Gemm's C (divided by beta), added
/// when missing; for a MatMul, the constant of the Add that reads its output alone.
BiasCorrectionResult correct_biases(Graph& graph, const std::vector<BiasShift>& shifts);

/// Corrects the biases of `float_model` in place. `quantized` is rewrite_to_qdq's result on a copy of it and `layers`
/// what that returned. One pass of the float model measures every layer's output mean; then, per level of layers
/// (a layer's level counts the correctable layers on its longest path from the inputs, so one level's layers do not
/// feed each other), one pass of the quantized model, whose biases follow the corrections made so far, measures
/// theirs. Streaming: one sum per channel; the data is read in batches of `batch` (the model's own when it fixes one).
Result<BiasCorrectionResult> correct_biases_sequentially(Model& float_model, const Model& quantized,
                                                         const std::vector<QuantizedLayer>& layers, Dataset& dataset,
                                                         int64_t batch, const SessionOptions& options);

}  // namespace pare
