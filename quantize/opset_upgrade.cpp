#include "quantize/opset_upgrade.h"

#include <map>
#include <set>
#include <string>

namespace pare {

namespace {

// Reduce ops whose `axes` attribute became their second input at opset 18 (ReduceSum moved at 13).
const std::set<std::string> kReduceAxesToInput18 = {"ReduceL1",        "ReduceL2",   "ReduceLogSum",
                                                    "ReduceLogSumExp", "ReduceMax",  "ReduceMean",
                                                    "ReduceMin",       "ReduceProd", "ReduceSumSquare"};

// Ops whose meaning changed at the given opset in a way no attribute default preserves.
const std::map<std::string, int64_t> kIncompatibleSince = {
    {"RoiAlign", 16},            // default coordinate_transformation_mode became half_pixel
    {"DFT", 20},                 // axis moved from an attribute to an input with a different default
    {"GridSample", 20},          // mode values renamed (bilinear -> linear, bicubic -> cubic)
    {"GroupNormalization", 21},  // scale and bias went from per-group to per-channel
};

bool crosses(int64_t from, int64_t to, int64_t version) { return from < version && version <= to; }

// Checks every node of `graph` (and its subgraphs) first; only when all pass are the rewrites applied.
Status check_graph(const Graph& graph, int64_t from, int64_t to) {
    for (const Node& node : graph.nodes) {
        for (const auto& [name, subgraph] : node.subgraphs) PARE_RETURN_IF_ERROR(check_graph(*subgraph, from, to));
        if (!node.is_onnx_domain()) continue;
        auto it = kIncompatibleSince.find(node.op_type());
        if (it != kIncompatibleSince.end() && crosses(from, to, it->second)) {
            return unsupported(node.describe() + " changed meaning at opset " + std::to_string(it->second) +
                               ": the model cannot be raised from opset " + std::to_string(from) + " to " +
                               std::to_string(to));
        }
        if (node.op_type() == "BatchNormalization" && node.num_outputs() > 1 && crosses(from, to, 14)) {
            return unsupported(node.describe() +
                               " has training outputs, whose meaning changed at opset 14: the "
                               "model cannot be raised from opset " +
                               std::to_string(from) + " to " + std::to_string(to));
        }
    }
    return Status();
}

void remove_attribute(Node& node, const std::string& name) {
    auto* attributes = node.proto.mutable_attribute();
    for (int i = 0; i < attributes->size(); ++i) {
        if (attributes->Get(i).name() == name) {
            attributes->DeleteSubrange(i, 1);
            return;
        }
    }
}

void upgrade_graph(Graph& graph, int64_t from, int64_t to) {
    for (Node& node : graph.nodes) {
        for (auto& [name, subgraph] : node.subgraphs) upgrade_graph(*subgraph, from, to);
        if (!node.is_onnx_domain() || !crosses(from, to, 18)) continue;
        if (kReduceAxesToInput18.count(node.op_type()) && node.has_attribute("axes")) {
            const std::vector<int64_t> axes = node.attr_ints("axes");
            const std::string axes_name = graph.unique_name(node.output(0) + "_axes");
            graph.set_initializer(axes_name, tensor_from_vector<int64_t>(axes, {static_cast<int64_t>(axes.size())}));
            remove_attribute(node, "axes");
            if (node.num_inputs() < 2) node.proto.add_input(axes_name);
        } else if (node.op_type() == "Split" && !node.has_input(1) && !node.has_attribute("num_outputs")) {
            node.set_attr_int("num_outputs", node.num_outputs());
        }
    }
}

// IR version that first allows an opset (ONNX's versioning table).
int64_t ir_version_for(int64_t opset) {
    if (opset >= 23) return 11;
    if (opset >= 21) return 10;
    if (opset >= 19) return 9;
    return 8;
}

}  // namespace

Status raise_onnx_opset(Model& model, int64_t target) {
    const int64_t from = model.opset();
    if (from < target) {
        PARE_RETURN_IF_ERROR(check_graph(model.graph, from, target));
        upgrade_graph(model.graph, from, target);
        for (auto& entry : *model.header.mutable_opset_import()) {
            if (entry.domain().empty() || entry.domain() == "ai.onnx") entry.set_version(target);
        }
    }
    if (model.header.ir_version() < ir_version_for(target)) model.header.set_ir_version(ir_version_for(target));
    return Status();
}

}  // namespace pare
