// Moves a per-tensor QuantizeLinear above the MaxPool or data-movement op it follows:
//
//   x -> MaxPool / Flatten / Reshape / Transpose / Squeeze / Unsqueeze -> Q   ==>   x -> Q -> the same op (on int8)
//   a, b, ... -> Concat -> Q                                                 ==>   Q(a), Q(b), ... -> Concat
//
// Exact: these ops only select or move elements, and quantization is monotonic, so quantizing before or after gives
// the same integers (max of quantized values = quantized max; a MaxPool pad never wins a window that holds an input
// element). A moved Q that would read a DequantizeLinear with its own parameters is left out: it would give the
// DequantizeLinear's input back. QDQ models quantize where an activation is read, often after such an op (Conv -> Relu
// -> MaxPool -> Q); once the Q sits right after the Relu, fuse_qdq can turn the Conv into an integer convolution.
#include "graph/pass_util.h"
#include "graph/passes.h"

namespace pare {

namespace {

bool is_movable(const Node& node) {
    if (!node.is_onnx_domain() || node.num_outputs() != 1 || node.num_inputs() < 1) return false;
    for (const char* op :
         {"MaxPool", "GlobalMaxPool", "Flatten", "Reshape", "Transpose", "Squeeze", "Unsqueeze", "Concat"}) {
        if (node.op_type() == op) return true;
    }
    return false;
}

bool per_tensor_quantize(const Graph& graph, const Node& node) {
    if (!node.is_onnx_domain() || node.op_type() != "QuantizeLinear" || node.num_inputs() < 2) return false;
    if (node.attr_int("block_size", 0) != 0) return false;
    const auto scale = graph.constant(node.input(1));
    return scale && scale->numel() == 1 && (!node.has_input(2) || graph.constant(node.input(2)));
}

}  // namespace

int hoist_quantize(Graph& graph, const std::set<std::string>& keep) {
    int moved = 0;
    for (bool changed = true; changed;) {
        changed = false;
        for (size_t i = 0; i < graph.nodes.size() && !changed; ++i) {
            const Node& op = graph.nodes[i];
            if (!is_movable(op)) continue;
            const int q = sole_consumer(graph, op.output(0), keep);
            if (q < 0 || !per_tensor_quantize(graph, graph.nodes[q])) continue;
            // A copy of the Q now quantizes each data input into a fresh value only the op reads; the op produces
            // what the Q produced.
            const Node quantize = graph.nodes[q];
            const std::string result = quantize.output(0);
            graph.remove_node(static_cast<size_t>(q));
            size_t at = q < static_cast<int>(i) ? i - 1 : i;
            const int data_inputs = graph.nodes[at].op_type() == "Concat" ? graph.nodes[at].num_inputs() : 1;
            std::vector<std::string> bypassed;  // dequantized values the op no longer reads
            for (int k = 0; k < data_inputs; ++k) {
                const std::string input = graph.nodes[at].input(k);
                // Quantizing what a DequantizeLinear with the same parameters produced gives its input back.
                const int dq = graph.producer(input);
                if (dq >= 0 && graph.nodes[dq].op_type() == "DequantizeLinear" &&
                    same_quant_params(graph, graph.nodes[dq], quantize)) {
                    graph.nodes[at].proto.set_input(k, graph.nodes[dq].input(0));
                    bypassed.push_back(input);
                    continue;
                }
                Node copy = quantize;
                const std::string quantized = graph.unique_name(input + "_quantized");
                copy.proto.set_name(graph.unique_name(quantize.name() + "_" + std::to_string(k)));
                copy.proto.set_input(0, input);
                copy.proto.set_output(0, quantized);
                graph.nodes[at].proto.set_input(k, quantized);
                graph.insert_node(at++, std::move(copy));
            }
            graph.nodes[at].proto.set_output(0, result);
            for (const auto& value : bypassed) remove_unread_producer(graph, value, keep);
            ++moved;
            changed = true;
        }
    }
    return moved;
}

}  // namespace pare
