// Builds small models in code and runs them through a Session, for kernel tests.
#pragma once

#include <doctest/doctest.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "exec/session.h"
#include "graph/graph.h"

namespace pare_test {

/// A tensor-typed ValueInfoProto; dims < 0 are left unknown, and has_shape false leaves out the shape.
inline onnx::ValueInfoProto value_info(const std::string& name, pare::DType dtype, const pare::Shape& shape = {},
                                       bool has_shape = true) {
    onnx::ValueInfoProto info;
    info.set_name(name);
    auto* tensor_type = info.mutable_type()->mutable_tensor_type();
    tensor_type->set_elem_type(static_cast<int32_t>(dtype));
    if (has_shape) {
        auto* shape_proto = tensor_type->mutable_shape();
        for (int64_t d : shape) {
            auto* dim = shape_proto->add_dim();
            if (d >= 0) dim->set_dim_value(d);
        }
    }
    return info;
}

inline pare::Node make_node(const std::string& op, const std::vector<std::string>& inputs,
                            const std::vector<std::string>& outputs) {
    onnx::NodeProto proto;
    proto.set_op_type(op);
    for (const auto& input : inputs) proto.add_input(input);
    for (const auto& output : outputs) proto.add_output(output);
    return pare::Node(std::move(proto));
}

/// A graph with the given typed inputs and outputs and no nodes yet.
inline pare::Graph make_graph(const std::vector<onnx::ValueInfoProto>& inputs,
                              const std::vector<onnx::ValueInfoProto>& outputs) {
    pare::Graph graph;
    for (const auto& input : inputs) *graph.header.add_input() = input;
    for (const auto& output : outputs) *graph.header.add_output() = output;
    return graph;
}

/// Attaches `body` to `node` as its GRAPH attribute `name`.
inline void attach_subgraph(pare::Node& node, const std::string& name, pare::Graph body) {
    node.subgraphs.emplace_back(name, std::make_unique<pare::Graph>(std::move(body)));
}

/// Compiles `graph` at `opset` on the reference kernels and runs it once with the inputs in graph input order.
inline pare::Result<std::vector<pare::Tensor>> run_graph(const pare::Graph& graph, int64_t opset,
                                                         const std::vector<pare::Tensor>& inputs) {
    pare::Model model;
    auto* import = model.header.add_opset_import();
    import->set_domain("");
    import->set_version(opset);
    model.graph = graph;
    std::map<std::string, pare::Shape> shapes;
    const auto names = graph.input_names();
    for (size_t i = 0; i < names.size() && i < inputs.size(); ++i) shapes[names[i]] = inputs[i].shape();
    pare::SessionOptions options;
    options.reference_only = true;
    PARE_ASSIGN_OR_RETURN(auto session, pare::Session::create(model, shapes, options));
    return session->run(inputs);
}

}  // namespace pare_test
