#include <set>

#include "graph/passes.h"

namespace pare {

int remove_dead_nodes(Graph& graph) {
    int removed = 0;
    // Walk backwards so a chain of dead nodes goes in one pass.
    std::set<std::string> used;
    for (const auto& output : graph.output_names()) used.insert(output);
    std::vector<bool> alive(graph.nodes.size(), false);
    for (size_t i = graph.nodes.size(); i-- > 0;) {
        const Node& node = graph.nodes[i];
        bool needed = false;
        for (const auto& output : node.proto.output()) needed = needed || (!output.empty() && used.count(output));
        if (!needed) continue;
        alive[i] = true;
        for (const auto& input : node.proto.input()) used.insert(input);
        for (const auto& [attr, body] : node.subgraphs) {
            for (const auto& name : body->outer_scope_reads()) used.insert(name);
        }
    }
    std::vector<Node> kept;
    for (size_t i = 0; i < graph.nodes.size(); ++i) {
        if (alive[i]) kept.push_back(std::move(graph.nodes[i]));
        else ++removed;
    }
    graph.nodes = std::move(kept);
    std::vector<StoredTensor> initializers;
    std::set<std::string> dropped;
    for (auto& init : graph.initializers) {
        if (used.count(init.name())) initializers.push_back(std::move(init));
        else dropped.insert(init.name());
    }
    graph.initializers = std::move(initializers);
    // An initializer listed as a graph input (IR < 4 style) leaves the input list with it, or it would become a
    // required input.
    auto* inputs = graph.header.mutable_input();
    for (int i = inputs->size() - 1; i >= 0; --i) {
        if (dropped.count(inputs->Get(i).name())) inputs->DeleteSubrange(i, 1);
    }
    return removed;
}

}  // namespace pare
