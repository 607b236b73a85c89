#include "quantize/dynamic_rewriter.h"

#include <map>
#include <optional>

#include "graph/pass_util.h"
#include "graph/passes.h"
#include "quantize/weight_quantizer.h"

namespace pare {

namespace {

// The float32 weight behind input 1 of a node, when it is a constant stored in float32 (or cast to float32 from a
// narrower float): then the activation it multiplies is float32 too, as DynamicQuantizeLinear needs.
std::optional<Tensor> f32_weight(const Graph& graph, const std::string& name) {
    if (auto stored = graph.constant(name); stored && stored->dtype() != DType::kF32) return std::nullopt;
    return float_constant(graph, name);
}

Tensor transposed_2d(const Tensor& src) {
    const int64_t rows = src.dim(0), cols = src.dim(1);
    Tensor dst(DType::kF32, {cols, rows});
    for (int64_t r = 0; r < rows; ++r) {
        for (int64_t c = 0; c < cols; ++c) dst.data<float>()[c * rows + r] = src.data<float>()[r * cols + c];
    }
    return dst;
}

Tensor scaled(const Tensor& src, float factor) {
    Tensor dst(DType::kF32, src.shape());
    for (int64_t i = 0; i < src.numel(); ++i) dst.data<float>()[i] = src.data<float>()[i] * factor;
    return dst;
}

// A layer in the form the rewrite needs: the integer op to use, the weight in that op's layout (MatMul: [K, N];
// Conv: as stored) and the bias to add afterwards (a constant, or a value name when it is computed).
struct LayerPlan {
    std::string integer_op;  // MatMulInteger or ConvInteger
    Tensor weight;
    int64_t channel_axis = 0;  // output channels in `weight`
    std::optional<Tensor> bias;
    std::string bias_value;  // non-constant Gemm C (beta 1)
};

std::optional<LayerPlan> plan_layer(const Graph& graph, const Node& node) {
    if (!node.is_onnx_domain() || node.num_inputs() < 2 || node.num_outputs() != 1) return std::nullopt;
    auto weight = f32_weight(graph, node.input(1));
    if (!weight) return std::nullopt;
    LayerPlan plan;
    const std::string& op = node.op_type();
    if (op == "MatMul" && weight->rank() == 2) {
        plan.integer_op = "MatMulInteger";
        plan.weight = *weight;
        plan.channel_axis = 1;
    } else if (op == "Gemm" && weight->rank() == 2 && node.attr_int("transA", 0) == 0) {
        plan.integer_op = "MatMulInteger";
        plan.weight = node.attr_int("transB", 0) ? transposed_2d(*weight) : *weight;
        const float alpha = node.attr_float("alpha", 1.0f);
        if (alpha != 1.0f) plan.weight = scaled(plan.weight, alpha);
        plan.channel_axis = 1;
        if (node.has_input(2)) {
            const float beta = node.attr_float("beta", 1.0f);
            if (auto c = float_constant(graph, node.input(2))) {
                plan.bias = beta == 1.0f ? *c : scaled(*c, beta);
            } else if (beta == 1.0f) {
                plan.bias_value = node.input(2);
            } else {
                return std::nullopt;
            }
        }
    } else if (op == "Conv" && weight->rank() >= 3) {
        plan.integer_op = "ConvInteger";
        plan.weight = *weight;
        if (node.has_input(2)) {
            auto bias = float_constant(graph, node.input(2));
            if (!bias || bias->numel() != weight->dim(0)) return std::nullopt;
            // [M] -> [M, 1, ..., 1], to broadcast over the spatial axes of the [N, M, ...] output.
            Shape shape(static_cast<size_t>(weight->rank() - 1), 1);
            shape[0] = weight->dim(0);
            plan.bias =
                tensor_from_vector(std::vector<float>(bias->data<float>(), bias->data<float>() + bias->numel()), shape);
        }
    } else {
        return std::nullopt;
    }
    return plan;
}

class DynamicRewriter {
public:
    DynamicRewriter(Graph& graph, const DynamicSpec& spec) : graph_(graph), spec_(spec) {}

    Result<std::vector<QuantizedLayer>> run() {
        std::vector<QuantizedLayer> layers;
        for (size_t i = 0; i < graph_.nodes.size(); ++i) {
            if (spec_.excluded_nodes.count(graph_.nodes[i].name())) continue;
            std::optional<LayerPlan> plan = plan_layer(graph_, graph_.nodes[i]);
            if (!plan) continue;
            const Node node = graph_.nodes[i];
            std::vector<Node> replacement;
            PARE_ASSIGN_OR_RETURN(QuantizedLayer layer, rewrite(node, *plan, replacement));
            layers.push_back(std::move(layer));
            graph_.remove_node(i);
            for (size_t r = 0; r < replacement.size(); ++r) graph_.insert_node(i + r, std::move(replacement[r]));
            i += replacement.size() - 1;
        }
        remove_dead_nodes(graph_);
        return layers;
    }

private:
    // The outputs of the DynamicQuantizeLinear of an activation (x_q, x_scale, x_zero_point), made on first use and
    // shared by every layer that reads the activation.
    const std::vector<std::string>& quantized_activation(const std::string& tensor, std::vector<Node>& nodes) {
        auto it = activations_.find(tensor);
        if (it != activations_.end()) return it->second;
        std::vector<std::string> outputs = {graph_.unique_name(tensor + "_quantized"),
                                            graph_.unique_name(tensor + "_scale"),
                                            graph_.unique_name(tensor + "_zero_point")};
        nodes.push_back(make_node("DynamicQuantizeLinear", {tensor}, outputs,
                                  graph_.unique_name(tensor + "_DynamicQuantizeLinear")));
        return activations_.emplace(tensor, std::move(outputs)).first->second;
    }

    Result<QuantizedLayer> rewrite(const Node& node, const LayerPlan& plan, std::vector<Node>& nodes) {
        QuantizedLayer layer;
        layer.node = node.name();
        layer.op_type = node.op_type();
        layer.weight = node.input(1);
        layer.weight_elements = plan.weight.numel();
        layer.input = node.input(0);
        layer.node_output = node.output(0);
        const int64_t axis = spec_.weight_per_channel ? plan.channel_axis : -1;
        layer.weight_params = choose_weight_params(plan.weight, axis, DType::kI8);

        const std::string base = node.name().empty() ? node.output(0) : node.name();
        const std::vector<std::string> x = quantized_activation(node.input(0), nodes);
        const Tensor quantized = quantize_weight(plan.weight, layer.weight_params, axis, DType::kI8);
        const Tensor dequantized = dequantize_weight(quantized, layer.weight_params, axis);
        PARE_RETURN_IF_ERROR(layer.weight_error.add(plan.weight, dequantized));
        const std::string weight = add_initializer(graph_, layer.weight + "_quantized", quantized);
        // Weight zero points are all 0 (symmetric weights): the optional input is left out.
        const std::string accumulator = graph_.unique_name(base + "_int32");
        Node integer = make_node(plan.integer_op, {x[0], weight, x[2]}, {accumulator},
                                 graph_.unique_name(base + "_" + plan.integer_op));
        if (plan.integer_op == "ConvInteger") *integer.proto.mutable_attribute() = node.proto.attribute();
        nodes.push_back(std::move(integer));

        const std::string as_float = graph_.unique_name(base + "_int32_float");
        Node cast = make_node("Cast", {accumulator}, {as_float}, graph_.unique_name(base + "_Cast"));
        cast.set_attr_int("to", static_cast<int64_t>(DType::kF32));
        nodes.push_back(std::move(cast));

        const std::string scale = graph_.unique_name(base + "_scale");
        nodes.push_back(make_node("Mul",
                                  {x[1], add_initializer(graph_, layer.weight + "_scale", weight_scales(plan, layer))},
                                  {scale}, graph_.unique_name(base + "_scale_Mul")));
        const bool has_bias = plan.bias.has_value() || !plan.bias_value.empty();
        const std::string product = has_bias ? graph_.unique_name(base + "_unbiased") : node.output(0);
        nodes.push_back(make_node("Mul", {as_float, scale}, {product}, graph_.unique_name(base + "_Mul")));
        if (has_bias) {
            const std::string bias = plan.bias ? add_initializer(graph_, base + "_bias", *plan.bias) : plan.bias_value;
            nodes.push_back(
                make_node("Add", {product, bias}, {node.output(0)}, graph_.unique_name(base + "_bias_Add")));
        }
        return layer;
    }

    // Weight scales shaped to broadcast over the integer op's output: [N] for MatMul columns, [M, 1, ..., 1] for Conv
    // output channels, a scalar per tensor.
    static Tensor weight_scales(const LayerPlan& plan, const QuantizedLayer& layer) {
        std::vector<float> scales;
        for (const auto& p : layer.weight_params) scales.push_back(p.scale);
        if (scales.size() == 1) return tensor_from_vector(scales, {});
        Shape shape = {static_cast<int64_t>(scales.size())};
        if (plan.integer_op == "ConvInteger") shape.resize(static_cast<size_t>(plan.weight.rank() - 1), 1);
        return tensor_from_vector(scales, shape);
    }

    Graph& graph_;
    const DynamicSpec& spec_;
    std::map<std::string, std::vector<std::string>> activations_;  // float activation -> DynamicQuantizeLinear outputs
};

}  // namespace

Result<std::vector<QuantizedLayer>> rewrite_to_dynamic(Graph& graph, int64_t opset, const DynamicSpec& spec) {
    if (opset < 11) {
        return unsupported("dynamic quantization needs opset 11 or later (DynamicQuantizeLinear); this model has " +
                           std::to_string(opset));
    }
    DynamicRewriter rewriter(graph, spec);
    return rewriter.run();
}

}  // namespace pare
