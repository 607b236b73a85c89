// Rewrites a float graph into the dynamic-quantization form ONNX Runtime's quantize_dynamic writes: int8 weights
// stored offline, activations quantized at run time by DynamicQuantizeLinear (uint8, scale from each batch's own
// range), integer products by MatMulInteger / ConvInteger, then Cast to float and Mul by activation scale x weight
// scale, and the bias Add. No calibration data is involved.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "graph/graph.h"
#include "quantize/qdq_rewriter.h"

namespace pare {

struct DynamicSpec {
    /// One weight scale per output channel (MatMul/Gemm columns, Conv output channels) instead of one per tensor.
    bool weight_per_channel = true;
    std::set<std::string> excluded_nodes;  // node names left in float
};

/// Quantizes every MatMul (constant 2-D weight), Gemm (constant weight, transA = 0; rewritten in MatMul form with
/// the weight transposed when transB = 1 and alpha folded into it) and Conv (constant weight and bias) of the main
/// graph that is not excluded. Each rewritten layer keeps its output name. Activations read by several layers are
/// quantized once. Needs opset 11 (DynamicQuantizeLinear). Returns the layers quantized, in graph order, with
/// weight parameters (their input parameters are computed at run time, so they are left at their defaults).
Result<std::vector<QuantizedLayer>> rewrite_to_dynamic(Graph& graph, int64_t opset, const DynamicSpec& spec);

}  // namespace pare
