// A three-layer MLP whose middle layer is deliberately fragile under int8 (and a variant fragile under weight-only
// 4-bit weights), for the quantization report and accuracy budget tests:
//
//   x [N, 4] -> MatMul "layer_a" (W_a) -> a -> MatMul "layer_b" (W_b) -> b -> MatMul "layer_c" (W_c) -> y [N, 2]
//
// W_a multiplies input channel 0 into a's channel 0 by 100, so a holds a huge outlier channel; W_b nearly ignores
// that channel, so layer_b's output is made of a's small channels, which an int8 scale stretched over the outlier
// crushes to a few levels. layer_a and layer_c quantize well. W_c has hand-checkable integer weights (see the test).
#pragma once

#include <cstdint>
#include <vector>

#include "graph/graph.h"
#include "model_builder.h"

namespace pare_test {

inline const std::vector<float>& fragile_w_c() {
    static const std::vector<float> w = {1.0f, 0.2f, 0.3f, -0.4f, 0.0f, 1.0f, -0.6f, 0.1f};  // [4, 2]
    return w;
}

/// A model of `graph` importing ai.onnx opset 13 (the first with per-channel DequantizeLinear).
inline pare::Model opset13_model(pare::Graph graph) {
    pare::Model model;
    auto* import = model.header.add_opset_import();
    import->set_domain("");
    import->set_version(13);
    model.header.set_ir_version(7);
    model.graph = std::move(graph);
    return model;
}

/// x [N, 4] -> MatMul "layer_a" (w_a [4, 4]) -> a -> MatMul "layer_b" (w_b [4, 4]) -> b -> MatMul "layer_c" (w_c
/// [4, 2]) -> y [N, 2].
inline pare::Model three_layer_mlp(const std::vector<float>& w_a, const std::vector<float>& w_b,
                                   const std::vector<float>& w_c) {
    using pare::DType;
    pare::Model model =
        opset13_model(make_graph({value_info("x", DType::kF32, {-1, 4})}, {value_info("y", DType::kF32, {-1, 2})}));
    model.graph.set_initializer("w_a", pare::tensor_from_vector<float>(w_a, {4, 4}));
    model.graph.set_initializer("w_b", pare::tensor_from_vector<float>(w_b, {4, 4}));
    model.graph.set_initializer("w_c", pare::tensor_from_vector<float>(w_c, {4, 2}));
    const char* layers[][4] = {
        {"layer_a", "x", "w_a", "a"}, {"layer_b", "a", "w_b", "b"}, {"layer_c", "b", "w_c", "y"}};
    for (const auto& layer : layers) {
        pare::Node node = make_node("MatMul", {layer[1], layer[2]}, {layer[3]});
        node.proto.set_name(layer[0]);
        model.graph.nodes.push_back(node);
    }
    return model;
}

inline pare::Model fragile_mlp_model() {
    const std::vector<float> w_a = {100.0f, 0.0f, 0.0f, 0.0f,  //
                                    0.0f,   1.0f, 0.5f, 0.0f,  //
                                    0.0f,   0.5f, 1.0f, 0.2f,  //
                                    0.0f,   0.0f, 0.3f, 1.0f};
    const std::vector<float> w_b = {0.0001f, 0.0f, 0.0f, 0.0f,  //
                                    0.0f,    1.0f, 0.3f, 0.1f,  //
                                    0.0f,    0.2f, 1.0f, 0.4f,  //
                                    0.0f,    0.5f, 0.1f, 1.0f};
    return three_layer_mlp(w_a, w_b, fragile_w_c());
}

/// The same three layers, fragile under weight-only quantization instead: layer_b's weight has an outlier row (6 in
/// every column) that reads a's channel 0, which W_a makes almost zero (x0 x 7/1024), so a symmetric 4-bit scale per
/// column (6/7) rounds the small weights that carry b to 0 or +-6/7; 8-bit weights (6/127) keep them. W_a and W_c
/// are multiples of a power-of-two step with each column's largest value 7 steps, so int4 per column (block 32 >
/// K) holds them exactly: only layer_b loses anything.
inline pare::Model weight_fragile_mlp_model() {
    const std::vector<float> w_a = {7.0f / 1024, 0.0f,   0.125f, -0.375f,  //
                                    0.0f,        0.875f, 0.5f,   0.0f,     //
                                    0.0f,        0.375f, 0.875f, 0.25f,    //
                                    0.0f,        -0.25f, 0.0f,   0.875f};
    const std::vector<float> w_b = {6.0f,  6.0f, -6.0f, 6.0f,   //
                                    1.0f,  0.3f, 0.2f,  -0.6f,  //
                                    0.4f,  1.0f, 0.35f, 0.2f,   //
                                    -0.3f, 0.5f, 1.0f,  0.45f};
    const std::vector<float> w_c = {0.875f, -0.25f, 0.25f, 0.875f, -0.5f, 0.375f, 0.125f, -0.625f};
    return three_layer_mlp(w_a, w_b, w_c);
}

/// Inputs [rows, 4] in [-1, 1] from a fixed linear congruential sequence.
inline pare::Tensor fragile_mlp_inputs(int64_t rows) {
    std::vector<float> values(static_cast<size_t>(rows * 4));
    uint32_t state = 12345;
    for (auto& v : values) {
        state = state * 1664525u + 1013904223u;
        v = static_cast<float>(state >> 8) / static_cast<float>(1u << 24) * 2.0f - 1.0f;
    }
    return pare::tensor_from_vector<float>(values, {rows, 4});
}

}  // namespace pare_test
