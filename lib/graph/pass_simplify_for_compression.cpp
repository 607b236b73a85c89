#include "graph/passes.h"

namespace pare {

int simplify_for_compression(Graph& graph) {
    std::set<std::string> keep;
    for (const auto& output : graph.output_names()) keep.insert(output);
    int changes = remove_identities(graph, keep);
    changes += fold_batch_norm(graph, keep);
    changes += remove_dead_nodes(graph);
    return changes;
}

}  // namespace pare
