// Reduction plans shared by Reduce*, ArgMax/ArgMin, CumSum and TopK (the general axis helpers they use, such as
// split_at_axis, live in ops/index_util.h).
#pragma once

#include <optional>
#include <vector>

#include "ops/index_util.h"
#include "ops/kernel.h"

namespace pare {

/// The shapes of a reduction over a set of axes.
struct ReducePlan {
    Shape kept_shape;       // the input shape with reduced dims set to 1
    Shape out_shape;        // kept_shape, or without the reduced dims when keepdims=0
    bool identity = false;  // no axes with noop_with_empty_axes=1: the output is the input
};

/// Plans a reduction of `shape` over `axes` (negative allowed; duplicates and out-of-range axes are invalid_input
/// naming the node). No axes means every axis, unless noop_with_empty_axes.
Result<ReducePlan> plan_reduce(const Node& node, const Shape& shape, const std::vector<int64_t>& axes, bool keepdims,
                               bool noop_with_empty_axes);

/// How a Reduce* node gives its axes: the `axes` attribute before opset `axes_input_opset`, optional input 1 from
/// then on; keepdims (default 1) and noop_with_empty_axes (default 0) attributes.
class ReduceAxes {
public:
    ReduceAxes(const Node& node, int64_t opset, int64_t axes_input_opset);

    /// Checks the input count and plans the reduction of input 0; nullopt when the axes input's value is not known
    /// yet (the output shape then has to wait for run time).
    Result<std::optional<ReducePlan>> plan(const std::vector<InputInfo>& inputs) const;

private:
    const Node& node_;
    bool axes_from_input_;
    bool keepdims_;
    bool noop_with_empty_axes_;
};

}  // namespace pare
