// Converts a QDQ model (rewrite_to_qdq's output) to the QOperator form of ONNX Runtime's quantization tool:
// QLinearConv and QLinearMatMul on integer tensors, MaxPool and data movement run on integers, and QuantizeLinear /
// DequantizeLinear only at the edges of the integer regions. The quantization decisions (scales, zero points,
// integer weights and biases) are the QDQ model's, and every rewrite is exact with respect to the integer arithmetic
// that runtimes use for the QDQ model (ONNX Runtime's and pare's QDQ fusions), so accuracy matches the QDQ file.
//
// What stays in QDQ form: layers whose output stays float (a network's last layer: QLinear ops produce integers),
// products with a bias that are not a plain 2-D Gemm (standard QLinearMatMul takes no bias), and layers followed by
// an activation the output quantizer cannot absorb. Gemm with a bias becomes a 1x1 QLinearConv between Reshape and
// Flatten, which carries the int32 bias exactly.
#pragma once

#include "core/status.h"
#include "graph/graph.h"

namespace pare {

/// Rewrites the main graph in place. Returns how many QLinearConv / QLinearMatMul nodes it holds afterwards.
int convert_qdq_to_qoperator(Graph& graph);

}  // namespace pare
