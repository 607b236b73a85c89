#include "graph/passes.h"

namespace pare {

int remove_identities(Graph& graph, const std::set<std::string>& keep) {
    int removed = 0;
    for (size_t i = 0; i < graph.nodes.size();) {
        const Node& node = graph.nodes[i];
        // Dropout is an identity at inference unless its mask output is used or training_mode is set.
        const bool dropout = node.op_type() == "Dropout" && node.num_outputs() == 1 && node.num_inputs() <= 2;
        const bool identity = node.op_type() == "Identity" || dropout;
        if (!node.is_onnx_domain() || !identity || node.output(0).empty() || keep.count(node.output(0))) {
            ++i;
            continue;
        }
        const std::string from = node.output(0), to = node.input(0);
        graph.remove_node(i);
        graph.replace_uses(from, to);
        ++removed;
    }
    return removed;
}

}  // namespace pare
