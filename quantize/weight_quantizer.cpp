#include "quantize/weight_quantizer.h"

#include "ops/quantize_math.h"

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
        if (node.op_type() == "Cast" && node.attr_int("to", 0) != static_cast<int64_t>(DType::kF32)) return std::nullopt;
        return float_constant(graph, node.input(0));
    }
    return std::nullopt;
}

Tensor quantize_weight(const Tensor& weight, const std::vector<QuantParams>& params, int64_t axis, DType dtype) {
    const float* src = weight.data<float>();
    const QuantRange levels = quant_range(dtype);
    int64_t inner = 1;
    for (int64_t a = axis + 1; axis >= 0 && a < weight.rank(); ++a) inner *= weight.dim(a);
    const int64_t channels = axis >= 0 ? weight.dim(axis) : 1;
    Tensor values(DType::kF64, weight.shape());
    for (int64_t i = 0; i < weight.numel(); ++i) {
        const QuantParams& p = params[axis >= 0 ? (i / inner) % channels : 0];
        values.data<double>()[i] = static_cast<double>(quantize_value(src[i], p.scale, p.zero_point, levels));
    }
    return values.cast(dtype);
}

}  // namespace pare
