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
        if (node.op_type() == "Cast" && node.attr_int("to", 0) != static_cast<int64_t>(DType::kF32))
            return std::nullopt;
        return float_constant(graph, node.input(0));
    }
    return std::nullopt;
}

namespace {

// Index of the parameter set of element i: its slice along `axis`, or 0 per tensor.
struct ChannelIndex {
    int64_t inner = 1, channels = 1;
    ChannelIndex(const Tensor& t, int64_t axis) {
        for (int64_t a = axis + 1; axis >= 0 && a < t.rank(); ++a) inner *= t.dim(a);
        channels = axis >= 0 ? t.dim(axis) : 1;
    }
    int64_t operator()(int64_t i) const { return (i / inner) % channels; }
};

}  // namespace

int64_t weight_channel_axis(const Node& node, const Tensor& weight) {
    const std::string& op = node.op_type();
    if (op == "Conv") return 0;
    if (op == "ConvTranspose") return node.attr_int("group", 1) == 1 ? 1 : -1;
    if (op == "Gemm") return node.attr_int("transB", 0) ? 0 : 1;
    return weight.rank() == 2 ? 1 : -1;  // MatMul [K, N]
}

Tensor quantize_weight(const Tensor& weight, const std::vector<QuantParams>& params, int64_t axis, DType dtype) {
    const float* src = weight.data<float>();
    const QuantRange levels = quant_range(dtype);
    const ChannelIndex channel(weight, axis);
    Tensor values(DType::kF64, weight.shape());
    for (int64_t i = 0; i < weight.numel(); ++i) {
        const QuantParams& p = params[channel(i)];
        values.data<double>()[i] = static_cast<double>(quantize_value(src[i], p.scale, p.zero_point, levels));
    }
    return values.cast(dtype);
}

Tensor dequantize_weight(const Tensor& quantized, const std::vector<QuantParams>& params, int64_t axis) {
    const ChannelIndex channel(quantized, axis);
    Tensor values(DType::kF64, quantized.shape());
    for (int64_t i = 0; i < quantized.numel(); ++i) {
        const QuantParams& p = params[channel(i)];
        const int64_t q = static_cast<int64_t>(quantized.element_as_double(i));
        values.data<double>()[i] = static_cast<double>(dequantize_value(q, p.scale, p.zero_point));
    }
    return values;
}

}  // namespace pare
