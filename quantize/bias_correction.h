// Empirical bias correction (Nagel et al. 2019; Finkelstein et al. 2019): quantizing a layer's weight and input
// shifts the mean of its output, per output channel, by E[y_q - y]. That mean, measured on calibration data with
// each quantized layer fed the float model's own input, is subtracted from the float bias before the bias is
// quantized.
#pragma once

#include <string>
#include <vector>

#include "data/dataset.h"
#include "exec/session.h"
#include "graph/graph.h"
#include "quantize/local_error.h"

namespace pare {

/// One layer's mean output error per output channel (axis 1 of a Conv's output, the last axis of a Gemm's/MatMul's).
struct BiasShift {
    std::string layer;
    std::vector<double> mean_error;  // E[y_quantized - y_float]
};

/// Runs the local error graph over the dataset in batches of `batch` and returns, for every probe whose layer is a
/// Conv, ConvTranspose, Gemm or MatMul, the mean difference of its quantized copy's own output (before the output
/// quantizer) from the float one, per output channel. Streaming: one sum per channel.
Result<std::vector<BiasShift>> measure_bias_shifts(const LocalErrorGraph& graph, Dataset& dataset, int64_t batch,
                                                   const SessionOptions& options);

struct BiasCorrectionResult {
    int corrected = 0;                 // layers whose bias absorbed their shift
    int added = 0;                     // of them, layers that had no bias and got one (Conv, Gemm)
    std::vector<std::string> skipped;  // layers whose bias is shared, not constant, or (MatMul) not a following Add
};

/// Subtracts each shift from its layer's float bias in `graph`: a Conv's B or a Gemm's C (divided by beta), added
/// when missing; for a MatMul, the constant of the Add that reads its output alone.
BiasCorrectionResult correct_biases(Graph& graph, const std::vector<BiasShift>& shifts);

}  // namespace pare
