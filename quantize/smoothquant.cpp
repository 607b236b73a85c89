#include "quantize/smoothquant.h"

#include <algorithm>
#include <cmath>

#include "graph/pass_util.h"

namespace pare {

namespace {

// A float32 initializer that exactly one node reads: scaling it changes nothing else.
bool is_private_float(const Graph& graph, const std::string& name) {
    if (name.empty() || !graph.find_initializer(name) || graph.consumers(name).size() != 1) return false;
    auto value = graph.constant(name);
    return value && value->dtype() == DType::kF32;
}

// MatMul/Gemm whose weight (input 1) is a private 2-D float32 initializer.
bool has_private_2d_weight(const Graph& graph, const Node& node) {
    if (!(is_op(node, "MatMul") || is_op(node, "Gemm")) || node.num_inputs() < 2) return false;
    return is_private_float(graph, node.input(1)) && graph.constant(node.input(1))->rank() == 2;
}

// Axis of the weight that runs over the layer's input channels (the other runs over its outputs).
int input_axis(const Node& node) { return is_op(node, "Gemm") && node.attr_int("transB", 0) != 0 ? 1 : 0; }

bool is_smoothable_reader(const Graph& graph, const Node& node, const std::string& activation) {
    if (node.input(0) != activation || !has_private_2d_weight(graph, node)) return false;
    return !is_op(node, "Gemm") || node.attr_int("transA", 0) == 0;
}

// Multiplies (or divides) the slices of a 2-D initializer along `axis` by one factor each.
void scale_slices(Graph& graph, const std::string& name, int axis, const std::vector<double>& factors, bool divide) {
    Tensor value = graph.constant(name)->clone();
    const int64_t rows = value.dim(0), cols = value.dim(1);
    float* dst = value.data<float>();
    for (int64_t r = 0; r < rows; ++r) {
        for (int64_t c = 0; c < cols; ++c) {
            const float factor = static_cast<float>(factors[static_cast<size_t>(axis == 0 ? r : c)]);
            dst[r * cols + c] = divide ? dst[r * cols + c] / factor : dst[r * cols + c] * factor;
        }
    }
    graph.set_initializer(name, value);
}

// Divides a private constant vector of `channels` elements by the scales; false when it is not one.
bool divisible_vector(const Graph& graph, const std::string& name, size_t channels) {
    return is_private_float(graph, name) && graph.constant(name)->numel() == static_cast<int64_t>(channels);
}

void divide_vector(Graph& graph, const std::string& name, const std::vector<double>& scales) {
    Tensor value = graph.constant(name)->clone();
    for (size_t c = 0; c < scales.size(); ++c) value.data<float>()[c] /= static_cast<float>(scales[c]);
    graph.set_initializer(name, value);
}

// Whether a MatMul/Gemm's output channels can absorb 1/s: a private weight with `channels` outputs, and a bias
// (Gemm's C) that is a private vector.
bool product_can_fold(const Graph& graph, const Node& node, size_t channels) {
    if (!has_private_2d_weight(graph, node)) return false;
    if (graph.constant(node.input(1))->dim(1 - input_axis(node)) != static_cast<int64_t>(channels)) return false;
    return !(node.num_inputs() > 2 && node.has_input(2)) || divisible_vector(graph, node.input(2), channels);
}

void fold_into_product(Graph& graph, const Node& node, const std::vector<double>& scales) {
    scale_slices(graph, node.input(1), 1 - input_axis(node), scales, true);
    if (node.num_inputs() > 2 && node.has_input(2)) divide_vector(graph, node.input(2), scales);
}

// Puts 1/s into the producer of `activation` when its outputs can absorb it exactly; false otherwise (nothing
// changed then).
bool fold_into_producer(Graph& graph, const std::string& activation, const std::vector<double>& scales) {
    const int p = graph.producer(activation);
    if (p < 0 || graph.nodes[p].output(0) != activation) return false;
    const Node& node = graph.nodes[p];
    const size_t channels = scales.size();
    if (is_op(node, "LayerNormalization") && node.attr_int("axis", -1) == -1 && node.num_inputs() >= 2 &&
        divisible_vector(graph, node.input(1), channels) &&
        (node.num_inputs() < 3 || !node.has_input(2) || divisible_vector(graph, node.input(2), channels))) {
        divide_vector(graph, node.input(1), scales);
        if (node.num_inputs() >= 3 && node.has_input(2)) divide_vector(graph, node.input(2), scales);
        return true;
    }
    if ((is_op(node, "MatMul") || is_op(node, "Gemm")) && product_can_fold(graph, node, channels)) {
        fold_into_product(graph, node, scales);
        return true;
    }
    // Relu(x) / s == Relu(x / s) for s > 0: through a Relu to what produces its input.
    if (is_op(node, "Relu") && graph.consumers(node.input(0)).size() == 1 && !is_graph_output(graph, node.input(0))) {
        return fold_into_producer(graph, node.input(0), scales);
    }
    if (is_op(node, "Add") && node.num_inputs() == 2) {
        for (int b = 0; b < 2; ++b) {
            const std::string& product = node.input(1 - b);
            const int q = graph.producer(product);
            if (!divisible_vector(graph, node.input(b), channels) || q < 0 || graph.consumers(product).size() != 1 ||
                is_graph_output(graph, product) || !product_can_fold(graph, graph.nodes[q], channels)) {
                continue;
            }
            divide_vector(graph, node.input(b), scales);
            fold_into_product(graph, graph.nodes[q], scales);
            return true;
        }
    }
    return false;
}

}  // namespace

std::set<std::string> smoothable_activations(const Graph& graph) {
    std::set<std::string> result;
    for (const Node& node : graph.nodes) {
        const bool activation = node.num_inputs() >= 2 && !graph.constant(node.input(0));
        if (activation && is_smoothable_reader(graph, node, node.input(0))) result.insert(node.input(0));
    }
    return result;
}

SmoothQuantResult smooth_quant(Graph& graph, double alpha, const ChannelMaxima& maxima) {
    SmoothQuantResult result;
    for (const auto& [activation, x_max] : maxima) {
        std::vector<int> readers;
        bool all_smoothable = !is_graph_output(graph, activation);
        for (int r : graph.consumers(activation)) {
            if (is_smoothable_reader(graph, graph.nodes[r], activation) &&
                graph.constant(graph.nodes[r].input(1))->dim(input_axis(graph.nodes[r])) ==
                    static_cast<int64_t>(x_max.size())) {
                readers.push_back(r);
            } else {
                all_smoothable = false;
            }
        }
        if (readers.empty()) continue;
        // The weights' per-input-channel maxima, over every smoothed reader (they share the activation's 1/s).
        std::vector<double> w_max(x_max.size(), 0.0);
        for (int r : readers) {
            const Node& node = graph.nodes[r];
            const Tensor weight = *graph.constant(node.input(1));
            const int axis = input_axis(node);
            const int64_t cols = weight.dim(1);
            for (int64_t i = 0; i < weight.numel(); ++i) {
                const size_t j = static_cast<size_t>(axis == 0 ? i / cols : i % cols);
                w_max[j] = std::max(w_max[j], static_cast<double>(std::fabs(weight.data<float>()[i])));
            }
        }
        std::vector<double> scales(x_max.size(), 1.0);
        for (size_t j = 0; j < scales.size(); ++j) {
            if (x_max[j] > 0.0 && w_max[j] > 0.0) {
                scales[j] = std::clamp(std::pow(x_max[j], alpha) / std::pow(w_max[j], 1.0 - alpha), 1e-5, 1e5);
            }
        }
        for (int r : readers) scale_slices(graph, graph.nodes[r].input(1), input_axis(graph.nodes[r]), scales, false);
        result.layers += static_cast<int>(readers.size());
        ++result.activations;
        if (all_smoothable && fold_into_producer(graph, activation, scales)) {
            ++result.folded;
            continue;
        }
        std::vector<float> inverse(scales.size());
        for (size_t j = 0; j < scales.size(); ++j) inverse[j] = static_cast<float>(1.0 / scales[j]);
        const std::string factor = graph.unique_name(activation + "_smooth_scale");
        graph.set_initializer(factor, tensor_from_vector<float>(inverse, {static_cast<int64_t>(inverse.size())}));
        const std::string smoothed = graph.unique_name(activation + "_smoothed");
        for (int r : readers) graph.nodes[r].proto.set_input(0, smoothed);
        onnx::NodeProto mul;
        mul.set_op_type("Mul");
        mul.set_name(graph.unique_name(activation + "_smooth"));
        mul.add_input(activation);
        mul.add_input(factor);
        mul.add_output(smoothed);
        graph.insert_node(static_cast<size_t>(graph.producer(activation) + 1), Node(std::move(mul)));
        ++result.inserted;
    }
    return result;
}

}  // namespace pare
