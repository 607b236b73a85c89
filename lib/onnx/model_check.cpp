#include "onnx/model_check.h"

#include <set>

namespace pare {

namespace {

Status check_graph(const Graph& graph, const std::set<std::string>& outer_scope, const std::set<std::string>& domains,
                   const std::string& where) {
    std::set<std::string> produced;
    for (const auto& init : graph.initializers) {
        if (init.name().empty()) return invalid_input(where + " has an initializer without a name");
    }
    for (const Node& node : graph.nodes) {
        if (node.op_type().empty()) return invalid_input(where + " has a node without an op type");
        const std::string domain = node.is_onnx_domain() ? "" : node.domain();
        if (!domains.count(domain)) {
            return invalid_input("node " + node.describe() + " uses domain '" + (domain.empty() ? "ai.onnx" : domain) +
                                 "', which the model does not import");
        }
        for (const auto& output : node.proto.output()) {
            if (!output.empty() && !produced.insert(output).second) {
                return invalid_input(where + ": value '" + output + "' is produced by more than one node");
            }
        }
    }
    auto order = graph.topological_order(outer_scope);
    if (!order.ok()) return order.status().with_context(where);

    std::set<std::string> visible = outer_scope;
    const std::set<std::string> defined = graph.defined_values();
    visible.insert(defined.begin(), defined.end());
    for (const auto& output : graph.header.output()) {
        if (!visible.count(output.name())) {
            return invalid_input(where + ": output '" + output.name() + "' is not produced by any node");
        }
    }
    for (const Node& node : graph.nodes) {
        for (const auto& [attr, body] : node.subgraphs) {
            PARE_RETURN_IF_ERROR(check_graph(*body, visible, domains, "subgraph '" + attr + "' of " + node.describe()));
        }
    }
    return Status();
}

}  // namespace

Status check_model_header(const onnx::ModelProto& proto) {
    if (!proto.has_graph()) return invalid_input("not an ONNX model: it has no graph (truncated or not ONNX)");
    if (proto.ir_version() <= 0) return invalid_input("not an ONNX model: it has no IR version");
    if (proto.opset_import_size() == 0) return invalid_input("the model imports no opset (truncated?)");
    for (const auto& entry : proto.opset_import()) {
        if (entry.version() <= 0) return invalid_input("the model imports an invalid opset version (truncated?)");
    }
    return Status();
}

Status check_model_graph(const Model& model) {
    std::set<std::string> domains;
    for (const auto& entry : model.header.opset_import()) {
        domains.insert(entry.domain() == "ai.onnx" ? "" : entry.domain());
    }
    return check_graph(model.graph, {}, domains, "graph '" + model.graph.name() + "'");
}

}  // namespace pare
