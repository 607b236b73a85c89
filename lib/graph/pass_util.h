// Small helpers shared by the graph passes.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "graph/graph.h"

namespace pare {

/// A node with the given op type, inputs, outputs and name (domain "" unless given).
Node make_node(const std::string& op_type, const std::vector<std::string>& inputs,
               const std::vector<std::string>& outputs, const std::string& name, const std::string& domain = "");

/// True for an ai.onnx node of this op type.
bool is_op(const Node& node, const char* op);

/// True if `name` is one of the graph's outputs.
bool is_graph_output(const Graph& graph, const std::string& name);

/// The index of the only node reading `value`, or -1 if several nodes (or none) read it, or if it is a graph
/// output or in `keep`: the conditions under which a pass may fuse the value away.
int sole_consumer(const Graph& graph, const std::string& value, const std::set<std::string>& keep);

/// A Clip's bounds (attributes before opset 11, optional constant inputs after; an absent bound is infinite), or
/// nullopt when one is not constant.
std::optional<std::pair<float, float>> clip_bounds(const Graph& graph, const Node& clip);

/// The range an ai.onnx Relu ([0, inf)) or a Clip with constant bounds clamps its input to; nullopt for other nodes.
std::optional<std::pair<float, float>> activation_bounds(const Graph& graph, const Node& node);

/// Index of the node named `name`, or -1.
int node_index(const Graph& graph, const std::string& name);

/// The value of a one-element float32 constant.
std::optional<float> scalar_constant(const Graph& graph, const std::string& value);

/// The shape of a constant weight, also when it is stored quantized behind a DequantizeLinear (which the session
/// folds at compile time).
std::optional<Shape> weight_shape(const Graph& graph, const std::string& value);

/// True if a and b agree to a relative 1e-6 (constants written by exporters in decimal).
bool nearly_equal(float a, float b);

/// Index of the input of `node` that is not `value` for a two-input node reading `value` (-1 otherwise).
int other_input(const Node& node, const std::string& value);

/// True if two QuantizeLinear / DequantizeLinear nodes have the same constant per-tensor scale and zero point (both
/// present, same types): quantizing what the other dequantized then gives back the same integers.
bool same_quant_params(const Graph& graph, const Node& a, const Node& b);

/// Removes the node producing `value` when nothing reads the value any more and it is neither kept nor a graph output
/// (for single-output nodes such as DequantizeLinear whose readers a pass rewired).
void remove_unread_producer(Graph& graph, const std::string& value, const std::set<std::string>& keep);

/// Adds an initializer under a fresh name derived from `base` and returns the name.
std::string add_initializer(Graph& graph, const std::string& base, Tensor value);

}  // namespace pare
