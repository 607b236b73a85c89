// Folds an inference-mode BatchNormalization into the Conv or Gemm that feeds it, when both have constant float32
// parameters: with s = scale / sqrt(var + epsilon) per channel, W'[c] = W[c] * s[c] and B'[c] = (B[c] - mean[c]) *
// s[c] + beta[c], computed in double and rounded once. New weights get new initializers (the old ones may be shared).
// MatMul is left alone: without shapes the pass cannot tell that BatchNormalization's channel axis is its last one.
#include <cmath>

#include "graph/fused_ops.h"
#include "graph/pass_util.h"
#include "graph/passes.h"

namespace pare {

namespace {

struct ChannelAffine {
    std::vector<double> scale, shift;  // y = x * scale + shift per channel
};

// The affine map of a BatchNormalization whose parameters are constant float32 vectors of one length.
std::optional<ChannelAffine> batch_norm_affine(const Graph& graph, const Node& bn) {
    if (bn.num_inputs() != 5 || bn.num_outputs() != 1 || bn.attr_int("training_mode", 0) != 0) return std::nullopt;
    if (bn.has_attribute("spatial") && bn.attr_int("spatial", 1) == 0) return std::nullopt;
    std::vector<Tensor> params;
    for (int i = 1; i < 5; ++i) {
        const auto value = graph.constant(bn.input(i));
        if (!value || value->dtype() != DType::kF32 || value->rank() != 1) return std::nullopt;
        params.push_back(*value);
    }
    const int64_t channels = params[0].numel();
    for (const auto& p : params) {
        if (p.numel() != channels) return std::nullopt;
    }
    const double epsilon = bn.attr_float("epsilon", 1e-5f);
    ChannelAffine affine;
    for (int64_t c = 0; c < channels; ++c) {
        const double gamma = params[0].data<float>()[c], beta = params[1].data<float>()[c];
        const double mean = params[2].data<float>()[c], var = params[3].data<float>()[c];
        const double s = gamma / std::sqrt(var + epsilon);
        affine.scale.push_back(s);
        affine.shift.push_back(beta - mean * s);
    }
    return affine;
}

// A float32 vector of `count` zeros, or the constant's values when it is a float32 tensor of `count` elements.
std::optional<std::vector<double>> bias_values(const Graph& graph, const Node& node, int index, int64_t count) {
    if (!node.has_input(index)) return std::vector<double>(count, 0.0);
    const auto value = graph.constant(node.input(index));
    if (!value || value->dtype() != DType::kF32 || value->numel() != count) return std::nullopt;
    return std::vector<double>(value->data<float>(), value->data<float>() + count);
}

// W scaled per output channel: `channel_of(i)` gives the channel of element i.
template <class ChannelOf>
Tensor scale_weights(const Tensor& w, const ChannelAffine& affine, ChannelOf channel_of) {
    Tensor scaled(DType::kF32, w.shape());
    const float* src = w.data<float>();
    float* dst = scaled.data<float>();
    for (int64_t i = 0; i < w.numel(); ++i) dst[i] = static_cast<float>(src[i] * affine.scale[channel_of(i)]);
    return scaled;
}

Tensor folded_bias(const std::vector<double>& bias, const ChannelAffine& affine) {
    Tensor result(DType::kF32, {static_cast<int64_t>(bias.size())});
    for (size_t c = 0; c < bias.size(); ++c) {
        result.data<float>()[c] = static_cast<float>(bias[c] * affine.scale[c] + affine.shift[c]);
    }
    return result;
}

// Folds into a Conv (ai.onnx or private without extras): weights [M, C/g, k...], channel = axis 0.
bool fold_into_conv(Graph& graph, Node& conv, const ChannelAffine& affine) {
    if (conv.num_inputs() > 3 || conv.has_attribute("activation")) return false;
    const auto w = graph.constant(conv.input(1));
    const int64_t filters = static_cast<int64_t>(affine.scale.size());
    if (!w || w->dtype() != DType::kF32 || w->rank() < 3 || w->dim(0) != filters) return false;
    const auto bias = bias_values(graph, conv, 2, filters);
    if (!bias) return false;
    const int64_t per_filter = w->numel() / filters;
    Tensor new_w = scale_weights(*w, affine, [per_filter](int64_t i) { return i / per_filter; });
    const std::string w_name = add_initializer(graph, conv.input(1) + "_bn", new_w);
    const std::string b_name = add_initializer(graph, conv.name() + "_bn_bias", folded_bias(*bias, affine));
    conv.proto.set_input(1, w_name);
    if (conv.num_inputs() < 3)
        conv.proto.add_input(b_name);
    else
        conv.proto.set_input(2, b_name);
    return true;
}

// Folds into a Gemm whose C is absent or per column: the output channel is Gemm's column.
bool fold_into_gemm(Graph& graph, Node& gemm, const ChannelAffine& affine) {
    if (gemm.has_attribute("activation")) return false;
    const auto b = graph.constant(gemm.input(1));
    const int64_t cols = static_cast<int64_t>(affine.scale.size());
    const bool trans_b = gemm.attr_int("transB", 0) != 0;
    if (!b || b->dtype() != DType::kF32 || b->rank() != 2 || b->dim(trans_b ? 0 : 1) != cols) return false;
    if (gemm.has_input(2)) {
        const auto c = graph.constant(gemm.input(2));
        if (!c || c->rank() > 2 || c->shape().back() != cols || (c->rank() == 2 && c->dim(0) != 1)) return false;
    }
    auto bias = bias_values(graph, gemm, 2, cols);
    if (!bias) return false;
    const double alpha = gemm.attr_float("alpha", 1.0f), beta = gemm.attr_float("beta", 1.0f);
    for (double& v : *bias) v *= beta;
    ChannelAffine weight_scale = affine;
    for (double& s : weight_scale.scale) s *= alpha;
    const int64_t row_length = b->dim(1);
    Tensor new_b =
        scale_weights(*b, weight_scale, [&](int64_t i) { return trans_b ? i / row_length : i % row_length; });
    const std::string b_name = add_initializer(graph, gemm.input(1) + "_bn", new_b);
    const std::string c_name = add_initializer(graph, gemm.name() + "_bn_bias", folded_bias(*bias, affine));
    gemm.proto.set_input(1, b_name);
    if (gemm.num_inputs() < 3)
        gemm.proto.add_input(c_name);
    else
        gemm.proto.set_input(2, c_name);
    gemm.set_attr_float("alpha", 1.0f);
    gemm.set_attr_float("beta", 1.0f);
    return true;
}

}  // namespace

int fold_batch_norm(Graph& graph, const std::set<std::string>& keep) {
    int folded = 0;
    for (size_t i = 0; i < graph.nodes.size();) {
        const Node& bn = graph.nodes[i];
        const int producer =
            bn.op_type() == "BatchNormalization" && bn.is_onnx_domain() ? graph.producer(bn.input(0)) : -1;
        const auto affine = producer >= 0 ? batch_norm_affine(graph, bn) : std::nullopt;
        if (!affine || sole_consumer(graph, bn.input(0), keep) != static_cast<int>(i)) {
            ++i;
            continue;
        }
        Node& target = graph.nodes[producer];
        const bool onnx_or_private = target.is_onnx_domain() || is_pare_node(target);
        bool done = false;
        if (onnx_or_private && target.op_type() == "Conv") done = fold_into_conv(graph, target, *affine);
        if (onnx_or_private && target.op_type() == "Gemm") done = fold_into_gemm(graph, target, *affine);
        if (!done) {
            ++i;
            continue;
        }
        // The producer now computes the normalized value under the BatchNormalization's output name.
        graph.nodes[producer].proto.set_output(0, graph.nodes[i].output(0));
        graph.remove_node(i);
        ++folded;
    }
    return folded;
}

}  // namespace pare
