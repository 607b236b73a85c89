#include "quantize/qoperator_writer.h"

#include <cstring>
#include <optional>

#include "graph/pass_util.h"
#include "graph/passes.h"
#include "ops/quantize_math.h"

namespace pare {

namespace {

// The DequantizeLinear producing `value`, or -1.
int dequantize_of(const Graph& graph, const std::string& value) {
    const int index = graph.producer(value);
    return index >= 0 && is_op(graph.nodes[index], "DequantizeLinear") ? index : -1;
}

// True if `node` is a QuantizeLinear whose zero point is the lowest level of its type: it maps every negative input
// to the level of 0, as a Relu before it would.
bool quantize_saturates_negatives(const Graph& graph, const Node& node) {
    if (!is_op(node, "QuantizeLinear") || node.has_attribute("output_dtype")) return false;
    if (!node.has_input(2)) return true;  // uint8 zero point 0
    const auto zero = graph.constant(node.input(2));
    if (!zero || zero->numel() != 1 || !dtype_is_integer(zero->dtype())) return false;
    return static_cast<int64_t>(zero->element_as_double(0)) == quant_range(zero->dtype()).lo;
}

// Relu -> Q whose zero point is the lowest level: the Relu changes nothing and goes, so the layer before it meets
// its quantizer directly (exact).
int drop_redundant_relus(Graph& graph, const std::set<std::string>& keep) {
    int dropped = 0;
    for (size_t i = 0; i < graph.nodes.size();) {
        const Node& node = graph.nodes[i];
        const int q = is_op(node, "Relu") ? sole_consumer(graph, node.output(0), keep) : -1;
        if (q < 0 || !quantize_saturates_negatives(graph, graph.nodes[q])) {
            ++i;
            continue;
        }
        graph.nodes[q].proto.set_input(0, node.input(0));
        graph.remove_node(i);
        ++dropped;
    }
    return dropped;
}

// A quantized constant weight [N, K] (transposed from [K, N] when `trans_b` is false), as [N, K, 1, 1].
Tensor filters_from_gemm_weight(const Tensor& w, bool trans_b) {
    const int64_t n = w.dim(trans_b ? 0 : 1), k = w.dim(trans_b ? 1 : 0);
    Tensor filters(w.dtype(), {n, k, 1, 1});
    const auto* src = static_cast<const uint8_t*>(w.raw());
    auto* dst = static_cast<uint8_t*>(filters.raw());
    for (int64_t row = 0; row < n; ++row) {
        for (int64_t col = 0; col < k; ++col) dst[row * k + col] = trans_b ? src[row * k + col] : src[col * n + row];
    }
    return filters;
}

// Gemm (2-D, no transA, alpha = beta = 1) with a 1-D bias and DequantizeLinear inputs whose output a QuantizeLinear
// reads, rewritten in QDQ form as Reshape [B, K, 1, 1] -> 1x1 Conv -> Flatten: the same products and bias, which
// fuse_qdq then turns into a standard QLinearConv (QLinearMatMul cannot take the bias).
bool gemm_to_conv(Graph& graph, size_t index, const std::set<std::string>& keep) {
    const Node gemm = graph.nodes[index];
    if (!is_op(gemm, "Gemm") || gemm.num_inputs() < 3 || !gemm.has_input(2)) return false;
    if (gemm.attr_int("transA", 0) != 0 || gemm.attr_float("alpha", 1.0f) != 1.0f ||
        gemm.attr_float("beta", 1.0f) != 1.0f) {
        return false;
    }
    const int q = sole_consumer(graph, gemm.output(0), keep);
    if (q < 0 || !is_op(graph.nodes[q], "QuantizeLinear")) return false;
    const int x_dq = dequantize_of(graph, gemm.input(0)), w_dq = dequantize_of(graph, gemm.input(1));
    if (x_dq < 0 || w_dq < 0) return false;
    const auto w = graph.constant(graph.nodes[w_dq].input(0));
    if (!w || w->rank() != 2 || dtype_storage_bytes(w->dtype(), 1) != 1) return false;
    const bool trans_b = gemm.attr_int("transB", 0) != 0;
    const int64_t n = w->dim(trans_b ? 0 : 1);
    // Per-channel weight scales must run along N, which becomes the filters' axis 0.
    const auto w_scale = graph.constant(graph.nodes[w_dq].input(1));
    if (!w_scale || (w_scale->numel() != 1 && w_scale->numel() != n)) return false;
    const int bias_dq = dequantize_of(graph, gemm.input(2));
    const auto bias = bias_dq >= 0 ? graph.constant(graph.nodes[bias_dq].input(0)) : graph.constant(gemm.input(2));
    if (!bias || bias->rank() != 1 || bias->numel() != n) return false;

    const std::string base = gemm.name().empty() ? gemm.output(0) : gemm.name();
    const std::string shape =
        add_initializer(graph, base + "_rows_as_pixels", tensor_from_vector<int64_t>({0, -1, 1, 1}, {4}));
    const std::string filters =
        add_initializer(graph, graph.nodes[w_dq].input(0) + "_filters", filters_from_gemm_weight(*w, trans_b));
    const std::string x4 = graph.unique_name(base + "_input_pixels");
    Node reshape =
        make_node("Reshape", {graph.nodes[x_dq].input(0), shape}, {x4}, graph.unique_name(base + "_reshape"));
    Node x_dequantize = graph.nodes[x_dq];
    x_dequantize.proto.set_name(graph.unique_name(base + "_input_dequantize"));
    x_dequantize.proto.set_input(0, x4);
    x_dequantize.proto.set_output(0, graph.unique_name(x4 + "_dequantized"));
    Node w_dequantize = graph.nodes[w_dq];
    w_dequantize.proto.set_name(graph.unique_name(base + "_filters_dequantize"));
    w_dequantize.proto.set_input(0, filters);
    w_dequantize.proto.set_output(0, graph.unique_name(filters + "_dequantized"));
    if (w_scale->numel() != 1) w_dequantize.set_attr_int("axis", 0);
    const std::string y4 = graph.unique_name(base + "_output_pixels");
    Node conv = make_node("Conv", {x_dequantize.output(0), w_dequantize.output(0), gemm.input(2)}, {y4}, gemm.name());
    Node flatten = make_node("Flatten", {y4}, {gemm.output(0)}, graph.unique_name(base + "_flatten"));
    flatten.set_attr_int("axis", 1);
    graph.remove_node(index);
    for (Node* node : {&flatten, &conv, &w_dequantize, &x_dequantize, &reshape}) graph.insert_node(index, *node);
    return true;
}

}  // namespace

int convert_qdq_to_qoperator(Graph& graph) {
    std::set<std::string> keep;
    for (const auto& name : graph.output_names()) keep.insert(name);
    // Quantizers move up next to the layers (exact), redundant Relus go, biased Gemms become 1x1 convolutions (whose
    // Flatten the quantizer then moves above), then the layers become integer ops and MaxPool / data movement
    // between integer regions run on integers.
    hoist_quantize(graph, keep);
    drop_redundant_relus(graph, keep);
    for (size_t i = 0; i < graph.nodes.size(); ++i) gemm_to_conv(graph, i, keep);
    hoist_quantize(graph, keep);
    fuse_qdq(graph, keep, false);
    run_quantized_data_ops(graph, keep);
    remove_dead_nodes(graph);
    int converted = 0;
    for (const Node& node : graph.nodes) converted += is_op(node, "QLinearConv") || is_op(node, "QLinearMatMul");
    return converted;
}

}  // namespace pare
