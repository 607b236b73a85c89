#include "graph/passes.h"

namespace pare {

void optimize_graph(Graph& graph, const std::set<std::string>& keep, bool keep_all) {
    if (keep_all) return;  // every value is observed: nothing may disappear
    remove_identities(graph, keep);
}

}  // namespace pare
