#include "quantize/weight_only_rewriter.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include "core/half.h"
#include "graph/passes.h"
#include "ops/quantize_math.h"
#include "quantize/coded_weight.h"
#include "quantize/gptq_weight.h"
#include "quantize/int4_pack.h"
#include "quantize/log_quant.h"
#include "quantize/matmul_nbits.h"
#include "quantize/opset_upgrade.h"
#include "quantize/weight_quantizer.h"

namespace pare {

namespace {

// The first opset with INT4/UINT4 tensors, blocked DequantizeLinear and Cast from 4-bit types.
constexpr int64_t kFourBitOpset = 21;
// The first opset with per-axis DequantizeLinear (the int8 rung).
constexpr int64_t kPerAxisOpset = 13;

// The int4 levels: the full signed range, so no code is wasted (see choose_symmetric_scale).
constexpr QuantRange kInt4Levels{-8, 7};
// The int8 rung's levels: symmetric, as 8-bit weight quantizers write them.
constexpr QuantRange kInt8Levels{-127, 127};

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

// Symmetric scale of a group with extremes lo <= 0 <= hi on `levels`: the most negative value maps to levels.lo or
// the most positive to levels.hi, whichever needs the larger scale, so nothing clips (int4: the grid is never
// coarser than [-7, 7]'s).
float choose_symmetric_scale(float lo, float hi, QuantRange levels, DType dtype) {
    const float scale =
        round_to(std::max(lo / static_cast<float>(levels.lo), hi / static_cast<float>(levels.hi)), dtype);
    return scale > 0.0f && std::isfinite(scale) ? scale : 1.0f;  // an all-zero group: any scale is exact
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
        if (spec_.scheme == WeightOnlyScheme::kInt4 && spec_.block_size < 0) {
            return invalid_input("block size must be 0 (per output channel) or positive, not " +
                                 std::to_string(spec_.block_size));
        }
        if (spec_.scheme != WeightOnlyScheme::kInt4) {
            PARE_RETURN_IF_ERROR(code_weight({}, code_spec()).status());  // the bits are in the scheme's range
        }
        std::vector<std::string> selected;  // first outputs of the layers to rewrite (indices move on insertion)
        for (const Node& node : graph_.nodes) {
            if (selectable(node)) selected.push_back(node.output(0));
        }
        if (selected.empty()) return std::vector<WeightOnlyLayer>{};
        const auto layer_node = [&](const std::string& output) -> const Node& {
            return graph_.nodes[static_cast<size_t>(graph_.producer(output))];
        };
        const bool four_bit_scheme = spec_.scheme == WeightOnlyScheme::kInt4 ||
                                     spec_.scheme == WeightOnlyScheme::kBinary ||
                                     spec_.scheme == WeightOnlyScheme::kTernary || spec_.bits <= 4;
        // A layer at the scheme's precision needs 4-bit tensors, unless MatMulNBits holds it (only DequantizeLinear
        // reads INT4); int8 layers need per-axis DequantizeLinear.
        const auto needs_four_bit = [&](const std::string& output) {
            const Node& node = layer_node(output);
            if (!four_bit_scheme || rung_of(node) != WeightOnlyRung::kScheme) return false;
            if (spec_.scheme != WeightOnlyScheme::kInt4) return true;
            const Tensor weight = *float_constant(graph_, node.input(1));
            WeightLayout layout;
            weight_layout(node, weight, layout);
            return !as_matmul_nbits(node, weight, layout, read_dtype(node.input(1)));
        };
        const bool four_bit = std::any_of(selected.begin(), selected.end(), needs_four_bit);
        const bool per_axis = std::any_of(selected.begin(), selected.end(), [&](const auto& output) {
            return rung_of(layer_node(output)) == WeightOnlyRung::kInt8;
        });
        if (four_bit || (per_axis && model_.opset() < kPerAxisOpset)) {
            const int64_t target = four_bit ? kFourBitOpset : kPerAxisOpset;
            auto raised = raise_onnx_opset(model_, target);
            if (!raised.ok()) {
                return raised.with_context(std::string(four_bit ? "4-bit" : "8-bit per-channel") +
                                           " weights need opset " + std::to_string(target) + " (this model imports " +
                                           std::to_string(model_.opset()) + ")");
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
    CodeSpec code_spec() const {
        CodeSpec code;
        code.scheme = spec_.scheme == WeightOnlyScheme::kLog        ? CodeScheme::kLog
                      : spec_.scheme == WeightOnlyScheme::kCodebook ? CodeScheme::kCodebook
                      : spec_.scheme == WeightOnlyScheme::kBinary   ? CodeScheme::kBinary
                                                                    : CodeScheme::kTernary;
        code.bits = spec_.bits;
        code.tables = spec_.codebook;
        return code;
    }

    WeightOnlyRung rung_of(const Node& node) const {
        auto it = spec_.rungs.find(node.name());
        return it == spec_.rungs.end() ? WeightOnlyRung::kScheme : it->second;
    }

    bool selectable(const Node& node) const {
        static const std::set<std::string> ops = {"Conv", "Gemm", "MatMul"};
        if (!node.is_onnx_domain() || !ops.count(node.op_type()) || node.num_inputs() < 2) return false;
        if (spec_.excluded_nodes.count(node.name()) || rung_of(node) == WeightOnlyRung::kFloat) return false;
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
        Node& node = graph_.nodes[index];
        const std::string weight_name = node.input(1);
        const Tensor weight = *float_constant(graph_, weight_name);
        const DType dtype = read_dtype(weight_name);
        if (dtype != DType::kF32 && dtype != DType::kF16 && dtype != DType::kBF16)
            return std::optional<WeightOnlyLayer>();
        WeightLayout layout;
        weight_layout(node, weight, layout);
        const bool nbits = as_matmul_nbits(node, weight, layout, dtype);
        if (nbits) {
            if (auto it = nbits_.find(weight_name); it != nbits_.end()) {
                to_matmul_nbits(node, it->second);
                return std::optional<WeightOnlyLayer>();
            }
        } else if (auto it = decoded_.find(weight_name); it != decoded_.end()) {
            node.proto.set_input(1, it->second);
            return std::optional<WeightOnlyLayer>();
        }

        WeightOnlyLayer layer;
        layer.node = node.name();
        layer.op_type = node.op_type();
        layer.output = node.output(0);
        layer.weight = weight_name;
        layer.weight_elements = weight.numel();
        layer.bytes_before = static_cast<int64_t>(dtype_storage_bytes(dtype, weight.numel()));
        layer.int8 = rung_of(node) == WeightOnlyRung::kInt8;
        if (nbits) {
            PARE_ASSIGN_OR_RETURN(IntegerCodes int4, integer_codes(weight, dtype, layout, int4_grid(), layer));
            NBitsWeight packed_weight;
            packed_weight.k = weight.shape()[layout.reduction_axis];
            packed_weight.n = weight.shape()[layout.channel_axis];
            if (layout.reduction_axis == 1) {  // Gemm with transB: codes [N, K] and scales [N, blocks] to [K, N] order
                transpose_in_place(int4.codes, packed_weight.n, packed_weight.k);
                transpose_in_place(int4.scales, packed_weight.n, int4.scale_shape[1]);
            }
            PARE_ASSIGN_OR_RETURN(
                MatMulNBitsWeights packed,
                pack_matmul_nbits(int4.codes, int4.scales, packed_weight.k, packed_weight.n, spec_.block_size, dtype));
            packed_weight.b = add_initializer(weight_name + "_nbits", packed.b, layer.bytes_after);
            packed_weight.scales = add_initializer(weight_name + "_scale", packed.scales, layer.bytes_after);
            nbits_[weight_name] = packed_weight;
            to_matmul_nbits(node, packed_weight);
            layer.matmulnbits = true;
            layer.weight_sqnr_db = sqnr_db(weight.data<float>(), int4.decoded);
            return std::optional<WeightOnlyLayer>(std::move(layer));
        }
        const std::string decoded_name = graph_.unique_name(weight_name + "_decoded");
        std::vector<Node> nodes;
        std::vector<float> decoded;
        if (layer.int8) {
            PARE_ASSIGN_OR_RETURN(decoded, encode_integer(weight, dtype, layout, {kInt8Levels, 0}, DType::kI8,
                                                          decoded_name, nodes, layer));
        } else if (spec_.scheme == WeightOnlyScheme::kInt4) {
            PARE_ASSIGN_OR_RETURN(decoded, encode_integer(weight, dtype, layout, int4_grid(), DType::kI4, decoded_name,
                                                          nodes, layer));
        } else {
            PARE_ASSIGN_OR_RETURN(decoded, encode_coded(weight, dtype, layout, decoded_name, nodes, layer));
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

    // The initializers of a weight packed for MatMulNBits.
    struct NBitsWeight {
        std::string b, scales;
        int64_t k = 0, n = 0;
    };

    template <class T>
    static void transpose_in_place(std::vector<T>& values, int64_t rows, int64_t cols) {
        std::vector<T> transposed(values.size());
        for (int64_t r = 0; r < rows; ++r) {
            for (int64_t c = 0; c < cols; ++c) transposed[c * rows + r] = values[r * cols + c];
        }
        values.swap(transposed);
    }

    // MatMulNBits (Y = A . W + optional bias, W [K, N] blocked along K by a power of two >= 16, float32/float16)
    // expresses a MatMul with a rank-2 weight, and a Gemm without transA whose alpha is 1 and whose C, if any, is a
    // constant bias of N values added with beta 1.
    bool as_matmul_nbits(const Node& node, const Tensor& weight, const WeightLayout& layout, DType dtype) const {
        if (!spec_.matmulnbits || spec_.scheme != WeightOnlyScheme::kInt4 || rung_of(node) != WeightOnlyRung::kScheme ||
            weight.rank() != 2 ||
            !matmul_nbits_block_size_ok(spec_.block_size) || (dtype != DType::kF32 && dtype != DType::kF16)) {
            return false;
        }
        if (node.op_type() == "MatMul") return true;
        if (node.op_type() != "Gemm" || node.attr_int("transA", 0) != 0 || node.attr_float("alpha", 1.0f) != 1.0f)
            return false;
        if (node.num_inputs() < 3 || node.input(2).empty()) return true;
        const auto bias = graph_.constant(node.input(2));
        const int64_t n = weight.shape()[layout.channel_axis];
        return node.attr_float("beta", 1.0f) == 1.0f && bias && bias->dtype() == dtype && bias->numel() == n &&
               (bias->rank() == 1 || (bias->rank() == 2 && bias->shape()[0] == 1));
    }

    // Turns the MatMul or Gemm `node` into MatMulNBits reading `packed` (and a Gemm's C as the bias input).
    void to_matmul_nbits(Node& node, const NBitsWeight& packed) {
        std::string bias = node.op_type() == "Gemm" && node.num_inputs() > 2 ? node.input(2) : "";
        if (!bias.empty() && graph_.constant(bias)->rank() != 1) {  // [1, N] -> [N]
            const std::string flat = graph_.unique_name(bias + "_bias");
            graph_.set_initializer(flat, graph_.constant(bias)->reshaped({packed.n}));
            bias = flat;
        }
        const std::string a = node.input(0);
        node.proto.clear_input();
        for (const std::string& input : {a, packed.b, packed.scales}) node.proto.add_input(input);
        if (!bias.empty()) {
            for (const std::string& input : {std::string(), std::string(), bias}) node.proto.add_input(input);
        }
        node.proto.set_op_type("MatMulNBits");
        node.proto.set_domain(kMicrosoftDomain);
        node.proto.clear_attribute();
        node.set_attr_int("K", packed.k);
        node.set_attr_int("N", packed.n);
        node.set_attr_int("bits", 4);
        node.set_attr_int("block_size", spec_.block_size);
        bool imported = false;
        for (const auto& import : model_.header.opset_import())
            imported = imported || import.domain() == kMicrosoftDomain;
        if (!imported) {
            auto* import = model_.header.add_opset_import();
            import->set_domain(kMicrosoftDomain);
            import->set_version(kMicrosoftOpset);
        }
    }

    // A symmetric integer grid: its levels, and elements per block along the reduction axis (0: per output channel).
    struct IntegerGrid {
        QuantRange levels;
        int64_t block_size = 0;
    };

    IntegerGrid int4_grid() const { return {kInt4Levels, spec_.block_size}; }

    // Symmetric integer codes and scales of a weight, in the DequantizeLinear layout: `shape` (the weight's, or a
    // Conv kernel with a spatial extent flattened to [O, I x kH x kW], since a DequantizeLinear block runs along one
    // axis only) with scales of `scale_shape` along `axis`, per block of the axis or per output channel.
    struct IntegerCodes {
        Shape shape, scale_shape;
        int64_t axis = 0;
        bool flatten = false;
        std::vector<int8_t> codes;
        std::vector<float> scales;
        std::vector<float> decoded;
    };

    Result<IntegerCodes> integer_codes(const Tensor& weight, DType dtype, const WeightLayout& layout,
                                       const IntegerGrid& grid, WeightOnlyLayer& layer) const {
        IntegerCodes q;
        const bool blocked = grid.block_size > 0;
        q.shape = weight.shape();
        q.axis = blocked ? layout.reduction_axis : layout.channel_axis;
        const Shape& shape = weight.shape();
        const int64_t spatial = shape_numel(Shape(shape.begin() + std::min<size_t>(2, shape.size()), shape.end()));
        q.flatten = blocked && weight.rank() > 2 && spatial > 1;
        if (q.flatten) {
            q.shape = {shape[0], weight.numel() / shape[0]};
            q.axis = 1;
        }
        const AxisView view = axis_view(q.shape, q.axis);
        const int64_t blocks = blocked ? (view.dim + grid.block_size - 1) / grid.block_size : view.dim;
        // Scale index of element (o, d, i): per block of the axis (blocked) or per position on the axis.
        auto group_of = [&](int64_t i) {
            const int64_t o = i / (view.dim * view.inner), d = (i / view.inner) % view.dim, in = i % view.inner;
            return blocked ? (o * blocks + d / grid.block_size) * view.inner + in : d;
        };
        const int64_t groups = blocked ? view.outer * blocks * view.inner : view.dim;
        std::vector<float> lo(groups, 0.0f), hi(groups, 0.0f);
        const float* src = weight.data<float>();
        for (int64_t i = 0; i < weight.numel(); ++i) {
            const int64_t g = group_of(i);
            lo[g] = std::min(lo[g], src[i]);
            hi[g] = std::max(hi[g], src[i]);
        }
        q.scales.resize(groups);
        for (int64_t g = 0; g < groups; ++g) q.scales[g] = choose_symmetric_scale(lo[g], hi[g], grid.levels, dtype);
        const ElementRounding round = [&](int64_t i, double value) {
            const float scale = q.scales[group_of(i)];
            return static_cast<double>(
                dequantize_value(quantize_value(static_cast<float>(value), scale, 0, grid.levels), scale, 0));
        };
        PARE_ASSIGN_OR_RETURN(const std::vector<float> values, values_to_encode(weight, layout, round, layer));
        q.codes.resize(static_cast<size_t>(weight.numel()));
        q.decoded.resize(q.codes.size());
        for (int64_t i = 0; i < weight.numel(); ++i) {
            const float scale = q.scales[group_of(i)];
            q.codes[i] = static_cast<int8_t>(quantize_value(values[i], scale, 0, grid.levels));
            q.decoded[i] = dequantize_value(q.codes[i], scale, 0);
        }
        q.scale_shape = {view.dim};
        if (blocked) {
            q.scale_shape = q.shape;
            q.scale_shape[q.axis] = blocks;
        }
        return q;
    }

    // Block-wise int4 (or per-channel int8) behind DequantizeLinear [-> Reshape back to the kernel's shape].
    Result<std::vector<float>> encode_integer(const Tensor& weight, DType dtype, const WeightLayout& layout,
                                              const IntegerGrid& grid, DType code_dtype,
                                              const std::string& decoded_name, std::vector<Node>& nodes,
                                              WeightOnlyLayer& layer) {
        PARE_ASSIGN_OR_RETURN(IntegerCodes q, integer_codes(weight, dtype, layout, grid, layer));
        Tensor packed;
        if (code_dtype == DType::kI4) {
            PARE_ASSIGN_OR_RETURN(packed, pack_4bit(q.codes, q.shape, DType::kI4));
        } else {
            packed = Tensor(DType::kI8, q.shape);
            std::copy(q.codes.begin(), q.codes.end(), packed.data<int8_t>());
        }
        const std::string& base = layer.weight;
        const std::string q_name =
            add_initializer(base + (code_dtype == DType::kI4 ? "_int4" : "_int8"), packed, layer.bytes_after);
        const std::string scale_name =
            add_initializer(base + "_scale", float_tensor(q.scales, q.scale_shape, dtype), layer.bytes_after);
        const std::string dequantized = q.flatten ? graph_.unique_name(base + "_dequantized") : decoded_name;
        Node dq = make_node("DequantizeLinear", {q_name, scale_name}, dequantized);
        dq.set_attr_int("axis", q.axis);
        if (grid.block_size > 0) dq.set_attr_int("block_size", grid.block_size);
        nodes.push_back(std::move(dq));
        if (q.flatten) nodes.push_back(reshape_to(weight.shape(), dequantized, decoded_name, layer));
        return std::move(q.decoded);
    }

    Node reshape_to(const Shape& shape, const std::string& input, const std::string& output, WeightOnlyLayer& layer) {
        const std::string shape_name = add_initializer(
            layer.weight + "_shape", tensor_from_vector<int64_t>(shape, {static_cast<int64_t>(shape.size())}),
            layer.bytes_after);
        return make_node("Reshape", {input, shape_name}, output);
    }

    // The one writer of the code + table schemes (log, codebook, binary, ternary). Shared table: Cast(codes ->
    // int32) -> Gather(table) [-> Mul(per-channel scale)]. Per-channel tables: the codes are viewed as a matrix
    // with the output channels on the weight's channel axis ([C, rest] for Conv and transposed Gemm, [K, N] for
    // MatMul) and the tables as [C, entries] (or [entries, N]); Cast -> GatherElements(tables, axis = the entries'
    // axis) [-> Reshape back to a Conv kernel's shape].
    Result<std::vector<float>> encode_coded(const Tensor& weight, DType dtype, const WeightLayout& layout,
                                            const std::string& decoded_name, std::vector<Node>& nodes,
                                            WeightOnlyLayer& layer) {
        const AxisView view = axis_view(weight.shape(), layout.channel_axis);
        const float* src = weight.data<float>();
        std::vector<std::vector<float>> channels(view.dim);
        for (int64_t i = 0; i < weight.numel(); ++i) channels[(i / view.inner) % view.dim].push_back(src[i]);
        PARE_ASSIGN_OR_RETURN(CodedWeight coded, code_weight(channels, code_spec()));
        // Tables and scales as stored in the weight's float type; decoded values as the graph computes them.
        for (float& v : coded.table) v = round_to(v, dtype);
        for (float& v : coded.scales) v = round_to(v, dtype);
        const ElementRounding round = [&](int64_t i, double value) {
            const int64_t c = (i / view.inner) % view.dim;
            return static_cast<double>(round_to(coded.decode(c, coded.encode(c, static_cast<float>(value))), dtype));
        };
        PARE_ASSIGN_OR_RETURN(const std::vector<float> values, values_to_encode(weight, layout, round, layer));
        std::vector<int8_t> codes(static_cast<size_t>(weight.numel()));
        std::vector<float> decoded(codes.size());
        std::vector<size_t> next(static_cast<size_t>(view.dim), 0);  // per channel: its next element
        for (int64_t i = 0; i < weight.numel(); ++i) {
            const int64_t c = (i / view.inner) % view.dim;
            // GPTQ's values are encoded against the tables; otherwise the scheme's own codes are written.
            const uint8_t stored = coded.codes[c][next[c]++];
            const uint8_t code = layer.gptq ? coded.encode(c, values[i]) : stored;
            codes[i] = static_cast<int8_t>(code);
            decoded[i] = round_to(coded.decode(c, code), dtype);
        }
        const bool per_channel = !coded.shared_table;
        // A per-channel GatherElements needs the codes as a matrix with the channels on one axis.
        Shape code_shape = weight.shape();
        if (per_channel && layout.channel_axis == 0) code_shape = {view.dim, weight.numel() / view.dim};
        Tensor stored;
        if (coded.bits <= 4) {
            PARE_ASSIGN_OR_RETURN(stored, pack_4bit(codes, code_shape, DType::kU4));
        } else {
            stored = Tensor(DType::kU8, code_shape);
            std::copy(codes.begin(), codes.end(), static_cast<int8_t*>(stored.raw()));
        }
        const std::string& base = layer.weight;
        const std::string codes_name = add_initializer(base + "_codes", stored, layer.bytes_after);
        const std::string indices = graph_.unique_name(base + "_indices");
        Node cast = make_node("Cast", {codes_name}, indices);
        cast.set_attr_int("to", static_cast<int64_t>(DType::kI32));
        nodes.push_back(std::move(cast));
        if (per_channel) {
            // Tables [C, entries] gathered along axis 1, or [entries, N] along axis 0 for a [K, N] MatMul weight.
            const int64_t entries = coded.entries;
            std::vector<float> table = coded.table;
            Shape table_shape = {view.dim, entries};
            if (layout.channel_axis != 0) {
                table_shape = {entries, view.dim};
                for (int64_t c = 0; c < view.dim; ++c) {
                    for (int64_t e = 0; e < entries; ++e) table[e * view.dim + c] = coded.table[c * entries + e];
                }
            }
            const std::string table_name =
                add_initializer(base + "_codebook", float_tensor(table, table_shape, dtype), layer.bytes_after);
            const bool reshape = code_shape != weight.shape();
            const std::string gathered = reshape ? graph_.unique_name(base + "_values") : decoded_name;
            Node gather = make_node("GatherElements", {table_name, indices}, gathered);
            gather.set_attr_int("axis", layout.channel_axis == 0 ? 1 : 0);
            nodes.push_back(std::move(gather));
            if (reshape) nodes.push_back(reshape_to(weight.shape(), gathered, decoded_name, layer));
            return decoded;
        }
        const std::string table_name =
            add_initializer(base + "_codebook", float_tensor(coded.table, {coded.entries}, dtype), layer.bytes_after);
        const std::string gathered = coded.scales.empty() ? decoded_name : graph_.unique_name(base + "_values");
        Node gather = make_node("Gather", {table_name, indices}, gathered);
        gather.set_attr_int("axis", 0);
        nodes.push_back(std::move(gather));
        if (!coded.scales.empty()) {
            Shape scale_shape(weight.shape().size(), 1);
            scale_shape[layout.channel_axis] = view.dim;
            const std::string scale_name =
                add_initializer(base + "_scale", float_tensor(coded.scales, scale_shape, dtype), layer.bytes_after);
            nodes.push_back(make_node("Mul", {gathered, scale_name}, decoded_name));
        }
        return decoded;
    }

    Model& model_;
    Graph& graph_;
    const WeightOnlySpec& spec_;
    std::map<std::string, std::string> decoded_;  // float weight -> its decoded replacement
    std::map<std::string, NBitsWeight> nbits_;    // float weight -> its MatMulNBits initializers
};

}  // namespace

Result<std::vector<WeightOnlyLayer>> rewrite_weight_only(Model& model, const WeightOnlySpec& spec) {
    WeightOnlyRewriter rewriter(model, spec);
    return rewriter.run();
}

}  // namespace pare
