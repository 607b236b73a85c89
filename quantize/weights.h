// Finding the float weights of compute layers, shared by the QDQ and the weight-only rewriters.
#pragma once

#include <optional>
#include <string>

#include "graph/graph.h"

namespace pare {

/// The float32 value behind a constant weight, also when it is stored as float16/bfloat16 and then Cast.
std::optional<Tensor> float_constant(const Graph& graph, const std::string& name);

/// Axis of output channels in the weight (input 1) of a Conv, ConvTranspose, Gemm or MatMul node, or -1 when
/// per-channel quantization does not apply.
int64_t weight_channel_axis(const Node& node, const Tensor& weight);

}  // namespace pare
