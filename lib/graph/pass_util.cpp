#include "graph/pass_util.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace pare {

bool is_op(const Node& node, const char* op) { return node.is_onnx_domain() && node.op_type() == op; }

bool is_graph_output(const Graph& graph, const std::string& name) {
    const auto outputs = graph.output_names();
    return std::find(outputs.begin(), outputs.end(), name) != outputs.end();
}

Node make_node(const std::string& op_type, const std::vector<std::string>& inputs,
               const std::vector<std::string>& outputs, const std::string& name, const std::string& domain) {
    onnx::NodeProto proto;
    proto.set_op_type(op_type);
    proto.set_name(name);
    proto.set_domain(domain);
    for (const auto& input : inputs) proto.add_input(input);
    for (const auto& output : outputs) proto.add_output(output);
    return Node(std::move(proto));
}

int sole_consumer(const Graph& graph, const std::string& value, const std::set<std::string>& keep) {
    if (value.empty() || keep.count(value)) return -1;
    for (const auto& output : graph.header.output()) {
        if (output.name() == value) return -1;
    }
    const std::vector<int> consumers = graph.consumers(value);
    if (consumers.size() != 1) return -1;
    // A node reading the value twice (Mul(x, x)) is still one consumer, which the patterns here never want.
    int reads = 0;
    for (const auto& input : graph.nodes[consumers[0]].proto.input()) reads += input == value;
    return reads == 1 ? consumers[0] : -1;
}

std::optional<std::pair<float, float>> clip_bounds(const Graph& graph, const Node& clip) {
    constexpr float kInf = std::numeric_limits<float>::infinity();
    if (clip.has_attribute("min") || clip.has_attribute("max") || clip.num_inputs() == 1) {
        return std::make_pair(clip.attr_float("min", -kInf), clip.attr_float("max", kInf));
    }
    float bounds[2] = {-kInf, kInf};
    for (int i = 1; i <= 2 && i < clip.num_inputs(); ++i) {
        if (clip.input(i).empty()) continue;
        auto value = graph.constant(clip.input(i));
        if (!value || value->numel() != 1) return std::nullopt;
        bounds[i - 1] = static_cast<float>(value->element_as_double(0));
    }
    return std::make_pair(bounds[0], bounds[1]);
}

std::optional<std::pair<float, float>> activation_bounds(const Graph& graph, const Node& node) {
    if (is_op(node, "Relu")) return std::make_pair(0.0f, std::numeric_limits<float>::infinity());
    if (is_op(node, "Clip")) return clip_bounds(graph, node);
    return std::nullopt;
}

int node_index(const Graph& graph, const std::string& name) {
    for (size_t i = 0; i < graph.nodes.size(); ++i) {
        if (graph.nodes[i].name() == name) return static_cast<int>(i);
    }
    return -1;
}

std::optional<float> scalar_constant(const Graph& graph, const std::string& value) {
    const auto tensor = graph.constant(value);
    if (!tensor || tensor->dtype() != DType::kF32 || tensor->numel() != 1) return std::nullopt;
    return tensor->data<float>()[0];
}

std::optional<Shape> weight_shape(const Graph& graph, const std::string& value) {
    if (const auto constant = graph.constant(value)) return constant->shape();
    const int producer = graph.producer(value);
    if (producer < 0) return std::nullopt;
    const Node& node = graph.nodes[producer];
    if (!node.is_onnx_domain() || node.op_type() != "DequantizeLinear") return std::nullopt;
    const auto quantized = graph.constant(node.input(0));
    if (!quantized) return std::nullopt;
    return quantized->shape();
}

bool nearly_equal(float a, float b) { return std::fabs(a - b) <= 1e-6f * std::max(std::fabs(a), std::fabs(b)); }

int other_input(const Node& node, const std::string& value) {
    if (node.num_inputs() != 2) return -1;
    if (node.input(0) == value) return 1;
    if (node.input(1) == value) return 0;
    return -1;
}

namespace {

// Scale and zero point of a per-tensor Q or DQ node, as constants; false when not constant or per axis.
bool per_tensor_params(const Graph& graph, const Node& node, Tensor& scale, Tensor& zero) {
    if (node.num_inputs() < 3 || node.attr_int("block_size", 0) != 0) return false;
    const auto s = graph.constant(node.input(1));
    const auto z = graph.constant(node.input(2));
    if (!s || !z || s->numel() != 1 || z->numel() != 1) return false;
    scale = *s;
    zero = *z;
    return true;
}

}  // namespace

bool same_quant_params(const Graph& graph, const Node& a, const Node& b) {
    Tensor scale_a, zero_a, scale_b, zero_b;
    if (!per_tensor_params(graph, a, scale_a, zero_a) || !per_tensor_params(graph, b, scale_b, zero_b)) return false;
    return scale_a.dtype() == scale_b.dtype() && zero_a.dtype() == zero_b.dtype() &&
           scale_a.element_as_double(0) == scale_b.element_as_double(0) &&
           zero_a.element_as_double(0) == zero_b.element_as_double(0);
}

void remove_unread_producer(Graph& graph, const std::string& value, const std::set<std::string>& keep) {
    const int index = graph.producer(value);
    if (index < 0 || keep.count(value) || !graph.consumers(value).empty()) return;
    for (const auto& output : graph.header.output()) {
        if (output.name() == value) return;
    }
    graph.remove_node(static_cast<size_t>(index));
}

std::string add_initializer(Graph& graph, const std::string& base, Tensor value) {
    const std::string name = graph.unique_name(base);
    graph.set_initializer(name, std::move(value));
    return name;
}

}  // namespace pare
