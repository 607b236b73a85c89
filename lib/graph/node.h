// Node of the graph IR. The NodeProto is the single source of truth for name, op type, domain, inputs, outputs and
// plain attributes, so unknown fields survive a round trip. Tensor and graph attributes are lifted out of the proto
// (decoded tensors, nested Graphs) and put back on save.
#pragma once

#include <onnx/onnx_pb.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"

namespace pare {

class Graph;

/// How a tensor's payload was stored in the file, so it is written back the same way.
enum class TensorStorage {
    kNone,      // no payload field present (an empty tensor)
    kRaw,       // raw_data
    kTyped,     // float_data / int32_data / int64_data / double_data / uint64_data
    kExternal,  // external data file
    kOpaque,    // a dtype pare does not decode (string, complex, float8): the proto is kept whole
};

/// A tensor as it lives in a model: the decoded value plus the TensorProto without its payload (name, dims, doc
/// string, external-data entries, unknown fields).
struct StoredTensor {
    onnx::TensorProto header;
    Tensor value;
    TensorStorage storage = TensorStorage::kRaw;

    const std::string& name() const { return header.name(); }
};

struct Node {
    Node();
    explicit Node(onnx::NodeProto node_proto);
    Node(const Node& other);
    Node& operator=(const Node& other);
    Node(Node&&) noexcept;
    Node& operator=(Node&&) noexcept;
    ~Node();

    onnx::NodeProto proto;
    /// Attributes of type TENSOR, decoded (attribute name -> tensor); the proto keeps a payload-less placeholder.
    std::vector<std::pair<std::string, StoredTensor>> tensor_attributes;
    /// Attributes of type GRAPH (If then/else, Loop and Scan bodies), lifted into Graphs.
    std::vector<std::pair<std::string, std::unique_ptr<Graph>>> subgraphs;

    const std::string& name() const { return proto.name(); }
    const std::string& op_type() const { return proto.op_type(); }
    const std::string& domain() const { return proto.domain(); }
    /// True for the default ONNX domain ("" or "ai.onnx").
    bool is_onnx_domain() const { return proto.domain().empty() || proto.domain() == "ai.onnx"; }
    /// "Conv 'conv1'" or "Conv #12" for messages.
    std::string describe() const;

    int num_inputs() const { return proto.input_size(); }
    int num_outputs() const { return proto.output_size(); }
    /// Input i, or "" when absent or omitted (optional inputs are written as empty names).
    const std::string& input(int i) const;
    const std::string& output(int i) const;
    bool has_input(int i) const { return !input(i).empty(); }

    const onnx::AttributeProto* attribute(const std::string& name) const;
    bool has_attribute(const std::string& name) const { return attribute(name) != nullptr; }
    int64_t attr_int(const std::string& name, int64_t fallback) const;
    float attr_float(const std::string& name, float fallback) const;
    std::string attr_string(const std::string& name, const std::string& fallback) const;
    std::vector<int64_t> attr_ints(const std::string& name) const;
    std::vector<float> attr_floats(const std::string& name) const;
    /// A decoded TENSOR attribute, or nullptr.
    const Tensor* attr_tensor(const std::string& name) const;
    /// A GRAPH attribute, or nullptr.
    Graph* subgraph(const std::string& name) const;

    void set_attr_int(const std::string& name, int64_t value);
    void set_attr_ints(const std::string& name, const std::vector<int64_t>& values);
    void set_attr_float(const std::string& name, float value);
    void set_attr_string(const std::string& name, const std::string& value);

private:
    onnx::AttributeProto* mutable_attribute(const std::string& name, onnx::AttributeProto_AttributeType type);
};

}  // namespace pare
