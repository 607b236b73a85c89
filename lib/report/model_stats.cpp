#include "report/model_stats.h"

#include <set>

namespace pare {

namespace {

// Input slots that carry shapes, indices or quantization parameters rather than weights.
bool is_non_data_slot(const Node& node, int slot) {
    static const std::set<std::string> kShapeArgsAfterFirst = {
        "Reshape", "Expand", "Tile", "Slice", "Unsqueeze", "Squeeze", "Resize", "Upsample", "TopK", "Split",
        "ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2", "ReduceLogSum",
        "ReduceLogSumExp", "ReduceSumSquare", "CumSum", "OneHot", "Pad", "Gather", "GatherElements", "GatherND",
        "ScatterND", "ScatterElements", "Clip", "QuantizeLinear", "DequantizeLinear"};
    const std::string& op = node.op_type();
    if (!node.is_onnx_domain() && node.domain() != "com.microsoft") return false;
    if (op == "ConstantOfShape" || op == "Range" || op == "EyeLike") return true;
    if (kShapeArgsAfterFirst.count(op)) return slot >= 1;
    if (op == "QLinearConv") return slot != 3 && slot != 8 && slot != 0;
    if (op == "QLinearMatMul") return slot != 0 && slot != 3;
    if (op == "MatMulInteger" || op == "ConvInteger") return slot >= 2;
    // Running mean and variance are statistics (PyTorch buffers), not learned parameters.
    if (op == "BatchNormalization") return slot >= 3;
    return false;
}

bool is_weight_dtype(DType dtype) {
    return dtype_is_float(dtype) || dtype == DType::kI8 || dtype == DType::kU8 || dtype == DType::kI16 ||
           dtype == DType::kU16 || dtype == DType::kI4 || dtype == DType::kU4 || dtype == DType::kI32;
}

std::string op_key(const Node& node) {
    return node.is_onnx_domain() ? node.op_type() : node.domain() + "." + node.op_type();
}

void count_ops(const Graph& graph, ModelStats& stats) {
    for (const Node& node : graph.nodes) {
        ++stats.op_histogram[op_key(node)];
        ++stats.node_count;
        for (const auto& [name, body] : node.subgraphs) {
            ++stats.subgraph_count;
            count_ops(*body, stats);
        }
    }
}

int64_t count_nonzero(const Tensor& t) {
    int64_t nonzero = 0;
    for (int64_t i = 0; i < t.numel(); ++i) nonzero += t.element_as_double(i) != 0.0;
    return nonzero;
}

// Constant tensors of one graph by value name: initializers and Constant node outputs.
void count_parameters(const Graph& graph, ModelStats& stats) {
    auto account = [&](const std::string& name, const Tensor& value) {
        const std::string dtype = dtype_name(value.dtype());
        stats.bytes_by_dtype[dtype] += static_cast<int64_t>(value.nbytes());
        stats.constant_bytes += static_cast<int64_t>(value.nbytes());
        if (!is_parameter_tensor(graph, name, value)) return;
        stats.parameters += value.numel();
        stats.parameters_by_dtype[dtype] += value.numel();
        stats.nonzero_parameters += count_nonzero(value);
    };
    for (const auto& init : graph.initializers) {
        if (init.value.defined()) account(init.name(), init.value);
    }
    for (const Node& node : graph.nodes) {
        if (node.op_type() == "Constant" && node.num_outputs() == 1) {
            if (auto value = graph.constant(node.output(0))) account(node.output(0), *value);
        }
        for (const auto& [name, body] : node.subgraphs) count_parameters(*body, stats);
    }
}

// Follows DequantizeLinear, Cast, Identity and Transpose back to the constant a weight comes from.
std::string weight_source(const Graph& graph, std::string name) {
    for (int hops = 0; hops < 8; ++hops) {
        if (graph.constant(name)) return name;
        const int producer = graph.producer(name);
        if (producer < 0) return "";
        const Node& node = graph.nodes[producer];
        static const std::set<std::string> kPassThrough = {"DequantizeLinear", "Cast", "Identity", "Transpose"};
        if (!kPassThrough.count(node.op_type())) return "";
        name = node.input(0);
    }
    return "";
}

const ValueType* known_shape(const std::map<std::string, ValueType>& types, const std::string& name) {
    auto it = types.find(name);
    if (it == types.end() || !it->second.has_shape || shape_numel(it->second.shape) < 0) return nullptr;
    return &it->second;
}

int64_t layer_macs(const Node& node, const LayerStats& layer, const std::map<std::string, ValueType>& types) {
    const ValueType* out = known_shape(types, node.output(0));
    const ValueType* a = known_shape(types, node.input(0));
    const ValueType* b = known_shape(types, node.input(1));
    if (!out || !b || b->shape.empty()) return -1;
    const int64_t out_numel = shape_numel(out->shape);
    const Shape& w = b->shape;
    const int64_t per_output = w.size() > 1 ? shape_numel(Shape(w.begin() + 1, w.end())) : 1;
    if (node.op_type() == "Conv") return out_numel * per_output;
    if (node.op_type() == "ConvTranspose") return a ? shape_numel(a->shape) * per_output : -1;
    if (!a || a->shape.empty()) return -1;
    if (node.op_type() == "Gemm") {
        const int64_t k = node.attr_int("transA", 0) ? a->shape[0] : a->shape.back();
        return out_numel * k;
    }
    return out_numel * a->shape.back();  // MatMul
}

}  // namespace

bool is_parameter_tensor(const Graph& graph, const std::string& name, const Tensor& value) {
    if (!is_weight_dtype(value.dtype()) || value.numel() <= 1) return false;
    for (int index : graph.consumers(name)) {
        const Node& node = graph.nodes[index];
        for (int slot = 0; slot < node.num_inputs(); ++slot) {
            if (node.input(slot) == name && !is_non_data_slot(node, slot)) return true;
        }
        // Read inside a subgraph: count it.
        if (!node.subgraphs.empty()) return true;
    }
    // Weights that only feed graph outputs are still weights.
    for (const auto& output : graph.output_names()) {
        if (output == name) return true;
    }
    return false;
}

ModelStats compute_model_stats(const Model& model, const std::map<std::string, ValueType>& value_types) {
    ModelStats stats;
    const Graph& graph = model.graph;
    count_ops(graph, stats);
    count_parameters(graph, stats);
    for (const auto& sparse : graph.header.sparse_initializer()) {
        int64_t dense = 1;
        for (int64_t d : sparse.dims()) dense *= d;
        int64_t nonzero = 1;
        for (int64_t d : sparse.values().dims()) nonzero *= d;
        stats.parameters += dense;
        stats.nonzero_parameters += nonzero;
        stats.parameters_by_dtype[dtype_name(dtype_from_onnx(sparse.values().data_type()))] += dense;
    }
    static const std::set<std::string> kLayerOps = {"Conv", "ConvTranspose", "Gemm", "MatMul"};
    for (const Node& node : graph.nodes) {
        if (!node.is_onnx_domain() || !kLayerOps.count(node.op_type()) || node.num_inputs() < 2) continue;
        LayerStats layer;
        layer.name = node.name();
        layer.op_type = node.op_type();
        layer.weight = weight_source(graph, node.input(1));
        if (!layer.weight.empty()) {
            const Tensor weight = *graph.constant(layer.weight);
            layer.weight_shape = weight.shape();
            layer.weight_dtype = weight.dtype();
            layer.parameters = weight.numel();
        }
        if (node.op_type() != "MatMul" && node.has_input(2)) {
            const std::string bias = weight_source(graph, node.input(2));
            if (!bias.empty()) layer.parameters += graph.constant(bias)->numel();
        }
        layer.macs = layer_macs(node, layer, value_types);
        if (const ValueType* out = known_shape(value_types, node.output(0))) layer.output_shape = out->shape;
        if (layer.macs >= 0) stats.total_macs = (stats.total_macs < 0 ? 0 : stats.total_macs) + layer.macs;
        stats.layers.push_back(std::move(layer));
    }
    return stats;
}

nlohmann::ordered_json model_stats_to_json(const ModelStats& stats) {
    nlohmann::ordered_json json;
    json["parameters"] = stats.parameters;
    json["nonzero_parameters"] = stats.nonzero_parameters;
    json["parameters_by_dtype"] = stats.parameters_by_dtype;
    json["constant_bytes"] = stats.constant_bytes;
    json["bytes_by_dtype"] = stats.bytes_by_dtype;
    json["nodes"] = stats.node_count;
    json["subgraphs"] = stats.subgraph_count;
    json["op_histogram"] = stats.op_histogram;
    json["macs"] = stats.total_macs;
    nlohmann::ordered_json layers = nlohmann::ordered_json::array();
    for (const auto& layer : stats.layers) {
        nlohmann::ordered_json entry;
        entry["name"] = layer.name;
        entry["op_type"] = layer.op_type;
        entry["weight"] = layer.weight;
        entry["weight_shape"] = layer.weight_shape;
        entry["weight_dtype"] = layer.weight.empty() ? "" : dtype_name(layer.weight_dtype);
        entry["parameters"] = layer.parameters;
        entry["output_shape"] = layer.output_shape;
        entry["macs"] = layer.macs;
        layers.push_back(entry);
    }
    json["layers"] = layers;
    return json;
}

}  // namespace pare
