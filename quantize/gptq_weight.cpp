#include "quantize/gptq_weight.h"

#include "quantize/weight_quantizer.h"

namespace pare {

std::vector<HessianLayer> gptq_layers(const Graph& graph, const std::set<std::string>& excluded) {
    std::vector<HessianLayer> layers;
    for (const Node& node : graph.nodes) {
        if (node.num_inputs() < 2 || excluded.count(node.name())) continue;
        auto weight = float_constant(graph, node.input(1));
        if (weight && weight->numel() > 0 && has_layer_hessian(node, weight->shape())) {
            layers.push_back({node.output(0), weight->shape()});
        }
    }
    return layers;
}

Result<GptqWeight> gptq_weight(const Tensor& weight, int64_t channel_axis, const LayerHessian& hessian,
                               const ElementRounding& round, const GptqOptions& options) {
    const int64_t channels = weight.rank() > 0 ? weight.dim(channel_axis) : 0;
    const int64_t groups = static_cast<int64_t>(hessian.sums.size());
    const int64_t cols = channels > 0 ? weight.numel() / channels : 0;
    if ((channel_axis != 0 && !(channel_axis == 1 && weight.rank() == 2)) || groups == 0 || channels % groups != 0 ||
        cols != hessian.cols) {
        return invalid_input("GPTQ: a weight of shape " + shape_to_string(weight.shape()) + " (channels on axis " +
                             std::to_string(channel_axis) + ") does not match a Hessian of " + std::to_string(groups) +
                             " group(s) of " + std::to_string(hessian.cols) + " columns");
    }
    // Flat index of (output channel r, reduction index c).
    auto index = [&](int64_t r, int64_t c) { return channel_axis == 0 ? r * cols + c : c * channels + r; };
    const float* src = weight.data<float>();
    const int64_t rows = channels / groups;
    GptqWeight result;
    result.values.assign(src, src + weight.numel());
    for (int64_t g = 0; g < groups; ++g) {
        const int64_t first_row = g * rows;
        WeightMatrix w{rows, cols, std::vector<double>(static_cast<size_t>(rows * cols))};
        for (int64_t r = 0; r < rows; ++r) {
            for (int64_t c = 0; c < cols; ++c) w.at(r, c) = src[index(first_row + r, c)];
        }
        const ColumnRounding column_rounding = [&](int64_t c, const double* values, double* rounded) {
            for (int64_t r = 0; r < rows; ++r) rounded[r] = round(index(first_row + r, c), values[r]);
        };
        const std::vector<double> h = hessian.hessian(static_cast<size_t>(g));
        PARE_ASSIGN_OR_RETURN(const WeightMatrix q, gptq_round(w, h, column_rounding, options));
        result.rtn_error += output_error(w, round_to_nearest(w, column_rounding), h);
        result.gptq_error += output_error(w, q, h);
        for (int64_t r = 0; r < rows; ++r) {
            for (int64_t c = 0; c < cols; ++c) result.values[index(first_row + r, c)] = static_cast<float>(q.at(r, c));
        }
    }
    return result;
}

}  // namespace pare
