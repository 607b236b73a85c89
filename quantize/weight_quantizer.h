// Weights as the quantizers see them: the float value behind a constant, and its integer form under given
// parameters. Shared by the static (QDQ), dynamic and weight-only rewriters.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "graph/graph.h"
#include "quantize/quant_params.h"

namespace pare {

/// The float32 value behind a constant weight, also when it is stored as float16/bfloat16 and then Cast (or passed
/// through Identity). nullopt when the value is not a float constant.
std::optional<Tensor> float_constant(const Graph& graph, const std::string& name);

/// Axis of output channels in the weight (input 1) of a Conv, ConvTranspose, Gemm or MatMul node, or -1 when
/// per-channel quantization does not apply.
int64_t weight_channel_axis(const Node& node, const Tensor& weight);

/// `weight` (float32) quantized to `dtype` with one parameter set per slice along `axis` (per channel), or
/// params[0] for the whole tensor when axis < 0. Rounds half to even and saturates, as QuantizeLinear does.
Tensor quantize_weight(const Tensor& weight, const std::vector<QuantParams>& params, int64_t axis, DType dtype);

/// The float values DequantizeLinear gives back from `quantized` (float32 arithmetic), as float64 for error
/// statistics.
Tensor dequantize_weight(const Tensor& quantized, const std::vector<QuantParams>& params, int64_t axis);

}  // namespace pare
