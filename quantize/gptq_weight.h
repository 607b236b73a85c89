// GPTQ on a layer's weight tensor as the rewriters store it: maps the tensor (Conv [O, C/group, kernel...], Gemm
// [N, K] or [K, N], MatMul [K, N]) to the [output channels, reduction] matrix quantize/gptq.h works on, runs one
// GPTQ per Conv group with that group's Hessian, and measures the output-error proxy of round-to-nearest and GPTQ.
#pragma once

#include <functional>
#include <set>
#include <string>
#include <vector>

#include "calibration/layer_hessian.h"
#include "core/tensor.h"
#include "graph/graph.h"
#include "quantize/gptq.h"

namespace pare {

/// The decoded grid value of `value` at flat (row-major) index `index` of the weight tensor, with the scales the
/// caller fixed from the original weight.
using ElementRounding = std::function<double(int64_t index, double value)>;

struct GptqWeight {
    std::vector<float> values;  // decoded grid values, in the weight's layout: encoding them again is exact
    double rtn_error = 0.0;     // trace((W - Wq) H (W - Wq)^T) summed over groups, round to nearest
    double gptq_error = 0.0;    // the same for GPTQ's rounding
};

/// The layers of `graph` whose weight GPTQ can round: Conv, Gemm and MatMul not named in `excluded`, with a
/// nonempty float constant weight of a layout that has an input Hessian (calibration/layer_hessian.h).
std::vector<HessianLayer> gptq_layers(const Graph& graph, const std::set<std::string>& excluded);

/// GPTQ rounding of `weight` (float32) whose output channels run along `channel_axis` (0, or 1 for a [K, N] matrix)
/// against `hessian` (accumulated for this layer: its groups and column count must match). invalid_input() when
/// they do not.
Result<GptqWeight> gptq_weight(const Tensor& weight, int64_t channel_axis, const LayerHessian& hessian,
                               const ElementRounding& round, const GptqOptions& options = {});

}  // namespace pare
