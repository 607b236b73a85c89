#include "ops/ref/reduce_axes.h"

#include "ops/index_util.h"
#include "ops/kernel_util.h"

namespace pare {

Result<ReducePlan> plan_reduce(const Node& node, const Shape& shape, const std::vector<int64_t>& axes, bool keepdims,
                               bool noop_with_empty_axes) {
    ReducePlan plan;
    if (axes.empty() && noop_with_empty_axes) {
        plan.kept_shape = plan.out_shape = shape;
        plan.identity = true;
        return plan;
    }
    const int64_t rank = static_cast<int64_t>(shape.size());
    PARE_ASSIGN_OR_RETURN(const std::vector<int64_t> normalized, normalize_axes(axes, rank, node));
    std::vector<bool> reduced(shape.size(), axes.empty());
    for (int64_t a : normalized) reduced[a] = true;
    for (int64_t d = 0; d < rank; ++d) {
        plan.kept_shape.push_back(reduced[d] ? 1 : shape[d]);
        if (!reduced[d] || keepdims) plan.out_shape.push_back(plan.kept_shape.back());
    }
    return plan;
}

ReduceAxes::ReduceAxes(const Node& node, int64_t opset, int64_t axes_input_opset)
    : node_(node),
      axes_from_input_(opset >= axes_input_opset),
      keepdims_(node.attr_int("keepdims", 1) != 0),
      noop_with_empty_axes_(node.attr_int("noop_with_empty_axes", 0) != 0) {}

Result<std::optional<ReducePlan>> ReduceAxes::plan(const std::vector<InputInfo>& inputs) const {
    PARE_RETURN_IF_ERROR(check_input_count(node_, inputs, 1, axes_from_input_ ? 2 : 1));
    std::vector<int64_t> axes = node_.attr_ints("axes");
    if (axes_from_input_ && inputs.size() > 1 && inputs[1].present) {
        const InputInfo& input = inputs[1];
        if (input.dtype != DType::kI64 || input.shape.size() != 1) {
            return invalid_input(node_.describe() + ": axes must be a 1-D int64 tensor, not " +
                                 dtype_name(input.dtype) + " " + shape_to_string(input.shape));
        }
        if (!input.value) return std::optional<ReducePlan>();
        axes = input_int64s(input);
    }
    PARE_ASSIGN_OR_RETURN(ReducePlan plan, plan_reduce(node_, inputs[0].shape, axes, keepdims_, noop_with_empty_axes_));
    return std::optional<ReducePlan>(std::move(plan));
}

}  // namespace pare
