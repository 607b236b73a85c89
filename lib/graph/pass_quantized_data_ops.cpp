// Runs max pooling and data movement directly on quantized tensors: when DequantizeLinear feeds MaxPool, Flatten,
// Reshape, Transpose, Squeeze, Unsqueeze or Concat, and a QuantizeLinear with the same per-tensor scale and zero
// point reads the result, the op takes the quantized input and produces the quantized output. Exact: these ops only
// select or move elements, and quantize(dequantize(q)) == q for equal parameters.
#include <algorithm>

#include "graph/pass_util.h"
#include "graph/passes.h"

namespace pare {

namespace {

bool is_data_op(const Node& node) {
    if (!node.is_onnx_domain() || node.num_outputs() != 1) return false;
    for (const char* op :
         {"MaxPool", "GlobalMaxPool", "Flatten", "Reshape", "Transpose", "Squeeze", "Unsqueeze", "Concat"}) {
        if (node.op_type() == op) return true;
    }
    return false;
}

// Inputs of the op that carry data (the rest are shapes and axes).
int data_inputs(const Node& node) { return node.op_type() == "Concat" ? node.num_inputs() : 1; }

// Rewrites the op at `index` if its pattern matches; true if it did.
bool rewrite(Graph& graph, size_t index, const std::set<std::string>& keep) {
    const Node& node = graph.nodes[index];
    if (!is_data_op(node)) return false;
    const int q = sole_consumer(graph, node.output(0), keep);
    if (q < 0 || !is_op(graph.nodes[q], "QuantizeLinear") || graph.nodes[q].has_attribute("output_dtype")) return false;
    std::vector<int> dequantizers;
    for (int k = 0; k < data_inputs(node); ++k) {
        const int dq = graph.producer(node.input(k));
        if (dq < 0 || !is_op(graph.nodes[dq], "DequantizeLinear") ||
            !same_quant_params(graph, graph.nodes[dq], graph.nodes[q])) {
            return false;
        }
        dequantizers.push_back(dq);
    }
    Node& op = graph.nodes[index];
    std::vector<std::string> dequantized;
    for (int k = 0; k < data_inputs(op); ++k) {
        dequantized.push_back(op.input(k));
        op.proto.set_input(k, graph.nodes[dequantizers[k]].input(0));
    }
    op.proto.set_output(0, graph.nodes[q].output(0));
    graph.remove_node(static_cast<size_t>(q));
    for (const auto& value : dequantized) remove_unread_producer(graph, value, keep);
    return true;
}

}  // namespace

int run_quantized_data_ops(Graph& graph, const std::set<std::string>& keep) {
    // One rewrite never creates a match for another node (it adds no Q or DQ), so one scan is enough.
    int rewritten = 0;
    for (size_t i = 0; i < graph.nodes.size(); ++i) {
        const size_t before = graph.nodes.size();
        if (!rewrite(graph, i, keep)) continue;
        ++rewritten;
        // The QuantizeLinear after the op went, and the DequantizeLinear nodes before it that nothing else read.
        i -= std::min(i, before - graph.nodes.size() - 1);
    }
    return rewritten;
}

}  // namespace pare
