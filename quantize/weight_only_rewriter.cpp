#include "quantize/weight_only_rewriter.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include "core/half.h"
#include "graph/passes.h"
#include "ops/quantize_math.h"
#include "quantize/gptq_weight.h"
#include "quantize/int4_pack.h"
#include "quantize/log_quant.h"
#include "quantize/opset_upgrade.h"
#include "quantize/weight_quantizer.h"

namespace pare {

namespace {

// The first opset with INT4/UINT4 tensors, blocked DequantizeLinear and Cast from 4-bit types.
constexpr int64_t kFourBitOpset = 21;

// The int4 levels: the full signed range, so no code is wasted (see choose_int4_scale).
constexpr QuantRange kInt4Levels{-8, 7};

// A tensor seen around one axis as [outer, dim, inner].
struct AxisView {
    int64_t outer = 1, dim = 1, inner = 1;
};

AxisView axis_view(const Shape& shape, int64_t axis) {
    AxisView view;
    for (int64_t a = 0; a < static_cast<int64_t>(shape.size()); ++a) {
        if (a < axis)
            view.outer *= shape[a];
        else if (a == axis)
            view.dim = shape[a];
        else
            view.inner *= shape[a];
    }
    return view;
}

// `value` as stored in `dtype` (scales are written in the weight's float type).
float round_to(float value, DType dtype) {
    if (dtype == DType::kF16) return f16_to_f32(f32_to_f16(value));
    if (dtype == DType::kBF16) return bf16_to_f32(f32_to_bf16(value));
    return value;
}

Tensor float_tensor(const std::vector<float>& values, Shape shape, DType dtype) {
    Tensor t = tensor_from_vector<float>(values, std::move(shape));
    return dtype == DType::kF32 ? t : t.cast(dtype);
}

// Symmetric int4 scale of a group with extremes lo <= 0 <= hi: the most negative value maps to -8 or the most
// positive to 7, whichever needs the larger scale, so nothing clips and the grid is never coarser than [-7, 7]'s.
float choose_int4_scale(float lo, float hi, DType dtype) {
    const float scale = round_to(std::max(-lo / 8.0f, hi / 7.0f), dtype);
    return scale > 0.0f && std::isfinite(scale) ? scale : 1.0f;  // an all-zero group: any scale is exact
}

// Candidate scales per channel for the log scheme: the largest magnitude times 2^(-j / kLogScaleSteps). The
// power-of-two grid repeats every octave, so one octave of candidates covers every alignment of grid and data.
constexpr int kLogScaleSteps = 32;

// The candidate scale (as stored in `dtype`) whose decoded channel has the least squared error; a smaller scale
// than the largest magnitude trades clipping the largest weights for a grid that fits the bulk better. Ties keep
// the larger scale, so the choice is deterministic.
float choose_log_scale(const std::vector<float>& values, int bits, DType dtype) {
    float largest = 0.0f;
    for (float v : values) largest = std::max(largest, std::fabs(v));
    if (!(largest > 0.0f) || !std::isfinite(largest)) return 1.0f;  // all zero: any scale decodes exactly
    const std::vector<float> codebook = log_codebook(bits);
    float best_scale = round_to(largest, dtype);
    double best_error = std::numeric_limits<double>::infinity();
    for (int j = 0; j < kLogScaleSteps; ++j) {
        const float scale = round_to(
            static_cast<float>(static_cast<double>(largest) * std::exp2(-static_cast<double>(j) / kLogScaleSteps)),
            dtype);
        if (!(scale > 0.0f)) continue;
        double error = 0.0;
        for (float v : values) {
            const double d = static_cast<double>(v) - static_cast<double>(codebook[log_encode(v, scale, bits)]) * scale;
            error += d * d;
        }
        if (error < best_error) {
            best_error = error;
            best_scale = scale;
        }
    }
    return best_scale;
}

double sqnr_db(const float* reference, const std::vector<float>& decoded) {
    double signal = 0.0, noise = 0.0;
    for (size_t i = 0; i < decoded.size(); ++i) {
        signal += static_cast<double>(reference[i]) * reference[i];
        noise += (static_cast<double>(reference[i]) - decoded[i]) * (static_cast<double>(reference[i]) - decoded[i]);
    }
    if (noise == 0.0) return std::numeric_limits<double>::infinity();
    return 10.0 * std::log10(signal / noise);
}

// Where the weight of a layer has its output channels and the axis its dot products run over, or false when the
// weight's layout is not one this rewriter handles.
struct WeightLayout {
    int64_t channel_axis = 0;
    int64_t reduction_axis = 0;
};

bool weight_layout(const Node& node, const Tensor& weight, WeightLayout& layout) {
    if (node.op_type() == "Conv") {
        if (weight.rank() < 3) return false;
        layout = {0, 1};
        return true;
    }
    if (weight.rank() != 2) return false;  // MatMul with batched constant weights stays float
    const int64_t channel = weight_channel_axis(node, weight);
    layout = {channel, 1 - channel};
    return true;
}

class WeightOnlyRewriter {
public:
    WeightOnlyRewriter(Model& model, const WeightOnlySpec& spec) : model_(model), graph_(model.graph), spec_(spec) {}

    Result<std::vector<WeightOnlyLayer>> run() {
        if (spec_.scheme == WeightOnlyScheme::kLog && (spec_.bits < kLogMinBits || spec_.bits > kLogMaxBits)) {
            return invalid_input("log quantization takes " + std::to_string(kLogMinBits) + " to " +
                                 std::to_string(kLogMaxBits) + " bits, not " + std::to_string(spec_.bits));
        }
        if (spec_.scheme == WeightOnlyScheme::kInt4 && spec_.block_size < 0) {
            return invalid_input("block size must be 0 (per output channel) or positive, not " +
                                 std::to_string(spec_.block_size));
        }
        std::vector<std::string> selected;  // first outputs of the layers to rewrite (indices move on insertion)
        for (const Node& node : graph_.nodes) {
            if (selectable(node)) selected.push_back(node.output(0));
        }
        if (selected.empty()) return std::vector<WeightOnlyLayer>{};
        const bool four_bit = spec_.scheme == WeightOnlyScheme::kInt4 || spec_.bits <= 4;
        if (four_bit) {
            auto raised = raise_onnx_opset(model_, kFourBitOpset);
            if (!raised.ok()) {
                return raised.with_context("4-bit weights need opset " + std::to_string(kFourBitOpset) +
                                           " (this model imports " + std::to_string(model_.opset()) + ")");
            }
        }
        std::vector<WeightOnlyLayer> layers;
        for (const auto& output : selected) {
            const size_t index = static_cast<size_t>(graph_.producer(output));
            PARE_ASSIGN_OR_RETURN(std::optional<WeightOnlyLayer> layer, rewrite_layer(index));
            if (layer) layers.push_back(std::move(*layer));
        }
        remove_dead_nodes(graph_);
        return layers;
    }

private:
    bool selectable(const Node& node) const {
        static const std::set<std::string> ops = {"Conv", "Gemm", "MatMul"};
        if (!node.is_onnx_domain() || !ops.count(node.op_type()) || node.num_inputs() < 2) return false;
        if (spec_.excluded_nodes.count(node.name())) return false;
        auto weight = float_constant(graph_, node.input(1));
        WeightLayout layout;
        return weight && weight->numel() > 0 && weight_layout(node, *weight, layout);
    }

    // The float type the layer reads its weight in: the decoded weight must have it too.
    DType read_dtype(const std::string& name) const {
        auto value = graph_.constant(name);
        return value ? value->dtype() : DType::kF32;
    }

    std::string add_initializer(const std::string& base, const Tensor& value, int64_t& bytes) {
        const std::string name = graph_.unique_name(base);
        graph_.set_initializer(name, value);
        bytes += static_cast<int64_t>(value.nbytes());
        return name;
    }

    Node make_node(const std::string& op, const std::vector<std::string>& inputs, const std::string& output) {
        onnx::NodeProto proto;
        proto.set_op_type(op);
        proto.set_name(graph_.unique_name(output + "_" + op));
        for (const auto& input : inputs) proto.add_input(input);
        proto.add_output(output);
        return Node(std::move(proto));
    }

    // Rewrites the weight of nodes[index]; nullopt when the weight was already rewritten for an earlier layer
    // (shared weights are encoded once).
    Result<std::optional<WeightOnlyLayer>> rewrite_layer(size_t index) {
        const std::string weight_name = graph_.nodes[index].input(1);
        if (auto it = decoded_.find(weight_name); it != decoded_.end()) {
            graph_.nodes[index].proto.set_input(1, it->second);
            return std::optional<WeightOnlyLayer>();
        }
        const Tensor weight = *float_constant(graph_, weight_name);
        const DType dtype = read_dtype(weight_name);
        if (dtype != DType::kF32 && dtype != DType::kF16 && dtype != DType::kBF16)
            return std::optional<WeightOnlyLayer>();
        WeightLayout layout;
        weight_layout(graph_.nodes[index], weight, layout);

        WeightOnlyLayer layer;
        layer.node = graph_.nodes[index].name();
        layer.op_type = graph_.nodes[index].op_type();
        layer.output = graph_.nodes[index].output(0);
        layer.weight = weight_name;
        layer.weight_elements = weight.numel();
        layer.bytes_before = static_cast<int64_t>(dtype_storage_bytes(dtype, weight.numel()));
        const std::string decoded_name = graph_.unique_name(weight_name + "_decoded");
        std::vector<Node> nodes;
        std::vector<float> decoded;
        if (spec_.scheme == WeightOnlyScheme::kInt4) {
            PARE_ASSIGN_OR_RETURN(decoded, encode_int4(weight, dtype, layout, decoded_name, nodes, layer));
        } else {
            PARE_ASSIGN_OR_RETURN(decoded, encode_log(weight, dtype, layout, decoded_name, nodes, layer));
        }
        layer.weight_sqnr_db = sqnr_db(weight.data<float>(), decoded);
        for (size_t i = 0; i < nodes.size(); ++i) graph_.insert_node(index + i, std::move(nodes[i]));
        graph_.nodes[index + nodes.size()].proto.set_input(1, decoded_name);
        decoded_[weight_name] = decoded_name;
        return std::optional<WeightOnlyLayer>(std::move(layer));
    }

    // The values to encode: the float weight itself (rounded to nearest by the encoder), or, when the layer has an
    // input Hessian, GPTQ's rounding of it onto the same grid (`round` decodes one element with the encoder's
    // scales), which the encoder then rounds again exactly.
    Result<std::vector<float>> values_to_encode(const Tensor& weight, const WeightLayout& layout,
                                                const ElementRounding& round, WeightOnlyLayer& layer) const {
        const float* src = weight.data<float>();
        if (!spec_.hessians) return std::vector<float>(src, src + weight.numel());
        auto found = spec_.hessians->find(layer.output);
        if (found == spec_.hessians->end()) return std::vector<float>(src, src + weight.numel());
        auto rounded = gptq_weight(weight, layout.channel_axis, found->second, round);
        if (!rounded.ok()) return rounded.status().with_context("GPTQ of " + layer.node);
        layer.gptq = true;
        layer.rtn_output_error = rounded->rtn_error;
        layer.gptq_output_error = rounded->gptq_error;
        return std::move(rounded->values);
    }

    // Block-wise int4 behind DequantizeLinear. Conv kernels with a spatial extent are blocked over their
    // flattened [O, I x kH x kW] view (a DequantizeLinear block runs along one axis only), then reshaped back.
    Result<std::vector<float>> encode_int4(const Tensor& weight, DType dtype, const WeightLayout& layout,
                                           const std::string& decoded_name, std::vector<Node>& nodes,
                                           WeightOnlyLayer& layer) {
        const bool blocked = spec_.block_size > 0;
        Shape shape = weight.shape();
        int64_t axis = blocked ? layout.reduction_axis : layout.channel_axis;
        const int64_t spatial = shape_numel(Shape(shape.begin() + std::min<size_t>(2, shape.size()), shape.end()));
        const bool flatten = blocked && weight.rank() > 2 && spatial > 1;
        if (flatten) {
            shape = {shape[0], weight.numel() / shape[0]};
            axis = 1;
        }
        const AxisView view = axis_view(shape, axis);
        const int64_t blocks = blocked ? (view.dim + spec_.block_size - 1) / spec_.block_size : view.dim;
        // Scale index of element (o, d, i): per block of the axis (blocked) or per position on the axis.
        auto group_of = [&](int64_t i) {
            const int64_t o = i / (view.dim * view.inner), d = (i / view.inner) % view.dim, in = i % view.inner;
            return blocked ? (o * blocks + d / spec_.block_size) * view.inner + in : d;
        };
        const int64_t groups = blocked ? view.outer * blocks * view.inner : view.dim;
        std::vector<float> lo(groups, 0.0f), hi(groups, 0.0f);
        const float* src = weight.data<float>();
        for (int64_t i = 0; i < weight.numel(); ++i) {
            const int64_t g = group_of(i);
            lo[g] = std::min(lo[g], src[i]);
            hi[g] = std::max(hi[g], src[i]);
        }
        std::vector<float> scales(groups);
        for (int64_t g = 0; g < groups; ++g) scales[g] = choose_int4_scale(lo[g], hi[g], dtype);
        const ElementRounding round = [&](int64_t i, double value) {
            const float scale = scales[group_of(i)];
            return static_cast<double>(
                dequantize_value(quantize_value(static_cast<float>(value), scale, 0, kInt4Levels), scale, 0));
        };
        PARE_ASSIGN_OR_RETURN(const std::vector<float> values, values_to_encode(weight, layout, round, layer));
        std::vector<int8_t> codes(static_cast<size_t>(weight.numel()));
        std::vector<float> decoded(codes.size());
        for (int64_t i = 0; i < weight.numel(); ++i) {
            const float scale = scales[group_of(i)];
            codes[i] = static_cast<int8_t>(quantize_value(values[i], scale, 0, kInt4Levels));
            decoded[i] = dequantize_value(codes[i], scale, 0);
        }
        Shape scale_shape = {view.dim};
        if (blocked) {
            scale_shape = shape;
            scale_shape[axis] = blocks;
        }
        PARE_ASSIGN_OR_RETURN(Tensor packed, pack_4bit(codes, shape, DType::kI4));
        const std::string& base = layer.weight;
        const std::string q_name = add_initializer(base + "_int4", packed, layer.bytes_after);
        const std::string scale_name =
            add_initializer(base + "_scale", float_tensor(scales, scale_shape, dtype), layer.bytes_after);
        const std::string dequantized = flatten ? graph_.unique_name(base + "_dequantized") : decoded_name;
        Node dq = make_node("DequantizeLinear", {q_name, scale_name}, dequantized);
        dq.set_attr_int("axis", axis);
        if (blocked) dq.set_attr_int("block_size", spec_.block_size);
        nodes.push_back(std::move(dq));
        if (flatten) {
            const std::string shape_name = add_initializer(
                base + "_shape", tensor_from_vector<int64_t>(weight.shape(), {weight.rank()}), layer.bytes_after);
            nodes.push_back(make_node("Reshape", {dequantized, shape_name}, decoded_name));
        }
        return decoded;
    }

    // Sign + power-of-two codes with one scale per output channel, decoded by Cast -> Gather(codebook) ->
    // Mul(scale).
    Result<std::vector<float>> encode_log(const Tensor& weight, DType dtype, const WeightLayout& layout,
                                          const std::string& decoded_name, std::vector<Node>& nodes,
                                          WeightOnlyLayer& layer) {
        const AxisView view = axis_view(weight.shape(), layout.channel_axis);
        const float* src = weight.data<float>();
        std::vector<std::vector<float>> channels(view.dim);
        for (int64_t i = 0; i < weight.numel(); ++i) channels[(i / view.inner) % view.dim].push_back(src[i]);
        std::vector<float> scales(view.dim);
        for (int64_t c = 0; c < view.dim; ++c) scales[c] = choose_log_scale(channels[c], spec_.bits, dtype);
        const std::vector<float> codebook = log_codebook(spec_.bits);
        const ElementRounding round = [&](int64_t i, double value) {
            const float scale = scales[(i / view.inner) % view.dim];
            const uint8_t code = log_encode(static_cast<float>(value), scale, spec_.bits);
            return static_cast<double>(round_to(round_to(codebook[code], dtype) * scale, dtype));
        };
        PARE_ASSIGN_OR_RETURN(const std::vector<float> values, values_to_encode(weight, layout, round, layer));
        std::vector<int8_t> codes(static_cast<size_t>(weight.numel()));
        std::vector<float> decoded(codes.size());
        for (int64_t i = 0; i < weight.numel(); ++i) {
            const float scale = scales[(i / view.inner) % view.dim];
            const uint8_t code = log_encode(values[i], scale, spec_.bits);
            codes[i] = static_cast<int8_t>(code);
            decoded[i] = round_to(round_to(codebook[code], dtype) * scale, dtype);
        }
        Tensor stored;
        if (spec_.bits <= 4) {
            PARE_ASSIGN_OR_RETURN(stored, pack_4bit(codes, weight.shape(), DType::kU4));
        } else {
            stored = Tensor(DType::kU8, weight.shape());
            std::copy(codes.begin(), codes.end(), static_cast<int8_t*>(stored.raw()));
        }
        Shape scale_shape(weight.shape().size(), 1);
        scale_shape[layout.channel_axis] = view.dim;
        const std::string& base = layer.weight;
        const std::string codes_name = add_initializer(base + "_log_codes", stored, layer.bytes_after);
        const std::string table_name =
            add_initializer(base + "_log_codebook",
                            float_tensor(codebook, {static_cast<int64_t>(codebook.size())}, dtype), layer.bytes_after);
        const std::string scale_name =
            add_initializer(base + "_scale", float_tensor(scales, scale_shape, dtype), layer.bytes_after);
        const std::string indices = graph_.unique_name(base + "_log_indices");
        const std::string magnitudes = graph_.unique_name(base + "_log_values");
        Node cast = make_node("Cast", {codes_name}, indices);
        cast.set_attr_int("to", static_cast<int64_t>(DType::kI32));
        nodes.push_back(std::move(cast));
        Node gather = make_node("Gather", {table_name, indices}, magnitudes);
        gather.set_attr_int("axis", 0);
        nodes.push_back(std::move(gather));
        nodes.push_back(make_node("Mul", {magnitudes, scale_name}, decoded_name));
        return decoded;
    }

    Model& model_;
    Graph& graph_;
    const WeightOnlySpec& spec_;
    std::map<std::string, std::string> decoded_;  // float weight -> its decoded replacement
};

}  // namespace

Result<std::vector<WeightOnlyLayer>> rewrite_weight_only(Model& model, const WeightOnlySpec& spec) {
    WeightOnlyRewriter rewriter(model, spec);
    return rewriter.run();
}

}  // namespace pare
