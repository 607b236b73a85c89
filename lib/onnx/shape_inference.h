// Static shapes of every value once the graph inputs are bound, computed by ONNX's own shape inference
// (with data propagation, so Shape -> Gather -> Reshape chains resolve).
#pragma once

#include <map>
#include <string>

#include "graph/graph.h"

namespace pare {

/// Types of every value the inference could determine (graph inputs, outputs and intermediates), in the main
/// graph. `input_shapes` binds graph inputs; dynamic dims of unbound inputs are taken as 1.
/// Node-level inference failures (ops ONNX 1.12 does not know) leave those values out instead of failing.
std::map<std::string, ValueType> infer_value_types(const Model& model,
                                                   const std::map<std::string, Shape>& input_shapes = {});

}  // namespace pare
