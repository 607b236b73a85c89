// Rewrites the exact GELU that exporters spell with Erf (opset < 20 has no Gelu op) into one Gelu node, which the
// activation fusion can then merge into the preceding MatMul or Gemm:
//
//   x / sqrt(2) (or x * (1/sqrt(2))) -> Erf -> + 1 -> * x -> * 0.5      (or  0.5 * x  times  (1 + erf))
//
// The Gelu node is ai.onnx Gelu (approximate "none"), evaluated by its kernel whatever the model's opset.
#include <algorithm>
#include <cmath>

#include "graph/pass_util.h"
#include "graph/passes.h"

namespace pare {

namespace {

constexpr float kSqrt2 = 1.41421356f;

// The constant operand of a binary node next to `value`, if it is a scalar.
std::optional<float> constant_operand(const Graph& graph, const Node& node, const std::string& value) {
    const int other = other_input(node, value);
    return other < 0 ? std::nullopt : scalar_constant(graph, node.input(other));
}

// x such that `value` = x / sqrt(2) or x * (1/sqrt(2)), or "".
std::string scaled_source(const Graph& graph, const std::string& value) {
    const int index = graph.producer(value);
    if (index < 0) return "";
    const Node& node = graph.nodes[index];
    if (node.num_inputs() != 2) return "";
    if (is_op(node, "Div")) {
        const auto divisor = scalar_constant(graph, node.input(1));
        return divisor && nearly_equal(*divisor, kSqrt2) ? node.input(0) : "";
    }
    if (is_op(node, "Mul")) {
        for (int i = 0; i < 2; ++i) {
            const auto factor = scalar_constant(graph, node.input(1 - i));
            if (factor && nearly_equal(*factor, 1.0f / kSqrt2)) return node.input(i);
        }
    }
    return "";
}

// Matches the pattern around one Erf node; fills the nodes to delete and the final output.
bool match_gelu(const Graph& graph, int erf_index, const std::set<std::string>& keep, std::string& x, std::string& out,
                std::vector<int>& matched) {
    const Node& erf = graph.nodes[erf_index];
    const std::string scaled = erf.input(0);
    x = scaled_source(graph, scaled);
    if (x.empty() || sole_consumer(graph, scaled, keep) != erf_index) return false;
    const int add = sole_consumer(graph, erf.output(0), keep);
    if (add < 0 || !is_op(graph.nodes[add], "Add")) return false;
    const auto one = constant_operand(graph, graph.nodes[add], erf.output(0));
    if (!one || *one != 1.0f) return false;
    const std::string& plus_one = graph.nodes[add].output(0);
    const int mul = sole_consumer(graph, plus_one, keep);
    if (mul < 0 || !is_op(graph.nodes[mul], "Mul")) return false;
    const std::string factor = graph.nodes[mul].input(other_input(graph.nodes[mul], plus_one));
    matched = {graph.producer(scaled), erf_index, add, mul};
    if (factor == x) {
        // (x * (1 + erf)) * 0.5
        const std::string& product = graph.nodes[mul].output(0);
        const int half = sole_consumer(graph, product, keep);
        if (half < 0 || !is_op(graph.nodes[half], "Mul")) return false;
        const auto value = constant_operand(graph, graph.nodes[half], product);
        if (!value || *value != 0.5f) return false;
        matched.push_back(half);
        out = graph.nodes[half].output(0);
        return true;
    }
    // (0.5 * x) * (1 + erf)
    const int half = graph.producer(factor);
    if (half < 0 || !is_op(graph.nodes[half], "Mul") || sole_consumer(graph, factor, keep) != mul) return false;
    const auto value = constant_operand(graph, graph.nodes[half], x);
    if (!value || *value != 0.5f) return false;
    matched.push_back(half);
    out = graph.nodes[mul].output(0);
    return true;
}

}  // namespace

int fuse_gelu(Graph& graph, const std::set<std::string>& keep) {
    int fused = 0;
    for (bool changed = true; changed;) {
        changed = false;
        for (size_t i = 0; i < graph.nodes.size() && !changed; ++i) {
            if (!is_op(graph.nodes[i], "Erf")) continue;
            std::string x, out;
            std::vector<int> matched;
            if (!match_gelu(graph, static_cast<int>(i), keep, x, out, matched)) continue;
            // The Gelu takes the place of the last node of the pattern, so it follows x's producer.
            const std::string name = graph.nodes[i].name().empty() ? "" : graph.nodes[i].name() + "_gelu";
            std::sort(matched.begin(), matched.end());
            graph.nodes[static_cast<size_t>(matched.back())] = make_node("Gelu", {x}, {out}, name);
            matched.pop_back();
            for (auto it = matched.rbegin(); it != matched.rend(); ++it) graph.remove_node(static_cast<size_t>(*it));
            ++fused;
            changed = true;
        }
    }
    return fused;
}

}  // namespace pare
