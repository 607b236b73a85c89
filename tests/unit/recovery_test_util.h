// Small helpers shared by the recovery-algorithm tests (equalization, SmoothQuant, bias correction): models built
// from initializers and nodes, and deterministic weights whose channels differ widely in scale.
#pragma once

#include <cmath>
#include <vector>

#include "model_builder.h"

namespace pare_test {

/// Deterministic values in [-1, 1) (a fixed linear congruential sequence), slice i along dim 0 of `shape` multiplied
/// by channel_scale[i % size] when given.
inline pare::Tensor patterned(const pare::Shape& shape, uint32_t seed, const std::vector<float>& channel_scale = {}) {
    pare::Tensor t(pare::DType::kF32, shape);
    const int64_t per = shape.empty() || shape[0] == 0 ? 1 : t.numel() / shape[0];
    uint32_t state = seed * 2654435761u + 12345u;
    for (int64_t i = 0; i < t.numel(); ++i) {
        state = state * 1664525u + 1013904223u;
        float v = static_cast<float>(state >> 8) / static_cast<float>(1u << 24) * 2.0f - 1.0f;
        if (!channel_scale.empty()) v *= channel_scale[static_cast<size_t>(i / per) % channel_scale.size()];
        t.data<float>()[i] = v;
    }
    return t;
}

/// Appends a node with a name and returns it for attributes.
inline pare::Node& add_node(pare::Graph& graph, const std::string& op, const std::string& name,
                            const std::vector<std::string>& inputs, const std::vector<std::string>& outputs) {
    pare::Node node = make_node(op, inputs, outputs);
    node.proto.set_name(name);
    return graph.insert_node(graph.nodes.size(), std::move(node));
}

/// Largest |a - b| over two float tensors of the same size, and largest |a|.
inline std::pair<double, double> max_difference(const pare::Tensor& a, const pare::Tensor& b) {
    double diff = 0.0, scale = 0.0;
    for (int64_t i = 0; i < a.numel() && i < b.numel(); ++i) {
        diff = std::max(diff, std::fabs(static_cast<double>(a.data<float>()[i]) - b.data<float>()[i]));
        scale = std::max(scale, std::fabs(static_cast<double>(a.data<float>()[i])));
    }
    return {diff, scale};
}

}  // namespace pare_test
