// Kernel interface: built from one node, prepared once per set of input types, then run many times.
// Kernels never own graph memory: the session allocates every output before run().
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "core/tensor.h"
#include "graph/graph.h"

namespace pare {

/// What a kernel knows about one input when it is prepared.
struct InputInfo {
    bool present = true;          // false for an omitted optional input
    DType dtype = DType::kUndefined;
    Shape shape;
    std::optional<Tensor> value;  // known value: constants at compile time; every input when a kernel whose
                                  // output shapes were unknown at compile time is prepared at run time
};

/// The type of one output as prepare() computed it.
struct OutputInfo {
    DType dtype = DType::kUndefined;
    Shape shape;
    bool shape_known = true;  // false when the shape depends on input values not known yet: the session then
                              // prepares the kernel again at run time with every input value
};

/// Runs a compiled subgraph (If branches, Loop bodies). Provided by the session to control-flow kernels.
class SubgraphRunner {
public:
    virtual ~SubgraphRunner() = default;
    /// Runs with the subgraph's formal inputs and the outer-scope values it reads (by name).
    virtual Result<std::vector<Tensor>> run(const std::vector<Tensor>& inputs,
                                            const std::map<std::string, Tensor>& outer_values) = 0;
};

/// Everything a kernel factory may look at when it builds a kernel for a node.
struct KernelContext {
    const Node& node;
    int64_t opset = 0;                 // opset version imported for the node's domain
    const Graph& graph;                // the graph the node belongs to
    /// Names read from enclosing scopes by this node's subgraphs; their tensors follow the explicit inputs in
    /// run() and prepare(), in this order.
    std::vector<std::string> implicit_inputs;
    /// Compiles one of this node's subgraphs.
    std::function<Result<std::unique_ptr<SubgraphRunner>>(const Graph&)> compile_subgraph;
    int threads = 1;
};

class Kernel {
public:
    virtual ~Kernel() = default;
    /// Checks inputs and computes output types; creates primitives and sizes scratch space. Called at compile time
    /// with the input types known then, and again when the actual input types differ.
    virtual Status prepare(const std::vector<InputInfo>& inputs, std::vector<OutputInfo>& outputs) = 0;
    /// Computes the outputs, which the session allocated with the prepared types. Omitted inputs are undefined
    /// tensors.
    virtual Status run(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs) = 0;
    /// For pure view ops (Reshape, Squeeze, Flatten, Identity...): output `output` is input `alias_of(output)`
    /// reinterpreted with the prepared shape, and run() is never called. -1: a real output.
    virtual int alias_of(int output) const { return -1; }
};

using KernelPtr = std::unique_ptr<Kernel>;

}  // namespace pare
