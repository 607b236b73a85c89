#include "graph/passes.h"

namespace pare {

void optimize_graph(Graph& graph, const std::set<std::string>& keep, bool keep_all, LayoutFreeValues* layout_free) {
    if (keep_all) return;  // every value is observed: nothing may disappear
    remove_identities(graph, keep);
    fuse_gelu(graph, keep);
    fold_batch_norm(graph, keep);
    hoist_quantize(graph, keep);
    fuse_qdq(graph, keep);
    run_quantized_data_ops(graph, keep);
    fuse_activation(graph, keep);
    convert_to_channels_last(graph, keep, layout_free);
}

}  // namespace pare
