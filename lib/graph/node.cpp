#include "graph/node.h"

#include "graph/graph.h"

namespace pare {

Node::Node(const Node& other) : proto(other.proto), tensor_attributes(other.tensor_attributes) {
    for (const auto& [name, graph] : other.subgraphs) subgraphs.emplace_back(name, std::make_unique<Graph>(*graph));
}

Node& Node::operator=(const Node& other) {
    if (this != &other) *this = Node(other);
    return *this;
}

// Defined here, where Graph is complete, because they destroy subgraphs.
Node::Node() = default;
Node::Node(onnx::NodeProto node_proto) : proto(std::move(node_proto)) {}
Node::Node(Node&&) noexcept = default;
Node& Node::operator=(Node&&) noexcept = default;
Node::~Node() = default;

std::string Node::describe() const {
    return op_type() + (name().empty() ? std::string(" (unnamed)") : " '" + name() + "'");
}

const std::string& Node::input(int i) const {
    static const std::string kEmpty;
    return i < proto.input_size() ? proto.input(i) : kEmpty;
}

const std::string& Node::output(int i) const {
    static const std::string kEmpty;
    return i < proto.output_size() ? proto.output(i) : kEmpty;
}

const onnx::AttributeProto* Node::attribute(const std::string& name) const {
    for (const auto& attr : proto.attribute()) {
        if (attr.name() == name) return &attr;
    }
    return nullptr;
}

int64_t Node::attr_int(const std::string& name, int64_t fallback) const {
    const auto* attr = attribute(name);
    return attr && attr->has_i() ? attr->i() : fallback;
}

float Node::attr_float(const std::string& name, float fallback) const {
    const auto* attr = attribute(name);
    return attr && attr->has_f() ? attr->f() : fallback;
}

std::string Node::attr_string(const std::string& name, const std::string& fallback) const {
    const auto* attr = attribute(name);
    return attr && attr->has_s() ? attr->s() : fallback;
}

std::vector<int64_t> Node::attr_ints(const std::string& name) const {
    const auto* attr = attribute(name);
    if (!attr) return {};
    return std::vector<int64_t>(attr->ints().begin(), attr->ints().end());
}

std::vector<float> Node::attr_floats(const std::string& name) const {
    const auto* attr = attribute(name);
    if (!attr) return {};
    return std::vector<float>(attr->floats().begin(), attr->floats().end());
}

const Tensor* Node::attr_tensor(const std::string& name) const {
    for (const auto& [attr_name, stored] : tensor_attributes) {
        if (attr_name == name) return &stored.value;
    }
    return nullptr;
}

Graph* Node::subgraph(const std::string& name) const {
    for (const auto& [attr_name, graph] : subgraphs) {
        if (attr_name == name) return graph.get();
    }
    return nullptr;
}

onnx::AttributeProto* Node::mutable_attribute(const std::string& name, onnx::AttributeProto_AttributeType type) {
    for (auto& attr : *proto.mutable_attribute()) {
        if (attr.name() == name) {
            attr.Clear();
            attr.set_name(name);
            attr.set_type(type);
            return &attr;
        }
    }
    auto* attr = proto.add_attribute();
    attr->set_name(name);
    attr->set_type(type);
    return attr;
}

void Node::set_attr_int(const std::string& name, int64_t value) {
    mutable_attribute(name, onnx::AttributeProto::INT)->set_i(value);
}

void Node::set_attr_ints(const std::string& name, const std::vector<int64_t>& values) {
    auto* attr = mutable_attribute(name, onnx::AttributeProto::INTS);
    for (int64_t v : values) attr->add_ints(v);
}

void Node::set_attr_float(const std::string& name, float value) {
    mutable_attribute(name, onnx::AttributeProto::FLOAT)->set_f(value);
}

void Node::set_attr_string(const std::string& name, const std::string& value) {
    mutable_attribute(name, onnx::AttributeProto::STRING)->set_s(value);
}

}  // namespace pare
