// pare's private ops (domain "com.pare"), written by the graph passes inside a session and never saved to a model.
// Each is an ai.onnx op of the same name (its base op, same inputs and attributes) extended by:
//
//   activation         attributes "activation" (the ONNX op name: Relu, LeakyRelu, Clip, Sigmoid, Tanh, HardSigmoid,
//                      HardSwish, Gelu), "activation_alpha", "activation_beta" (LeakyRelu alpha; Clip min and max;
//                      HardSigmoid alpha and beta; Gelu: alpha 1 for the tanh approximation). Applied to the output;
//                      on QLinearConv / QLinearMatMul in the quantized domain (Relu and Clip only).
//   an added input     Conv input 3 (Z) and MatMul input 2 (bias) are added to the base output before the
//                      activation, with numpy broadcasting: Y = act(Conv(X, W, B) + Z), Y = act(A @ B + bias).
//                      QLinearMatMul input 8: an int32 bias (one per column) added to the accumulator before
//                      requantization, as QLinearConv's B.
//   channels_last      attribute "channels_last" = 1 (Conv, QLinearConv and the pools): input 0, Z and output 0 are
//                      stored channels-last, their shapes being [N, spatial..., C].
//
// Every private op has a reference kernel built on its base op's reference kernels (ops/private_reference.cpp;
// QLinearMatMul: ops/private_qlinear_matmul.cpp), so a rewritten node means the same thing on every kernel. Private
// ops take the ai.onnx opset of the model.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "graph/graph.h"

namespace pare {

/// Domain of pare's private ops.
inline const char* const kPareDomain = "com.pare";

enum class ActivationKind {
    kNone,
    kRelu,
    kLeakyRelu,
    kClip,
    kSigmoid,
    kTanh,
    kHardSigmoid,
    kHardSwish,
    kGelu,
    kGeluTanh
};

/// An element-wise activation fused into a producing op.
struct Activation {
    ActivationKind kind = ActivationKind::kNone;
    float alpha = 0.0f;  // LeakyRelu slope, Clip min, HardSigmoid alpha
    float beta = 0.0f;   // Clip max, HardSigmoid beta
};

/// The activation a standalone node computes, if it is one a fused op can absorb: Relu, LeakyRelu, Sigmoid, Tanh,
/// HardSigmoid, HardSwish, Gelu, and Clip whose bounds are float constants (or absent).
std::optional<Activation> activation_of_node(const Node& node, const Graph& graph);

/// Writes the activation attributes onto a private node.
void set_activation(Node& node, const Activation& activation);
/// Reads them back (kNone when absent); kInvalidInput for an unknown activation name.
Result<Activation> activation_of_private(const Node& node);

/// True for nodes in pare's private domain.
bool is_pare_node(const Node& node);
/// The ai.onnx ops that have a private extension.
const std::vector<std::string>& private_op_types();
/// True if `op` is one of them.
bool has_private_extension(const std::string& op);
/// Input index of the added tensor of a private op (Conv 3, MatMul 2), or -1.
int private_added_input(const std::string& op);
/// True if a private node stores its data input and output channels-last.
bool is_channels_last(const Node& node);

/// [N, C, spatial...] -> [N, spatial..., C] (shapes of rank < 3 are returned unchanged).
Shape channels_last_shape(const Shape& shape);
/// [N, spatial..., C] -> [N, C, spatial...].
Shape channels_first_shape(const Shape& shape);

/// Turns an ai.onnx node into its private extension (same name, inputs and attributes), in place.
void make_private(Node& node);

}  // namespace pare
