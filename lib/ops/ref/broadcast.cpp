#include "ops/ref/broadcast.h"

#include "ops/kernel_util.h"

namespace pare {

Result<Shape> broadcast_input_shapes(const Node& node, const std::vector<InputInfo>& inputs, int first, int count) {
    Shape out = inputs[first].shape;
    for (int i = first + 1; i < first + count; ++i) {
        auto merged = broadcast_shapes(out, inputs[i].shape);
        if (!merged.ok()) {
            std::string shapes;
            for (int j = first; j < first + count; ++j) {
                shapes += (j > first ? ", " : "") + shape_to_string(inputs[j].shape);
            }
            return invalid_input(node.describe() + ": input shapes " + shapes + " do not broadcast");
        }
        out = *merged;
    }
    return out;
}

Status check_no_legacy_broadcast(const Node& node, int64_t opset) {
    if (opset < 7 && node.has_attribute("axis")) {
        return unsupported(node.describe() + ": legacy broadcasting along an axis (opset " + std::to_string(opset) + ")");
    }
    return Status();
}

BroadcastLoop::BroadcastLoop(const std::vector<Shape>& inputs, const Shape& out)
    : num_inputs_(static_cast<int>(inputs.size())), numel_(shape_numel(out)) {
    std::vector<std::vector<int64_t>> full;
    for (const Shape& shape : inputs) full.push_back(broadcast_strides(shape, out));
    // Size-1 output dims contribute nothing; a dim merges into the previous one when, for every input, stepping
    // over the whole dim equals one step of the previous dim (both contiguous, or both broadcast).
    std::vector<std::vector<int64_t>> merged(inputs.size());
    for (size_t d = 0; d < out.size(); ++d) {
        if (out[d] == 1) continue;
        bool can_merge = !dims_.empty();
        for (size_t k = 0; k < inputs.size() && can_merge; ++k) {
            can_merge = merged[k].back() == full[k][d] * out[d];
        }
        if (can_merge) {
            dims_.back() *= out[d];
            for (size_t k = 0; k < inputs.size(); ++k) merged[k].back() = full[k][d];
        } else {
            dims_.push_back(out[d]);
            for (size_t k = 0; k < inputs.size(); ++k) merged[k].push_back(full[k][d]);
        }
    }
    if (dims_.empty()) {  // a scalar, or all dims 1
        dims_.push_back(1);
        for (auto& m : merged) m.push_back(0);
    }
    rank_ = static_cast<int>(dims_.size());
    for (const auto& m : merged) strides_.insert(strides_.end(), m.begin(), m.end());
}

}  // namespace pare
