// Merges what follows a Conv, Gemm or MatMul into it, turning it into pare's private op (graph/fused_ops.h):
//
//   Conv   + Add(per-channel constant)  -> the constant joins the bias
//   Conv   + Add(any other value)       -> the value becomes the added input Z (ResNet's shortcut)
//   Gemm   + Add(per-column constant)   -> C, when Gemm has none
//   MatMul + Add(constant)              -> the added bias
//   any of them + an activation         -> the activation attributes (Relu, LeakyRelu, Clip, Sigmoid, Tanh,
//                                          HardSigmoid, HardSwish, Gelu)
//
// Only values read by nothing else and not kept are fused away; the node keeps the last fused output's name.
#include "graph/fused_ops.h"
#include "graph/pass_util.h"
#include "graph/passes.h"

namespace pare {

namespace {

bool is_fusable_producer(const Node& node) {
    const std::string& op = node.op_type();
    return (node.is_onnx_domain() || is_pare_node(node)) && (op == "Conv" || op == "Gemm" || op == "MatMul") &&
           node.num_outputs() == 1;
}

// True if `shape` is [M], [M, 1, ...] or [1, M, 1, ...] aligned to the channel axis of a rank-`rank` Conv output.
bool per_channel_shape(const Shape& shape, int64_t channels, size_t rank) {
    if (shape.size() > rank || shape.size() + 1 < rank) return false;  // must reach the channel axis
    const size_t channel_axis = shape.size() - (rank - 1);             // where axis 1 of the output lands
    for (size_t a = 0; a < shape.size(); ++a) {
        if (shape[a] != (a == channel_axis ? channels : 1)) return false;
    }
    return true;
}

// Absorbs Add(out, other) into the producer when its kind allows; true if done.
bool absorb_add(Graph& graph, Node& node, int self, const std::string& other) {
    const std::string& op = node.op_type();
    const auto constant = graph.constant(other);
    const bool float_constant = constant && constant->dtype() == DType::kF32;
    if (op == "Conv") {
        if (node.num_inputs() > 3) return false;  // already has Z
        const auto w = weight_shape(graph, node.input(1));
        if (float_constant && w && w->size() >= 3 && per_channel_shape(constant->shape(), (*w)[0], w->size())) {
            const auto bias = node.has_input(2) ? graph.constant(node.input(2)) : std::optional<Tensor>(Tensor());
            if (bias && (!bias->defined() || bias->dtype() == DType::kF32)) {
                const int64_t filters = (*w)[0];
                Tensor sum = constant->reshaped({filters}).clone();
                for (int64_t c = 0; bias->defined() && c < filters; ++c) sum.data<float>()[c] += bias->data<float>()[c];
                const std::string name = add_initializer(graph, node.name() + "_bias", sum);
                if (node.num_inputs() < 3)
                    node.proto.add_input(name);
                else
                    node.proto.set_input(2, name);
                return true;
            }
        }
        // Z must be computed before the fused node runs: a shortcut produced later is left to its own producer.
        if (graph.producer(other) > self && is_fusable_producer(graph.nodes[graph.producer(other)])) return false;
        while (node.num_inputs() < 3) node.proto.add_input("");
        node.proto.add_input(other);
        return true;
    }
    if (op == "MatMul") {
        if (node.num_inputs() > 2 || !float_constant) return false;
        node.proto.add_input(other);
        return true;
    }
    // Gemm: a per-column constant becomes C.
    if (node.num_inputs() > 2 || !float_constant) return false;
    const auto b = graph.constant(node.input(1));
    if (!b || b->rank() != 2) return false;
    const int64_t cols = b->dim(node.attr_int("transB", 0) != 0 ? 0 : 1);
    const Shape& shape = constant->shape();
    if (!(shape == Shape{cols} || shape == Shape{1, cols})) return false;
    node.proto.add_input(other);
    node.set_attr_float("beta", 1.0f);
    return true;
}

}  // namespace

int fuse_activation(Graph& graph, const std::set<std::string>& keep) {
    int fused = 0;
    for (size_t p = 0; p < graph.nodes.size(); ++p) {
        if (!is_fusable_producer(graph.nodes[p]) || graph.nodes[p].has_attribute("activation")) continue;
        while (true) {
            Node& node = graph.nodes[p];
            const std::string out = node.output(0);
            const int c = sole_consumer(graph, out, keep);
            if (c < 0) break;
            const Node& consumer = graph.nodes[c];
            bool absorbed = false;
            if (consumer.is_onnx_domain() && consumer.op_type() == "Add" && other_input(consumer, out) >= 0) {
                absorbed = absorb_add(graph, node, static_cast<int>(p), consumer.input(other_input(consumer, out)));
            }
            const auto activation = absorbed ? std::nullopt : activation_of_node(consumer, graph);
            if (activation) set_activation(node, *activation);
            if (!absorbed && !activation) break;
            make_private(node);
            node.proto.set_output(0, consumer.output(0));
            graph.remove_node(static_cast<size_t>(c));
            if (c < static_cast<int>(p)) --p;
            ++fused;
            if (activation) break;
        }
    }
    return fused;
}

}  // namespace pare
