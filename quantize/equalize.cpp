#include "quantize/equalize.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>

#include "graph/pass_util.h"

namespace pare {

namespace {

// A float32 initializer that exactly one node reads: scaling it changes nothing else.
std::optional<Tensor> private_constant(const Graph& graph, const std::string& name) {
    if (name.empty() || !graph.find_initializer(name) || graph.consumers(name).size() != 1) return std::nullopt;
    auto value = graph.constant(name);
    if (!value || value->dtype() != DType::kF32) return std::nullopt;
    return value;
}

// Conv -> (Relu | Clip(0, inf) | Relu -> Min(bound) | Clip(0, finite) | nothing) -> Conv, by node index.
struct Pair {
    int first = -1, second = -1;
    int activation = -1;                                      // the Relu or Clip between them
    int bound = -1;                                           // a Min after the Relu, with one upper bound per channel
    float clip_max = std::numeric_limits<float>::infinity();  // a Clip's finite upper bound, still to rewrite
};

std::optional<Pair> match_pair(const Graph& graph, int first) {
    const Node& conv1 = graph.nodes[first];
    if (!is_op(conv1, "Conv") || conv1.num_outputs() != 1 || conv1.num_inputs() < 2) return std::nullopt;
    auto w1 = private_constant(graph, conv1.input(1));
    if (!w1 || w1->rank() < 3) return std::nullopt;
    const int64_t channels = w1->dim(0);
    if (conv1.num_inputs() > 2 && conv1.has_input(2)) {
        auto bias = private_constant(graph, conv1.input(2));
        if (!bias || bias->numel() != channels) return std::nullopt;
    }
    Pair pair;
    pair.first = first;
    std::string value = conv1.output(0);
    for (int step = 0; step < 3 && pair.second < 0; ++step) {
        if (graph.consumers(value).size() != 1 || is_graph_output(graph, value)) return std::nullopt;
        const int next = graph.consumers(value)[0];
        const Node& node = graph.nodes[next];
        if (node.input(0) != value || node.num_outputs() != 1) return std::nullopt;
        if (is_op(node, "Conv")) {
            pair.second = next;
        } else if (pair.activation < 0 && is_op(node, "Relu")) {
            pair.activation = next;
        } else if (pair.activation < 0 && is_op(node, "Clip")) {
            auto bounds = clip_bounds(graph, node);
            if (!bounds || bounds->first != 0.0f || !(bounds->second > 0.0f)) return std::nullopt;
            pair.activation = next;
            pair.clip_max = bounds->second;
        } else if (pair.activation >= 0 && pair.bound < 0 && is_op(graph.nodes[pair.activation], "Relu") &&
                   is_op(node, "Min") && node.num_inputs() == 2) {
            auto bound = private_constant(graph, node.input(1));
            if (!bound || bound->numel() != channels || bound->rank() != w1->rank() - 1) return std::nullopt;
            pair.bound = next;
        } else {
            return std::nullopt;
        }
        value = node.output(0);
    }
    if (pair.second < 0) return std::nullopt;
    const Node& conv2 = graph.nodes[pair.second];
    auto w2 = conv2.num_inputs() >= 2 ? private_constant(graph, conv2.input(1)) : std::nullopt;
    const int64_t groups = conv2.attr_int("group", 1);
    if (!w2 || w2->rank() != w1->rank() || groups <= 0 || w2->dim(1) * groups != channels || w2->dim(0) % groups != 0) {
        return std::nullopt;
    }
    return pair;
}

// Rewrites the pair's Clip(0, max) as Relu -> Min(per-channel bound, all `max`): Min by a bound that is scaled with
// its channel keeps the function exact under equalization, where a scalar Clip bound would not. Nodes after the
// Clip shift by one.
void split_clip(Graph& graph, const Pair& pair) {
    const Node& clip = graph.nodes[pair.activation];
    const Tensor w1 = *graph.constant(graph.nodes[pair.first].input(1));
    Shape bound_shape(static_cast<size_t>(w1.rank() - 1), 1);
    bound_shape[0] = w1.dim(0);
    Tensor bound(DType::kF32, bound_shape);
    std::fill_n(bound.data<float>(), bound.numel(), pair.clip_max);
    const std::string output = clip.output(0);
    const std::string bound_name = graph.unique_name(output + "_bound");
    graph.set_initializer(bound_name, bound);

    onnx::NodeProto relu;
    relu.set_op_type("Relu");
    relu.set_name(clip.name());
    relu.add_input(clip.input(0));
    relu.add_output(graph.unique_name(output + "_relu"));
    onnx::NodeProto min;
    min.set_op_type("Min");
    min.set_name(graph.unique_name(clip.name() + "_bound"));
    min.add_input(relu.output(0));
    min.add_input(bound_name);
    min.add_output(output);
    const size_t at = static_cast<size_t>(pair.activation);
    graph.nodes[at] = Node(std::move(relu));
    graph.insert_node(at + 1, Node(std::move(min)));
}

// One equalization step of a pair; returns the largest |s_i - 1|.
double equalize_pair(Graph& graph, const Pair& pair) {
    const Node& conv1 = graph.nodes[pair.first];
    const Node& conv2 = graph.nodes[pair.second];
    Tensor w1 = graph.constant(conv1.input(1))->clone();
    Tensor w2 = graph.constant(conv2.input(1))->clone();
    const int64_t channels = w1.dim(0), row = w1.numel() / channels;
    const int64_t groups = conv2.attr_int("group", 1), in_per_group = w2.dim(1);
    const int64_t out_per_group = w2.dim(0) / groups, kernel = w2.numel() / (w2.dim(0) * in_per_group);
    float* src1 = w1.data<float>();
    float* src2 = w2.data<float>();
    // Input channel c of conv2 is slice c % in_per_group of the outputs of group c / in_per_group.
    auto for_each_input_weight = [&](int64_t c, auto&& visit) {
        const int64_t group = c / in_per_group, slice = c % in_per_group;
        for (int64_t o = group * out_per_group; o < (group + 1) * out_per_group; ++o) {
            float* src = src2 + (o * in_per_group + slice) * kernel;
            for (int64_t k = 0; k < kernel; ++k) visit(src[k]);
        }
    };
    std::vector<double> scales(static_cast<size_t>(channels), 1.0);
    double deviation = 0.0;
    for (int64_t c = 0; c < channels; ++c) {
        double r1 = 0.0, r2 = 0.0;
        for (int64_t k = 0; k < row; ++k) r1 = std::max(r1, static_cast<double>(std::fabs(src1[c * row + k])));
        for_each_input_weight(c, [&](float w) { r2 = std::max(r2, static_cast<double>(std::fabs(w))); });
        if (r1 > 0.0 && r2 > 0.0) scales[c] = std::sqrt(r1 / r2);
        deviation = std::max(deviation, std::fabs(scales[c] - 1.0));
        const float s = static_cast<float>(scales[c]);
        for (int64_t k = 0; k < row; ++k) src1[c * row + k] /= s;
        for_each_input_weight(c, [&](float& w) { w *= s; });
    }
    auto divide = [&](const std::string& name) {
        Tensor value = graph.constant(name)->clone();
        for (int64_t c = 0; c < channels; ++c) value.data<float>()[c] /= static_cast<float>(scales[c]);
        graph.set_initializer(name, value);
    };
    if (conv1.num_inputs() > 2 && conv1.has_input(2)) divide(conv1.input(2));
    if (pair.bound >= 0) divide(graph.nodes[pair.bound].input(1));
    graph.set_initializer(conv1.input(1), w1);
    graph.set_initializer(conv2.input(1), w2);
    return deviation;
}

}  // namespace

EqualizeResult equalize_cross_layer(Graph& graph, int max_iterations, double tolerance) {
    EqualizeResult result;
    // Relu6-style Clips first (they insert nodes), then the pairs, which no longer move.
    for (size_t i = 0; i < graph.nodes.size(); ++i) {
        auto pair = match_pair(graph, static_cast<int>(i));
        if (pair && std::isfinite(pair->clip_max)) {
            split_clip(graph, *pair);
            ++result.bounded;
        }
    }
    std::vector<Pair> pairs;
    for (size_t i = 0; i < graph.nodes.size(); ++i) {
        if (auto pair = match_pair(graph, static_cast<int>(i))) pairs.push_back(*pair);
    }
    result.pairs = static_cast<int>(pairs.size());
    while (!pairs.empty() && result.iterations < max_iterations) {
        ++result.iterations;
        result.deviation = 0.0;
        for (const Pair& pair : pairs) result.deviation = std::max(result.deviation, equalize_pair(graph, pair));
        if (result.deviation <= tolerance) break;
    }
    return result;
}

}  // namespace pare
