#include "graph/graph.h"

#include <algorithm>
#include <functional>

namespace pare {

ValueType value_type_from_proto(const onnx::ValueInfoProto& info) {
    ValueType type;
    if (!info.has_type() || !info.type().has_tensor_type()) return type;
    const auto& tensor_type = info.type().tensor_type();
    type.dtype = dtype_from_onnx(tensor_type.elem_type());
    if (!tensor_type.has_shape()) return type;
    type.has_shape = true;
    for (const auto& dim : tensor_type.shape().dim()) {
        type.shape.push_back(dim.has_dim_value() ? dim.dim_value() : -1);
        type.symbolic_dims.push_back(dim.has_dim_param() ? dim.dim_param() : "");
    }
    return type;
}

std::vector<std::string> Graph::input_names() const {
    std::vector<std::string> names;
    for (const auto& input : header.input()) {
        if (!find_initializer(input.name())) names.push_back(input.name());
    }
    return names;
}

std::vector<std::string> Graph::output_names() const {
    std::vector<std::string> names;
    for (const auto& output : header.output()) names.push_back(output.name());
    return names;
}

const onnx::ValueInfoProto* Graph::find_value_info(const std::string& name) const {
    for (const auto* list : {&header.input(), &header.output(), &header.value_info()}) {
        for (const auto& info : *list) {
            if (info.name() == name) return &info;
        }
    }
    return nullptr;
}

const StoredTensor* Graph::find_initializer(const std::string& name) const {
    for (const auto& init : initializers) {
        if (init.name() == name) return &init;
    }
    return nullptr;
}

StoredTensor* Graph::find_initializer(const std::string& name) {
    return const_cast<StoredTensor*>(static_cast<const Graph*>(this)->find_initializer(name));
}

std::optional<Tensor> Graph::constant(const std::string& name) const {
    if (name.empty()) return std::nullopt;
    if (const StoredTensor* init = find_initializer(name)) {
        if (init->value.defined()) return init->value;
        return std::nullopt;
    }
    const int index = producer(name);
    if (index < 0) return std::nullopt;
    const Node& node = nodes[index];
    if (node.op_type() != "Constant" || !node.is_onnx_domain()) return std::nullopt;
    if (const Tensor* value = node.attr_tensor("value")) {
        if (value->defined()) return *value;
        return std::nullopt;
    }
    // Constant's scalar and list forms (opset 12+).
    if (const auto* attr = node.attribute("value_float")) return tensor_from_vector<float>({attr->f()}, {});
    if (const auto* attr = node.attribute("value_int")) return tensor_from_vector<int64_t>({attr->i()}, {});
    if (const auto* attr = node.attribute("value_floats")) {
        const std::vector<float> values(attr->floats().begin(), attr->floats().end());
        return tensor_from_vector<float>(values, {static_cast<int64_t>(values.size())});
    }
    if (const auto* attr = node.attribute("value_ints")) {
        const std::vector<int64_t> values(attr->ints().begin(), attr->ints().end());
        return tensor_from_vector<int64_t>(values, {static_cast<int64_t>(values.size())});
    }
    return std::nullopt;
}

int Graph::producer(const std::string& value) const {
    if (value.empty()) return -1;
    for (size_t i = 0; i < nodes.size(); ++i) {
        for (const auto& output : nodes[i].proto.output()) {
            if (output == value) return static_cast<int>(i);
        }
    }
    return -1;
}

namespace {

// True if the node reads `value` directly or through one of its subgraphs.
bool node_reads(const Node& node, const std::string& value) {
    for (const auto& input : node.proto.input()) {
        if (input == value) return true;
    }
    for (const auto& [name, graph] : node.subgraphs) {
        if (graph->outer_scope_reads().count(value)) return true;
    }
    return false;
}

}  // namespace

std::vector<int> Graph::consumers(const std::string& value) const {
    std::vector<int> result;
    if (value.empty()) return result;
    for (size_t i = 0; i < nodes.size(); ++i) {
        if (node_reads(nodes[i], value)) result.push_back(static_cast<int>(i));
    }
    return result;
}

std::set<std::string> Graph::defined_values() const {
    std::set<std::string> names;
    for (const auto& input : header.input()) names.insert(input.name());
    for (const auto& init : initializers) names.insert(init.name());
    for (const auto& sparse : header.sparse_initializer()) names.insert(sparse.values().name());
    for (const auto& node : nodes) {
        for (const auto& output : node.proto.output()) {
            if (!output.empty()) names.insert(output);
        }
    }
    return names;
}

std::set<std::string> Graph::outer_scope_reads() const {
    const std::set<std::string> defined = defined_values();
    std::set<std::string> reads;
    auto note = [&](const std::string& name) {
        if (!name.empty() && !defined.count(name)) reads.insert(name);
    };
    for (const auto& node : nodes) {
        for (const auto& input : node.proto.input()) note(input);
        for (const auto& [attr, graph] : node.subgraphs) {
            for (const auto& name : graph->outer_scope_reads()) note(name);
        }
    }
    for (const auto& output : header.output()) note(output.name());
    return reads;
}

Result<std::vector<int>> Graph::topological_order(const std::set<std::string>& outer_scope) const {
    std::map<std::string, int> producer_of;
    for (size_t i = 0; i < nodes.size(); ++i) {
        for (const auto& output : nodes[i].proto.output()) {
            if (!output.empty()) producer_of[output] = static_cast<int>(i);
        }
    }
    std::set<std::string> available = outer_scope;
    for (const auto& input : header.input()) available.insert(input.name());
    for (const auto& init : initializers) available.insert(init.name());
    for (const auto& sparse : header.sparse_initializer()) available.insert(sparse.values().name());

    // Iterative depth-first search keeps file order where it is already valid.
    std::vector<int> order;
    std::vector<int> state(nodes.size(), 0);  // 0 new, 1 on stack, 2 done
    std::function<Status(int)> visit = [&](int index) -> Status {
        if (state[index] == 2) return Status();
        if (state[index] == 1) return invalid_input("graph has a cycle through node " + nodes[index].describe());
        state[index] = 1;
        std::vector<std::string> reads(nodes[index].proto.input().begin(), nodes[index].proto.input().end());
        for (const auto& [attr, graph] : nodes[index].subgraphs) {
            for (const auto& name : graph->outer_scope_reads()) reads.push_back(name);
        }
        for (const auto& input : reads) {
            if (input.empty() || available.count(input)) continue;
            auto it = producer_of.find(input);
            if (it == producer_of.end()) {
                return invalid_input("node " + nodes[index].describe() + " reads '" + input +
                                     "', which no input, initializer or node defines");
            }
            PARE_RETURN_IF_ERROR(visit(it->second));
        }
        state[index] = 2;
        order.push_back(index);
        return Status();
    };
    for (size_t i = 0; i < nodes.size(); ++i) PARE_RETURN_IF_ERROR(visit(static_cast<int>(i)));
    return order;
}

namespace {

void replace_in_repeated(google::protobuf::RepeatedPtrField<std::string>* names, const std::string& from,
                         const std::string& to) {
    for (auto& name : *names) {
        if (name == from) name = to;
    }
}

}  // namespace

void Graph::replace_uses(const std::string& from, const std::string& to) {
    for (auto& node : nodes) {
        replace_in_repeated(node.proto.mutable_input(), from, to);
        for (auto& [attr, graph] : node.subgraphs) {
            // A subgraph that defines the name itself shadows the outer one.
            if (!graph->defined_values().count(from)) graph->replace_uses(from, to);
        }
    }
    for (auto& output : *header.mutable_output()) {
        if (output.name() == from) output.set_name(to);
    }
}

void Graph::rename_value(const std::string& from, const std::string& to) {
    replace_uses(from, to);
    for (auto& node : nodes) replace_in_repeated(node.proto.mutable_output(), from, to);
    for (auto* list : {header.mutable_input(), header.mutable_value_info()}) {
        for (auto& info : *list) {
            if (info.name() == from) info.set_name(to);
        }
    }
    if (StoredTensor* init = find_initializer(from)) init->header.set_name(to);
}

Node& Graph::insert_node(size_t index, Node node) {
    index = std::min(index, nodes.size());
    return *nodes.insert(nodes.begin() + static_cast<std::ptrdiff_t>(index), std::move(node));
}

void Graph::remove_node(size_t index) {
    if (index < nodes.size()) nodes.erase(nodes.begin() + static_cast<std::ptrdiff_t>(index));
}

void Graph::set_initializer(const std::string& name, Tensor value) {
    if (StoredTensor* init = find_initializer(name)) {
        init->value = std::move(value);
        // The old payload layout may not fit the new dtype or size: store the new value inline.
        if (init->storage != TensorStorage::kExternal) init->storage = TensorStorage::kRaw;
        return;
    }
    StoredTensor stored;
    stored.header.set_name(name);
    stored.value = std::move(value);
    stored.storage = TensorStorage::kRaw;
    initializers.push_back(std::move(stored));
}

void Graph::remove_initializer(const std::string& name) {
    initializers.erase(std::remove_if(initializers.begin(), initializers.end(),
                                      [&](const StoredTensor& init) { return init.name() == name; }),
                       initializers.end());
}

std::string Graph::unique_name(const std::string& base) const {
    std::set<std::string> taken = defined_values();
    for (const auto& node : nodes) taken.insert(node.name());
    if (!taken.count(base)) return base;
    for (int i = 1;; ++i) {
        std::string candidate = base + "_" + std::to_string(i);
        if (!taken.count(candidate)) return candidate;
    }
}

void for_each_stored_tensor(const Graph& graph, const std::function<void(const StoredTensor&)>& visit) {
    for (const auto& init : graph.initializers) visit(init);
    for (const auto& node : graph.nodes) {
        for (const auto& [name, stored] : node.tensor_attributes) visit(stored);
        for (const auto& [name, subgraph] : node.subgraphs) for_each_stored_tensor(*subgraph, visit);
    }
}

int64_t Model::opset(const std::string& domain) const {
    const bool onnx_domain = domain.empty() || domain == "ai.onnx";
    for (const auto& entry : header.opset_import()) {
        const bool entry_onnx = entry.domain().empty() || entry.domain() == "ai.onnx";
        if (onnx_domain ? entry_onnx : entry.domain() == domain) return entry.version();
    }
    return -1;
}

}  // namespace pare
