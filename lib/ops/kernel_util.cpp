#include "ops/kernel_util.h"

#include <algorithm>

namespace pare {

Status check_input_count(const Node& node, const std::vector<InputInfo>& inputs, int min_count, int max_count) {
    const int count = static_cast<int>(inputs.size());
    if (count < min_count || count > max_count) {
        return invalid_input(node.describe() + " has " + std::to_string(count) + " inputs; it takes " +
                             std::to_string(min_count) + (min_count == max_count ? "" : " to " + std::to_string(max_count)));
    }
    for (int i = 0; i < std::min(min_count, count); ++i) {
        if (!inputs[i].present) return invalid_input(node.describe() + " is missing required input " + std::to_string(i));
    }
    return Status();
}

Status check_input_dtype(const Node& node, const std::vector<InputInfo>& inputs, int index,
                         const std::vector<DType>& allowed) {
    if (index >= static_cast<int>(inputs.size()) || !inputs[index].present) {
        return invalid_input(node.describe() + " is missing input " + std::to_string(index));
    }
    const DType dtype = inputs[index].dtype;
    if (std::find(allowed.begin(), allowed.end(), dtype) != allowed.end()) return Status();
    return unsupported(node.describe() + ": input " + std::to_string(index) + " has dtype " + dtype_name(dtype) +
                       ", which this kernel does not handle");
}

Result<Shape> broadcast_shapes(const Shape& a, const Shape& b) {
    const size_t rank = std::max(a.size(), b.size());
    Shape out(rank);
    for (size_t i = 0; i < rank; ++i) {
        const int64_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
        const int64_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
        if (da != db && da != 1 && db != 1) {
            return invalid_input("shapes " + shape_to_string(a) + " and " + shape_to_string(b) + " do not broadcast");
        }
        out[i] = da == 1 ? db : da;
    }
    return out;
}

Result<int64_t> normalize_axis(int64_t axis, int64_t rank, const Node& node) {
    if (axis < -rank || axis >= std::max<int64_t>(rank, 1)) {
        return invalid_input(node.describe() + ": axis " + std::to_string(axis) + " is out of range for rank " +
                             std::to_string(rank));
    }
    return axis < 0 ? axis + rank : axis;
}

std::vector<int64_t> broadcast_strides(const Shape& shape, const Shape& out) {
    std::vector<int64_t> strides(out.size(), 0);
    const std::vector<int64_t> own = shape_strides(shape);
    const size_t offset = out.size() - shape.size();
    for (size_t i = 0; i < shape.size(); ++i) strides[offset + i] = shape[i] == 1 ? 0 : own[i];
    return strides;
}

std::vector<int64_t> input_int64s(const InputInfo& input) {
    return input.value ? tensor_to_int64s(*input.value) : std::vector<int64_t>{};
}

}  // namespace pare
