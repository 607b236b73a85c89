// What a model holds: parameters and bytes per dtype, an op histogram, and a per-layer table of the compute-heavy
// layers with their MACs. Used by `pare inspect` and by every report's size accounting.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "graph/graph.h"

namespace pare {

struct LayerStats {
    std::string name;
    std::string op_type;
    std::string weight;          // name of the weight tensor ("" when the weight is computed)
    Shape weight_shape;
    DType weight_dtype = DType::kUndefined;
    int64_t parameters = 0;      // weight and bias elements
    int64_t macs = -1;           // multiply-accumulates at the bound input shapes; -1 when shapes are unknown
    Shape output_shape;
};

struct ModelStats {
    int64_t parameters = 0;            // elements of weight tensors (see is_parameter_tensor)
    int64_t nonzero_parameters = 0;
    int64_t constant_bytes = 0;        // bytes of every constant tensor, parameters or not
    std::map<std::string, int64_t> parameters_by_dtype;
    std::map<std::string, int64_t> bytes_by_dtype;
    std::map<std::string, int64_t> op_histogram;  // "Conv", or "com.microsoft.QGemm" for other domains
    int64_t node_count = 0;            // subgraphs included
    int64_t subgraph_count = 0;
    std::vector<LayerStats> layers;    // Conv, ConvTranspose, Gemm, MatMul of the main graph, in file order
    int64_t total_macs = -1;
};

/// Whether a constant tensor is a learned weight: float or narrow-integer elements, more than one of them, read by
/// at least one node as data rather than as a shape, an index list or a quantization scale/zero point.
bool is_parameter_tensor(const Graph& graph, const std::string& name, const Tensor& value);

/// Computes the statistics; MACs use `value_types` (from infer_value_types) where shapes are known.
ModelStats compute_model_stats(const Model& model, const std::map<std::string, ValueType>& value_types);

nlohmann::ordered_json model_stats_to_json(const ModelStats& stats);

}  // namespace pare
