#include "graph/fused_ops.h"

#include <algorithm>
#include <limits>

namespace pare {

namespace {

struct ActivationName {
    ActivationKind kind;
    const char* name;
};

constexpr ActivationName kActivationNames[] = {
    {ActivationKind::kRelu, "Relu"},           {ActivationKind::kLeakyRelu, "LeakyRelu"},
    {ActivationKind::kClip, "Clip"},           {ActivationKind::kSigmoid, "Sigmoid"},
    {ActivationKind::kTanh, "Tanh"},           {ActivationKind::kHardSigmoid, "HardSigmoid"},
    {ActivationKind::kHardSwish, "HardSwish"}, {ActivationKind::kGelu, "Gelu"},
};

// A float bound of Clip given as an optional constant input; nullopt when present but not a constant scalar.
std::optional<float> clip_bound(const Node& node, const Graph& graph, int index, float fallback) {
    if (!node.has_input(index)) return fallback;
    const auto value = graph.constant(node.input(index));
    if (!value || value->numel() != 1 || value->dtype() != DType::kF32) return std::nullopt;
    return value->data<float>()[0];
}

}  // namespace

std::optional<Activation> activation_of_node(const Node& node, const Graph& graph) {
    if (!node.is_onnx_domain() || node.num_outputs() != 1) return std::nullopt;
    const std::string& op = node.op_type();
    Activation act;
    if (op == "Relu") {
        act.kind = ActivationKind::kRelu;
    } else if (op == "LeakyRelu") {
        act.kind = ActivationKind::kLeakyRelu;
        act.alpha = node.attr_float("alpha", 0.01f);
    } else if (op == "Sigmoid") {
        act.kind = ActivationKind::kSigmoid;
    } else if (op == "Tanh") {
        act.kind = ActivationKind::kTanh;
    } else if (op == "HardSigmoid") {
        act.kind = ActivationKind::kHardSigmoid;
        act.alpha = node.attr_float("alpha", 0.2f);
        act.beta = node.attr_float("beta", 0.5f);
    } else if (op == "HardSwish") {
        act.kind = ActivationKind::kHardSwish;
    } else if (op == "Gelu") {
        act.kind =
            node.attr_string("approximate", "none") == "tanh" ? ActivationKind::kGeluTanh : ActivationKind::kGelu;
    } else if (op == "Clip") {
        act.kind = ActivationKind::kClip;
        const float lowest = std::numeric_limits<float>::lowest(), highest = std::numeric_limits<float>::max();
        if (node.has_attribute("min") || node.has_attribute("max")) {  // opset < 11
            act.alpha = node.attr_float("min", lowest);
            act.beta = node.attr_float("max", highest);
        } else {
            const auto lo = clip_bound(node, graph, 1, lowest), hi = clip_bound(node, graph, 2, highest);
            if (!lo || !hi) return std::nullopt;
            act.alpha = *lo;
            act.beta = *hi;
        }
    } else {
        return std::nullopt;
    }
    return act;
}

void set_activation(Node& node, const Activation& activation) {
    if (activation.kind == ActivationKind::kNone) return;
    const ActivationKind kind = activation.kind == ActivationKind::kGeluTanh ? ActivationKind::kGelu : activation.kind;
    for (const auto& entry : kActivationNames) {
        if (entry.kind == kind) node.set_attr_string("activation", entry.name);
    }
    node.set_attr_float("activation_alpha", activation.kind == ActivationKind::kGeluTanh ? 1.0f : activation.alpha);
    node.set_attr_float("activation_beta", activation.beta);
}

Result<Activation> activation_of_private(const Node& node) {
    Activation act;
    if (!node.has_attribute("activation")) return act;
    const std::string name = node.attr_string("activation", "");
    act.alpha = node.attr_float("activation_alpha", 0.0f);
    act.beta = node.attr_float("activation_beta", 0.0f);
    for (const auto& entry : kActivationNames) {
        if (name == entry.name) {
            act.kind = entry.kind;
            if (act.kind == ActivationKind::kGelu && act.alpha != 0.0f) act.kind = ActivationKind::kGeluTanh;
            return act;
        }
    }
    return invalid_input(node.describe() + ": unknown fused activation '" + name + "'");
}

bool is_pare_node(const Node& node) { return node.domain() == kPareDomain; }

const std::vector<std::string>& private_op_types() {
    static const std::vector<std::string> ops = {"Conv",          "Gemm",    "MatMul",      "QLinearConv",
                                                 "QLinearMatMul", "MaxPool", "AveragePool", "GlobalAveragePool",
                                                 "GlobalMaxPool"};
    return ops;
}

bool has_private_extension(const std::string& op) {
    const auto& ops = private_op_types();
    return std::find(ops.begin(), ops.end(), op) != ops.end();
}

int private_added_input(const std::string& op) {
    if (op == "Conv") return 3;
    if (op == "MatMul") return 2;
    return -1;
}

bool is_channels_last(const Node& node) { return is_pare_node(node) && node.attr_int("channels_last", 0) != 0; }

Shape channels_last_shape(const Shape& shape) {
    Shape out = shape;
    if (shape.size() >= 3) std::rotate(out.begin() + 1, out.begin() + 2, out.end());
    return out;
}

Shape channels_first_shape(const Shape& shape) {
    Shape out = shape;
    if (shape.size() >= 3) std::rotate(out.begin() + 1, out.end() - 1, out.end());
    return out;
}

void make_private(Node& node) { node.proto.set_domain(kPareDomain); }

}  // namespace pare
