#include "quantize/qdq_rewriter.h"

#include <algorithm>
#include <cmath>

#include "core/log.h"
#include "graph/pass_util.h"
#include "graph/passes.h"
#include "ops/quantize_math.h"
#include "quantize/gptq_weight.h"
#include "quantize/weight_quantizer.h"

namespace pare {

namespace {

const std::set<std::string> kComputeOps = {"Conv", "ConvTranspose", "Gemm", "MatMul"};
// Ops whose output range is their input's range (or within it): their output reuses the input's parameters, so
// runtimes can drop the DQ -> op -> Q pair around them and run them on integers.
const std::set<std::string> kRangePreservingOps = {"MaxPool", "Reshape",   "Flatten", "Transpose",
                                                   "Squeeze", "Unsqueeze", "Identity"};

bool is_onnx_op(const Node& node, const std::set<std::string>& ops) {
    return node.is_onnx_domain() && ops.count(node.op_type()) > 0;
}

class Rewriter {
public:
    Rewriter(Graph& graph, int64_t opset, const QdqSpec& spec, const RangeLookup& ranges)
        : graph_(graph), opset_(opset), spec_(spec), ranges_(ranges) {}

    Result<std::vector<QuantizedLayer>> run() {
        if (opset_ < 10)
            return unsupported("quantization needs opset 10 or later (QuantizeLinear); this model has " +
                               std::to_string(opset_));
        per_channel_ = spec_.weight_per_channel && opset_ >= 13;
        if (spec_.weight_per_channel && !per_channel_) {
            log_warning("opset " + std::to_string(opset_) + " has no per-axis DequantizeLinear: weights use one scale");
        }
        // Parameters first (weights' int32 biases need their input's scale), then weights, then the activation
        // Q/DQ pairs, which rename producer outputs.
        const std::vector<std::string> activations = plan_activations();
        for (const auto& tensor : activations) params_[tensor] = params_for(tensor);
        std::vector<QuantizedLayer> layers;
        for (const auto& output : selected_) {
            PARE_ASSIGN_OR_RETURN(QuantizedLayer layer, quantize_layer(static_cast<size_t>(graph_.producer(output))));
            layers.push_back(std::move(layer));
        }
        for (const auto& tensor : activations) quantize_activation(tensor);
        for (auto& layer : layers) describe_output(layer);
        remove_dead_nodes(graph_);
        return layers;
    }

private:
    // Chooses the compute nodes to quantize and the activation tensors they need quantized, in graph order.
    std::vector<std::string> plan_activations() {
        std::vector<std::string> tensors;
        auto want = [&](const std::string& tensor) {
            if (std::find(tensors.begin(), tensors.end(), tensor) == tensors.end()) tensors.push_back(tensor);
        };
        for (const Node& node : graph_.nodes) {
            if (spec_.excluded_nodes.count(node.name())) continue;
            if (is_onnx_op(node, kComputeOps) && node.num_inputs() >= 2) {
                const bool constant_weight = float_constant(graph_, node.input(1)).has_value();
                if (!has_range(node.input(0))) continue;
                if (!constant_weight && (node.op_type() != "MatMul" || !has_range(node.input(1)))) continue;
                selected_.push_back(node.output(0));
                want(node.input(0));
                if (!constant_weight) want(node.input(1));
                if (auto it = spec_.activation_overrides.find(node.name()); it != spec_.activation_overrides.end()) {
                    widen_layer(node, it->second);
                }
            } else if (node.is_onnx_domain() && node.op_type() == "Add" && node.num_inputs() == 2 &&
                       has_range(node.input(0)) && has_range(node.input(1))) {
                // Residual Add: quantized inputs let runtimes keep the producing layers' outputs in int8.
                want(node.input(0));
                want(node.input(1));
            }
        }
        std::stable_sort(tensors.begin(), tensors.end(), [&](const std::string& a, const std::string& b) {
            return graph_.producer(a) < graph_.producer(b);
        });
        return tensors;
    }

    // An overridden layer's activation inputs, its output and, when a Relu/Clip alone reads that output (and may be
    // folded into its quantizer), the activation's output.
    void widen_layer(const Node& node, DType dtype) {
        auto widen = [&](const std::string& tensor) {
            auto it = tensor_dtype_.find(tensor);
            if (it == tensor_dtype_.end() || dtype_bits(it->second) < dtype_bits(dtype)) tensor_dtype_[tensor] = dtype;
        };
        widen(node.input(0));
        if (!float_constant(graph_, node.input(1))) widen(node.input(1));
        widen(node.output(0));
        const auto consumers = graph_.consumers(node.output(0));
        if (consumers.size() == 1 && is_absorbable_activation(graph_.nodes[consumers[0]])) {
            widen(graph_.nodes[consumers[0]].output(0));
        }
    }

    DType dtype_of(const std::string& tensor) const {
        auto it = tensor_dtype_.find(tensor);
        return it == tensor_dtype_.end() ? spec_.activation_dtype : it->second;
    }

    // ai.onnx QuantizeLinear takes 16-bit integers from opset 21; below, ONNX Runtime's contrib ops do.
    std::string activation_domain(DType dtype) const {
        return dtype_bits(dtype) == 16 && opset_ < 21 ? "com.microsoft" : spec_.qdq_domain;
    }

    bool has_range(const std::string& tensor) {
        if (tensor.empty() || graph_.constant(tensor)) return false;
        Range range;
        return ranges_(tensor, range);
    }

    QuantParams params_for(const std::string& tensor) {
        // Range-preserving producers pass their input's parameters through.
        const int producer = graph_.producer(tensor);
        if (producer >= 0 && is_onnx_op(graph_.nodes[producer], kRangePreservingOps) &&
            dtype_of(graph_.nodes[producer].input(0)) == dtype_of(tensor)) {
            auto it = params_.find(graph_.nodes[producer].input(0));
            if (it != params_.end()) return it->second;
        }
        Range range;
        ranges_(tensor, range);
        return choose_quant_params(range, dtype_of(tensor), spec_.activation_symmetric);
    }

    std::string add_scalar(const std::string& base, const Tensor& value) {
        const std::string name = graph_.unique_name(base);
        graph_.set_initializer(name, value);
        return name;
    }

    Node make_qdq_node(const std::string& op, const std::string& input, const std::string& scale,
                       const std::string& zero_point, const std::string& output, int64_t axis) {
        return make_qdq_node(op, input, scale, zero_point, output, axis, spec_.qdq_domain);
    }

    Node make_qdq_node(const std::string& op, const std::string& input, const std::string& scale,
                       const std::string& zero_point, const std::string& output, int64_t axis,
                       const std::string& domain) {
        onnx::NodeProto proto;
        proto.set_op_type(op);
        proto.set_domain(domain);
        proto.set_name(graph_.unique_name(output + "_" + op));
        proto.add_input(input);
        proto.add_input(scale);
        proto.add_input(zero_point);
        proto.add_output(output);
        Node node(std::move(proto));
        if (axis >= 0) node.set_attr_int("axis", axis);
        return node;
    }

    Tensor zero_point_tensor(DType dtype, const std::vector<QuantParams>& params, bool vector) {
        Tensor zp(dtype, vector ? Shape{static_cast<int64_t>(params.size())} : Shape{});
        for (size_t i = 0; i < params.size(); ++i) {
            Tensor one = tensor_from_vector<double>({static_cast<double>(params[i].zero_point)}, {}).cast(dtype);
            std::copy_n(static_cast<const char*>(one.raw()), dtype_storage_bytes(dtype, 1),
                        static_cast<char*>(zp.raw()) + i * dtype_storage_bytes(dtype, 1));
        }
        return zp;
    }

    Tensor scale_tensor(const std::vector<float>& scales, bool vector) {
        return tensor_from_vector<float>(scales, vector ? Shape{static_cast<int64_t>(scales.size())} : Shape{});
    }

    // Inserts Q -> DQ on an activation. Intermediate tensors keep their name on the DQ output (so per-layer
    // comparisons with the float model line up); graph inputs keep theirs and their readers are rerouted.
    void quantize_activation(const std::string& tensor) {
        const QuantParams params = params_.at(tensor);
        const DType dtype = dtype_of(tensor);
        const std::string domain = activation_domain(dtype);
        const std::string scale = add_scalar(tensor + "_scale", tensor_from_vector<float>({params.scale}, {}));
        const std::string zp = add_scalar(tensor + "_zero_point", zero_point_tensor(dtype, {params}, false));
        const std::string quantized = graph_.unique_name(tensor + "_quantized");
        const int producer = graph_.producer(tensor);
        if (producer < 0) {
            const std::string dequantized = graph_.unique_name(tensor + "_dequantized");
            graph_.replace_uses(tensor, dequantized);
            graph_.insert_node(0, make_qdq_node("DequantizeLinear", quantized, scale, zp, dequantized, -1, domain));
            graph_.insert_node(0, make_qdq_node("QuantizeLinear", tensor, scale, zp, quantized, -1, domain));
            return;
        }
        std::string source = graph_.unique_name(tensor + "_float");
        Node& producing = graph_.nodes[producer];
        for (auto& output : *producing.proto.mutable_output()) {
            if (output == tensor) output = source;
        }
        // A Relu or Clip is redundant before a quantizer that saturates at its bounds already.
        size_t insert_at = static_cast<size_t>(producer) + 1;
        if (quantizer_covers(producing, params, dtype) && graph_.consumers(producing.input(0)).size() == 1 &&
            !is_graph_output(graph_, producing.input(0))) {
            source = producing.input(0);
            absorbed_[tensor] = producing.op_type();
            quantizer_source_[source] = tensor;
            graph_.remove_node(static_cast<size_t>(producer));
            insert_at = static_cast<size_t>(producer);
        }
        quantizer_source_[source] = tensor;
        graph_.insert_node(insert_at, make_qdq_node("DequantizeLinear", quantized, scale, zp, tensor, -1, domain));
        graph_.insert_node(insert_at, make_qdq_node("QuantizeLinear", source, scale, zp, quantized, -1, domain));
    }

    bool is_absorbable_activation(const Node& node) const { return activation_bounds(graph_, node).has_value(); }

    // Whether quantizing `activation`'s input with `params` gives what quantizing its output does for every input:
    // its lower bound quantizes to the lowest level and its upper bound to the highest, so the quantizer's
    // saturation clips as the activation does (a calibrated range wider than a Clip's bounds does not).
    bool quantizer_covers(const Node& activation, const QuantParams& params, DType dtype) const {
        const auto bounds = activation_bounds(graph_, activation);
        if (!bounds) return false;
        const QuantRange levels = quant_range(dtype);
        return quantize_value(bounds->first, params.scale, params.zero_point, levels) == levels.lo &&
               quantize_value(bounds->second, params.scale, params.zero_point, levels) == levels.hi;
    }

    // Weight to integers behind a DequantizeLinear, bias to int32 with the combined scale.
    Result<QuantizedLayer> quantize_layer(size_t index) {
        QuantizedLayer layer;
        {
            const Node& node = graph_.nodes[index];
            layer.node = node.name();
            layer.op_type = node.op_type();
            layer.input = node.input(0);
            layer.input_params = params_.at(node.input(0));
            layer.node_output = node.output(0);
        }
        auto weight = float_constant(graph_, graph_.nodes[index].input(1));
        if (!weight) return layer;  // activation x activation MatMul: both inputs are quantized activations
        const std::string weight_name = graph_.nodes[index].input(1);
        layer.weight = weight_name;
        layer.weight_elements = weight->numel();
        const int64_t axis = per_channel_ ? weight_channel_axis(graph_.nodes[index], *weight) : -1;
        layer.weight_params = choose_weight_params(*weight, axis, spec_.weight_dtype);
        const bool vector = axis >= 0;
        std::vector<float> scales;
        for (const auto& p : layer.weight_params) scales.push_back(p.scale);

        PARE_ASSIGN_OR_RETURN(const Tensor rounded, gptq_rounded(*weight, axis, layer));
        const Tensor quantized = quantize_weight(rounded, layer.weight_params, axis, spec_.weight_dtype);
        PARE_RETURN_IF_ERROR(layer.weight_error.add(*weight, dequantize_weight(quantized, layer.weight_params, axis)));
        const std::string q_name = add_scalar(weight_name + "_quantized", quantized);
        const std::string scale_name = add_scalar(weight_name + "_scale", scale_tensor(scales, vector));
        const std::string zp_name =
            add_scalar(weight_name + "_zero_point", zero_point_tensor(spec_.weight_dtype, layer.weight_params, vector));
        const std::string dequantized = graph_.unique_name(weight_name + "_dequantized");
        graph_.insert_node(index, make_qdq_node("DequantizeLinear", q_name, scale_name, zp_name, dequantized, axis));
        ++index;
        graph_.nodes[index].proto.set_input(1, dequantized);
        quantize_bias(index, layer, scales, vector);
        return layer;
    }

    // The weight to quantize: the float one, or, when the layer has an input Hessian, GPTQ's rounding of it onto
    // the grid of `layer.weight_params` (which quantize_weight then reproduces exactly).
    Result<Tensor> gptq_rounded(const Tensor& weight, int64_t axis, QuantizedLayer& layer) const {
        if (!spec_.hessians) return weight;
        auto found = spec_.hessians->find(layer.node_output);
        if (found == spec_.hessians->end()) return weight;
        const Node& node = graph_.nodes[graph_.producer(layer.node_output)];
        const QuantRange levels = quant_range(spec_.weight_dtype);
        const int64_t channels = axis >= 0 ? weight.dim(axis) : 1;
        int64_t inner = 1;
        for (int64_t a = axis + 1; axis >= 0 && a < weight.rank(); ++a) inner *= weight.dim(a);
        const ElementRounding round = [&](int64_t i, double value) {
            const QuantParams& p = layer.weight_params[axis >= 0 ? (i / inner) % channels : 0];
            const int64_t q = quantize_value(static_cast<float>(value), p.scale, p.zero_point, levels);
            return static_cast<double>(dequantize_value(q, p.scale, p.zero_point));
        };
        auto rounded = gptq_weight(weight, weight_channel_axis(node, weight), found->second, round);
        if (!rounded.ok()) return rounded.status().with_context("GPTQ of " + node.describe());
        layer.gptq = true;
        layer.rtn_output_error = rounded->rtn_error;
        layer.gptq_output_error = rounded->gptq_error;
        return tensor_from_vector<float>(rounded->values, weight.shape());
    }

    // Which quantized tensor carries this layer's output: the output itself, or a following Relu/Clip's output
    // when that activation was folded into the quantizer. Empty when the output stays float.
    void describe_output(QuantizedLayer& layer) const {
        const std::string& output = layer.node_output;
        if (params_.count(output)) {
            layer.output = output;
        } else if (auto it = quantizer_source_.find(output); it != quantizer_source_.end()) {
            layer.output = it->second;
        }
        if (layer.output.empty()) return;
        layer.output_params = params_.at(layer.output);
        if (auto it = absorbed_.find(layer.output); it != absorbed_.end()) layer.absorbed_activation = it->second;
    }

    void quantize_bias(size_t index, QuantizedLayer& layer, const std::vector<float>& weight_scales, bool vector) {
        Node& node = graph_.nodes[index];
        if ((node.op_type() != "Conv" && node.op_type() != "Gemm" && node.op_type() != "ConvTranspose") ||
            node.num_inputs() < 3 || node.input(2).empty()) {
            return;
        }
        auto bias = float_constant(graph_, node.input(2));
        if (!bias || bias->rank() != 1 || (vector && bias->numel() != static_cast<int64_t>(weight_scales.size())))
            return;
        if (node.op_type() == "Gemm" && node.attr_float("beta", 1.0f) != 1.0f) return;
        std::vector<float> scales;
        Tensor q(DType::kI32, bias->shape());
        const QuantRange levels = quant_range(DType::kI32);
        for (int64_t c = 0; c < bias->numel(); ++c) {
            const float scale = layer.input_params.scale * weight_scales[vector ? c : 0];
            if (vector || c == 0) scales.push_back(scale);
            q.data<int32_t>()[c] = static_cast<int32_t>(quantize_value(bias->data<float>()[c], scale, 0, levels));
        }
        const std::string bias_name = node.input(2);
        const std::string q_name = add_scalar(bias_name + "_quantized", q);
        const std::string scale_name = add_scalar(bias_name + "_scale", scale_tensor(scales, vector));
        const std::string zp_name =
            add_scalar(bias_name + "_zero_point", Tensor(DType::kI32, vector ? Shape{bias->numel()} : Shape{}));
        const std::string dequantized = graph_.unique_name(bias_name + "_dequantized");
        graph_.insert_node(
            index, make_qdq_node("DequantizeLinear", q_name, scale_name, zp_name, dequantized, vector ? 0 : -1));
        graph_.nodes[index + 1].proto.set_input(2, dequantized);
    }

    Graph& graph_;
    int64_t opset_;
    const QdqSpec& spec_;
    const RangeLookup& ranges_;
    bool per_channel_ = false;
    std::vector<std::string> selected_;  // first outputs of the compute nodes to quantize, in graph order
    std::map<std::string, QuantParams> params_;
    std::map<std::string, DType> tensor_dtype_;    // activations whose dtype differs from spec_.activation_dtype
    std::map<std::string, std::string> absorbed_;  // quantized tensor -> activation folded into it
    std::map<std::string, std::string> quantizer_source_;  // what a QuantizeLinear reads -> the quantized tensor
};

}  // namespace

Result<std::vector<QuantizedLayer>> rewrite_to_qdq(Graph& graph, int64_t opset, const QdqSpec& spec,
                                                   const RangeLookup& ranges) {
    Rewriter rewriter(graph, opset, spec, ranges);
    return rewriter.run();
}

}  // namespace pare
