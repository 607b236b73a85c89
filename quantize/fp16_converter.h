// Converts a float32 graph to float16: weights stored as float16 and activations computed in float16, with Cast
// nodes where float32 and float16 regions meet (the graph's inputs and outputs stay float32, so callers see the
// same interface). Ops unsafe or meaningless in float16 stay in float32.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "graph/graph.h"
#include "quantize/qdq_rewriter.h"

namespace pare {

/// ai.onnx ops kept in float32 by default: the op block list of ONNX's float16 converter (onnxconverter-common)
/// for ops that are inaccurate or slow in float16 (TopK, Resize, Range, CumSum, Min, Max, NonMaxSuppression...).
const std::set<std::string>& default_fp32_ops();

struct Fp16Spec {
    std::set<std::string> keep_fp32_ops = default_fp32_ops();  // op types left in float32
    std::set<std::string> excluded_nodes;                      // node names left in float32
};

struct Fp16Conversion {
    /// The Conv/ConvTranspose/Gemm/MatMul nodes now computing in float16 with a float16 weight, in graph order.
    std::vector<QuantizedLayer> layers;
    int64_t nodes_fp16 = 0;
    int64_t nodes_fp32 = 0;      // nodes with float32 tensors left in float32
    int64_t casts = 0;           // Cast nodes inserted
    int64_t clamped_values = 0;  // weight values beyond float16's range, clamped to +-65504
};

/// Rewrites `graph` in place. `types` are the float32 model's value types (onnx/shape_inference.h): a node is
/// converted only when every float32 input and output has a known type. Float16 values get new names
/// ("<name>_fp16"); the original names keep their float32 values wherever float32 readers or graph outputs need
/// them, so per-layer comparisons with the float model still find them.
Result<Fp16Conversion> convert_to_fp16(Graph& graph, const std::map<std::string, ValueType>& types,
                                       const Fp16Spec& spec);

}  // namespace pare
