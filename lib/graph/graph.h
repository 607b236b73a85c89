// Graph IR: nodes, values, initializers and subgraphs, with a small rewriting API used by quantize, prune and
// distill. The GraphProto header keeps everything that is not a node or an initializer (inputs, outputs,
// value_info, sparse initializers, doc string, unknown fields), so an untouched graph saves back unchanged.
#pragma once

#include <onnx/onnx_pb.h>

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/status.h"
#include "core/tensor.h"
#include "graph/node.h"

namespace pare {

/// Static type of a value: element type and dims (-1 for a dimension that is unknown or symbolic).
struct ValueType {
    DType dtype = DType::kUndefined;
    Shape shape;
    bool has_shape = false;                   // false when even the rank is unknown
    std::vector<std::string> symbolic_dims;   // dim_param per axis ("" where the dim is a number)
};

/// Reads a ValueInfoProto's tensor type (non-tensor types come back with kUndefined).
ValueType value_type_from_proto(const onnx::ValueInfoProto& info);

class Graph {
public:
    onnx::GraphProto header;  // node and initializer fields are always empty: see nodes and initializers
    std::vector<Node> nodes;  // in file order, which ONNX requires to be topological
    std::vector<StoredTensor> initializers;

    const std::string& name() const { return header.name(); }

    /// Graph inputs that are not initializers (what a caller must feed).
    std::vector<std::string> input_names() const;
    std::vector<std::string> output_names() const;
    /// Type declared for a graph input, output or value_info entry.
    const onnx::ValueInfoProto* find_value_info(const std::string& name) const;

    const StoredTensor* find_initializer(const std::string& name) const;
    StoredTensor* find_initializer(const std::string& name);
    /// The constant tensor behind a value: an initializer, or the output of a Constant node with a tensor value.
    std::optional<Tensor> constant(const std::string& name) const;

    /// Index of the node that produces `value` in this graph, or -1.
    int producer(const std::string& value) const;
    /// Indices of nodes in this graph that read `value`, including reads from inside their subgraphs.
    std::vector<int> consumers(const std::string& value) const;
    /// Node order in which every node follows the producers of its inputs; an error names a cycle or an
    /// input that nothing defines (outer-scope names given in `outer_scope` count as defined).
    Result<std::vector<int>> topological_order(const std::set<std::string>& outer_scope = {}) const;
    /// Every value name defined here: inputs, initializers, node outputs.
    std::set<std::string> defined_values() const;
    /// Names a subgraph reads from enclosing scopes (used by a node that owns it).
    std::set<std::string> outer_scope_reads() const;

    // Rewriting. Indices of nodes after `index` shift by one on insert and remove.

    /// Replaces every read of `from` by `to` in nodes (subgraphs included) and in graph outputs.
    void replace_uses(const std::string& from, const std::string& to);
    /// Renames a value everywhere: its producer, its readers, graph inputs/outputs and value_info.
    void rename_value(const std::string& from, const std::string& to);
    Node& insert_node(size_t index, Node node);
    void remove_node(size_t index);
    /// Adds an initializer or replaces the value of an existing one (keeping its doc string and layout).
    void set_initializer(const std::string& name, Tensor value);
    void remove_initializer(const std::string& name);
    /// A value or node name not yet used in this graph: `base`, or `base_1`, `base_2`...
    std::string unique_name(const std::string& base) const;
};

/// Calls `visit` on every stored tensor of a graph and its subgraphs: initializers, then each node's tensor
/// attributes (Constant values), in file order.
void for_each_stored_tensor(const Graph& graph, const std::function<void(const StoredTensor&)>& visit);

/// A model: the ModelProto header (graph field empty: see graph) and the main graph.
struct Model {
    onnx::ModelProto header;
    Graph graph;
    /// Directory the external data files were read from ("" if none): saving never overwrites those files.
    std::string external_data_directory;

    /// Opset version imported for a domain ("" and "ai.onnx" are the same), or -1.
    int64_t opset(const std::string& domain = "") const;
};

}  // namespace pare
