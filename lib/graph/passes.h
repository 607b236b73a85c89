// Graph passes run when a session compiles: rewrites that keep results equal (up to float rounding) and make them
// faster. Values in `keep` (graph outputs, observed values) are never removed or fused away.
#pragma once

#include <set>
#include <string>

#include "graph/graph.h"

namespace pare {

/// Runs every pass in order.
void optimize_graph(Graph& graph, const std::set<std::string>& keep, bool keep_all);

/// Removes Identity and inference-mode Dropout nodes, reading their input directly. Returns nodes removed.
int remove_identities(Graph& graph, const std::set<std::string>& keep);

/// Removes nodes none of whose outputs reach a graph output, then initializers nothing reads (those listed as graph
/// inputs leave the input list too). Returns nodes removed.
int remove_dead_nodes(Graph& graph);

}  // namespace pare
