// Turns QDQ-quantized convolutions and matrix products into integer ops, so int8 models run as int8:
//
//   DQ(x_q) -+
//   DQ(w_q) -+-> Conv/Gemm/MatMul [-> Add(bias)] [-> Relu | Clip] -> Q  ==>  QLinearConv / QLinearMatMul
//   bias    -+
//
// x and y are per tensor, w per tensor or per output channel, all parameters constant. A float bias is quantized to
// int32 in units of x_scale * w_scale (as ONNX Runtime does); an int32 bias behind DequantizeLinear is used as it is
// when its scale is that product. With an activation, a bias on a product, or a Gemm, the node is pare's private
// QLinearConv / QLinearMatMul (graph/fused_ops.h: activation applied in the quantized domain; private QLinearMatMul
// takes the int32 bias as input 8). The DequantizeLinear nodes stay while something else reads them.
#include <algorithm>
#include <cmath>
#include <limits>

#include "graph/fused_ops.h"
#include "graph/pass_util.h"
#include "graph/passes.h"

namespace pare {

namespace {

// Constant parameters of one DequantizeLinear or QuantizeLinear node.
struct QuantParams {
    std::string scale_name, zero_name;  // zero_name "" when the node has none (zero of type uint8 for Q)
    Tensor scale, zero;                 // zero undefined when absent
    int64_t axis = 1;
};

std::optional<QuantParams> quant_params(const Graph& graph, const Node& node) {
    if (node.attr_int("block_size", 0) != 0 || node.num_outputs() != 1) return std::nullopt;
    QuantParams p;
    p.scale_name = node.input(1);
    const auto scale = graph.constant(p.scale_name);
    if (!scale || scale->dtype() != DType::kF32 || scale->rank() > 1) return std::nullopt;
    p.scale = *scale;
    p.axis = node.attr_int("axis", 1);
    if (node.has_input(2)) {
        const auto zero = graph.constant(node.input(2));
        if (!zero || zero->shape() != scale->shape()) return std::nullopt;
        p.zero_name = node.input(2);
        p.zero = *zero;
    }
    return p;
}

// A per-tensor 8-bit activation: scale and zero point single values, zero point present (it carries the type).
bool per_tensor_8bit(const QuantParams& p, bool zero_required) {
    if (p.scale.numel() != 1) return false;
    if (!p.zero.defined()) return !zero_required;
    return p.zero.dtype() == DType::kU8 || p.zero.dtype() == DType::kI8;
}

// The DequantizeLinear producing `value`, or -1.
int dequantize_of(const Graph& graph, const std::string& value) {
    const int index = graph.producer(value);
    return index >= 0 && is_op(graph.nodes[index], "DequantizeLinear") ? index : -1;
}

// Everything matched around one Conv / Gemm / MatMul.
struct Match {
    int op = -1, x_dq = -1, w_dq = -1, add = -1, activation_node = -1, q = -1;
    QuantParams x, w, y;
    Tensor w_q;
    std::optional<Tensor> float_bias;
    std::optional<Tensor> int_bias;  // an int32 bias whose scale already is x_scale * w_scale
    Activation activation;
};

// x_scale * w_scale[c] for channel c (w per tensor or per channel).
double bias_scale(const Match& m, int64_t c) {
    const double w_scale = m.w.scale.data<float>()[m.w.scale.numel() == 1 ? 0 : c];
    return static_cast<double>(m.x.scale.data<float>()[0]) * w_scale;
}

// The bias as int32 in accumulator units, or nullopt when it does not fit.
std::optional<Tensor> int32_bias(const Match& m, int64_t channels) {
    if (m.int_bias) return m.int_bias;
    if (!m.float_bias) return std::nullopt;
    if (m.float_bias->numel() != channels) return std::nullopt;
    Tensor bias(DType::kI32, {channels});
    for (int64_t c = 0; c < channels; ++c) {
        const double q = std::nearbyint(static_cast<double>(m.float_bias->data<float>()[c]) / bias_scale(m, c));
        if (!(std::fabs(q) <= static_cast<double>(std::numeric_limits<int32_t>::max()))) return std::nullopt;
        bias.data<int32_t>()[c] = static_cast<int32_t>(q);
    }
    return bias;
}

// Reads a bias value: a float constant, or DequantizeLinear of an int32 constant (used directly when its scale is
// x_scale * w_scale, else dequantized).
bool read_bias(const Graph& graph, const std::string& value, Match& m) {
    if (const auto constant = graph.constant(value); constant && constant->dtype() == DType::kF32) {
        m.float_bias = constant->reshaped({constant->numel()});
        return true;
    }
    const int dq = dequantize_of(graph, value);
    if (dq < 0) return false;
    const auto q = graph.constant(graph.nodes[dq].input(0));
    const auto params = quant_params(graph, graph.nodes[dq]);
    if (!q || q->dtype() != DType::kI32 || !params ||
        (params->zero.defined() && params->zero.numel() > 0 && std::fabs(params->zero.element_as_double(0)) > 0)) {
        return false;
    }
    const int64_t n = q->numel();
    bool same_scale = params->scale.numel() == 1 || params->scale.numel() == n;
    Tensor as_float(DType::kF32, {n});
    for (int64_t c = 0; c < n && same_scale; ++c) {
        const double s = params->scale.data<float>()[params->scale.numel() == 1 ? 0 : c];
        as_float.data<float>()[c] = static_cast<float>(q->data<int32_t>()[c] * s);
        same_scale = std::fabs(s - bias_scale(m, c)) <= 1e-6 * s;
    }
    if (same_scale)
        m.int_bias = q->reshaped({n});
    else
        m.float_bias = as_float;
    return true;
}

// Matches DQ inputs, an optional bias Add (MatMul), an optional Relu/Clip and the closing Q around node `index`.
std::optional<Match> match(const Graph& graph, int index, const std::set<std::string>& keep) {
    const Node& node = graph.nodes[index];
    Match m;
    m.op = index;
    m.x_dq = dequantize_of(graph, node.input(0));
    m.w_dq = dequantize_of(graph, node.input(1));
    if (m.x_dq < 0 || m.w_dq < 0) return std::nullopt;
    const auto x = quant_params(graph, graph.nodes[m.x_dq]);
    const auto w = quant_params(graph, graph.nodes[m.w_dq]);
    const auto w_q = graph.constant(graph.nodes[m.w_dq].input(0));
    if (!x || !w || !w_q || !per_tensor_8bit(*x, true)) return std::nullopt;
    if (w_q->dtype() != DType::kI8 && w_q->dtype() != DType::kU8) return std::nullopt;
    m.x = *x;
    m.w = *w;
    m.w_q = *w_q;
    if (node.num_inputs() > 2 && node.has_input(2) && !read_bias(graph, node.input(2), m)) return std::nullopt;

    std::string out = node.output(0);
    int next = sole_consumer(graph, out, keep);
    if (node.op_type() == "MatMul" && next >= 0 && is_op(graph.nodes[next], "Add")) {
        const int other = other_input(graph.nodes[next], out);
        if (other >= 0 && read_bias(graph, graph.nodes[next].input(other), m)) {
            m.add = next;
            out = graph.nodes[next].output(0);
            next = sole_consumer(graph, out, keep);
        }
    }
    if (next >= 0) {
        const auto activation = activation_of_node(graph.nodes[next], graph);
        if (activation && (activation->kind == ActivationKind::kRelu || activation->kind == ActivationKind::kClip)) {
            m.activation = *activation;
            m.activation_node = next;
            out = graph.nodes[next].output(0);
            next = sole_consumer(graph, out, keep);
        }
    }
    if (next < 0 || !is_op(graph.nodes[next], "QuantizeLinear") || graph.nodes[next].input(0) != out)
        return std::nullopt;
    const auto y = quant_params(graph, graph.nodes[next]);
    if (!y || !per_tensor_8bit(*y, false) || graph.nodes[next].has_attribute("output_dtype")) return std::nullopt;
    m.q = next;
    m.y = *y;
    return m;
}

// The zero point input of a parameter set, creating a zero of `dtype` (shaped like the scale) when it has none.
std::string zero_point_input(Graph& graph, const QuantParams& p, DType dtype, const std::string& base) {
    if (!p.zero_name.empty()) return p.zero_name;
    return add_initializer(graph, base + "_zero_point", Tensor(dtype, p.scale.shape()));
}

// Conv -> QLinearConv. Weights per tensor or per output channel (axis 0).
std::optional<Node> rewrite_conv(Graph& graph, const Match& m, bool private_ops) {
    const Node& conv = graph.nodes[m.op];
    const int64_t filters = m.w_q.dim(0);
    if (m.w.scale.numel() != 1 && !(m.w.scale.numel() == filters && (m.w.axis == 0 || m.w.axis == -m.w_q.rank()))) {
        return std::nullopt;
    }
    std::optional<Tensor> bias;
    if (m.float_bias || m.int_bias) {
        bias = int32_bias(m, filters);
        if (!bias) return std::nullopt;
    }
    const Node& x_dq = graph.nodes[m.x_dq];
    const Node& w_dq = graph.nodes[m.w_dq];
    std::vector<std::string> inputs = {
        x_dq.input(0),  m.x.scale_name,
        m.x.zero_name,  w_dq.input(0),
        m.w.scale_name, zero_point_input(graph, m.w, m.w_q.dtype(), w_dq.input(0)),
        m.y.scale_name, zero_point_input(graph, m.y, DType::kU8, graph.nodes[m.q].output(0))};
    if (bias) inputs.push_back(add_initializer(graph, conv.name() + "_bias_int32", *bias));
    Node q_conv = make_node("QLinearConv", inputs, {graph.nodes[m.q].output(0)}, conv.name());
    for (const auto& attr : conv.proto.attribute()) {
        if (attr.name().rfind("activation", 0) != 0) *q_conv.proto.add_attribute() = attr;
    }
    if (m.activation.kind != ActivationKind::kNone) {
        if (!private_ops) return std::nullopt;
        make_private(q_conv);
        set_activation(q_conv, m.activation);
    }
    return q_conv;
}

// Gemm or MatMul -> QLinearMatMul with B as [K, N] (a transposed Gemm weight becomes a new initializer).
std::optional<Node> rewrite_product(Graph& graph, const Match& m, bool private_ops) {
    const Node& node = graph.nodes[m.op];
    if (m.w_q.rank() != 2) return std::nullopt;
    const bool gemm = node.op_type() == "Gemm";
    if (gemm && (node.attr_int("transA", 0) != 0 || node.attr_float("alpha", 1.0f) != 1.0f ||
                 node.attr_float("beta", 1.0f) != 1.0f)) {
        return std::nullopt;
    }
    const bool trans_b = gemm && node.attr_int("transB", 0) != 0;
    const int64_t cols = m.w_q.dim(trans_b ? 0 : 1);
    const int64_t column_axis = trans_b ? 0 : 1;
    if (m.w.scale.numel() != 1 &&
        !(m.w.scale.numel() == cols && (m.w.axis == column_axis || m.w.axis == column_axis - 2))) {
        return std::nullopt;
    }
    if (!private_ops && (m.float_bias || m.int_bias || m.add >= 0 || m.activation.kind != ActivationKind::kNone)) {
        return std::nullopt;
    }
    std::optional<Tensor> bias;
    if (m.float_bias || m.int_bias) {
        bias = int32_bias(m, cols);
        if (!bias) return std::nullopt;
    }
    std::string b_name = graph.nodes[m.w_dq].input(0);
    if (trans_b) {
        const int64_t rows = m.w_q.dim(1);
        Tensor transposed(m.w_q.dtype(), {rows, cols});
        const auto* src = static_cast<const uint8_t*>(m.w_q.raw());
        auto* dst = static_cast<uint8_t*>(transposed.raw());
        for (int64_t k = 0; k < rows; ++k) {
            for (int64_t n = 0; n < cols; ++n) dst[k * cols + n] = src[n * rows + k];
        }
        b_name = add_initializer(graph, b_name + "_kn", transposed);
    }
    std::vector<std::string> inputs = {graph.nodes[m.x_dq].input(0),
                                       m.x.scale_name,
                                       m.x.zero_name,
                                       b_name,
                                       m.w.scale_name,
                                       zero_point_input(graph, m.w, m.w_q.dtype(), b_name),
                                       m.y.scale_name,
                                       zero_point_input(graph, m.y, DType::kU8, graph.nodes[m.q].output(0))};
    if (bias) inputs.push_back(add_initializer(graph, node.name() + "_bias_int32", *bias));
    Node product = make_node("QLinearMatMul", inputs, {graph.nodes[m.q].output(0)}, node.name());
    if (bias || m.activation.kind != ActivationKind::kNone) make_private(product);
    set_activation(product, m.activation);
    return product;
}

}  // namespace

int fuse_qdq(Graph& graph, const std::set<std::string>& keep, bool private_ops) {
    int fused = 0;
    for (size_t i = 0; i < graph.nodes.size();) {
        const Node& node = graph.nodes[i];
        const bool candidate = is_op(node, "Conv") || is_op(node, "Gemm") || is_op(node, "MatMul");
        const auto m = candidate ? match(graph, static_cast<int>(i), keep) : std::nullopt;
        const auto rewritten = !m                         ? std::nullopt
                               : node.op_type() == "Conv" ? rewrite_conv(graph, *m, private_ops)
                                                          : rewrite_product(graph, *m, private_ops);
        if (!rewritten) {
            ++i;
            continue;
        }
        const std::string x_dq = graph.nodes[m->x_dq].output(0), w_dq = graph.nodes[m->w_dq].output(0);
        // Replace the Q (the last node of the pattern) and delete the rest, highest index first.
        graph.nodes[m->q] = *rewritten;
        std::vector<int> removed = {m->op, m->add, m->activation_node};
        std::sort(removed.rbegin(), removed.rend());
        for (int index : removed) {
            if (index >= 0) graph.remove_node(static_cast<size_t>(index));
        }
        remove_unread_producer(graph, x_dq, keep);
        remove_unread_producer(graph, w_dq, keep);
        ++fused;
        i = static_cast<size_t>(std::min({m->op, m->x_dq, m->w_dq}));  // nodes before the match did not change
    }
    return fused;
}

}  // namespace pare
