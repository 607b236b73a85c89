#include "quantize/weights.h"

namespace pare {

std::optional<Tensor> float_constant(const Graph& graph, const std::string& name) {
    if (auto value = graph.constant(name)) {
        if (!dtype_is_float(value->dtype())) return std::nullopt;
        return value->dtype() == DType::kF32 ? *value : value->cast(DType::kF32);
    }
    const int producer = graph.producer(name);
    if (producer < 0) return std::nullopt;
    const Node& node = graph.nodes[producer];
    if (node.is_onnx_domain() && (node.op_type() == "Cast" || node.op_type() == "Identity")) {
        if (node.op_type() == "Cast" && node.attr_int("to", 0) != static_cast<int64_t>(DType::kF32))
            return std::nullopt;
        return float_constant(graph, node.input(0));
    }
    return std::nullopt;
}

int64_t weight_channel_axis(const Node& node, const Tensor& weight) {
    const std::string& op = node.op_type();
    if (op == "Conv") return 0;
    if (op == "ConvTranspose") return node.attr_int("group", 1) == 1 ? 1 : -1;
    if (op == "Gemm") return node.attr_int("transB", 0) ? 0 : 1;
    return weight.rank() == 2 ? 1 : -1;  // MatMul [K, N]
}

}  // namespace pare
