// Empirical bias correction (Nagel et al. 2019; AIMET's empirical bias correction): quantizing the layers shifts the
// mean of each layer's output, per output channel, away from the float model's. Layer by layer in topological order,
// the quantized model (upstream layers already quantized and already corrected) runs on calibration data next to the
// float model, and each layer's bias absorbs the mean difference of its output from the float one:
// bias += E[y_float - y_quantized]. The upstream shift that reaches a layer through its quantized input is removed
// with its own. For a layer read by a Relu or Clip alone, the mean is taken where the float output lies inside the
// activation's bounds: elsewhere the activation clips the error away, and a dead or saturated region's error
// (which can be large: a ReLU6 network's channels are often mostly negative) would move the bias of the live one.
#pragma once

#include <map>
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
    /// measured (upstream layers already corrected; inside the bounds of a Relu/Clip after the layer).
    double shift_rms = 0.0;
    std::map<std::string, std::string> biases;  // corrected layer -> the bias initializer it now reads
};

/// Subtracts each shift from its layer's float bias in `graph`: a Conv's B or a Gemm's C (divided by beta), added
/// when missing; for a MatMul, the constant of the Add that reads its output alone.
BiasCorrectionResult correct_biases(Graph& graph, const std::vector<BiasShift>& shifts);

/// Corrects the biases of `float_model` in place. `quantized` is rewrite_to_qdq's result on a copy of it and `layers`
/// what that returned. Per level of layers (a layer's level counts the correctable layers on its longest path from
/// the inputs, so one level's layers do not feed each other), one pass runs the float model and the quantized model,
/// whose biases follow the corrections made so far, on the same batches, and sums each layer's error per channel.
/// Memory: one sum per channel and the float outputs of one level's layers for one batch; the data is read in
/// batches of `batch` (the model's own when it fixes one).
Result<BiasCorrectionResult> correct_biases_sequentially(Model& float_model, const Model& quantized,
                                                         const std::vector<QuantizedLayer>& layers, Dataset& dataset,
                                                         int64_t batch, const SessionOptions& options);

}  // namespace pare
