// SmoothQuant: smoothing leaves the float function unchanged (1/s folded into a MatMul + Add producer, into a
// LayerNormalization, or a Mul inserted), and on an activation with an outlier channel it lowers the int8 error.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>

#include "quantize/quant_params.h"
#include "quantize/smoothquant.h"
#include "quantize/weight_quantizer.h"
#include "recovery_test_util.h"

using namespace pare;
using namespace pare_test;

namespace {

Tensor run(const Graph& graph, const Tensor& x, int64_t opset = 17) {
    auto outputs = run_graph(graph, opset, {x});
    REQUIRE(outputs.ok());
    return (*outputs)[0];
}

// Per-channel max |x| along the last axis of a [rows, channels] tensor.
std::vector<double> channel_maxima(const Tensor& x) {
    const int64_t channels = x.dim(x.rank() - 1);
    std::vector<double> m(static_cast<size_t>(channels), 0.0);
    for (int64_t i = 0; i < x.numel(); ++i) {
        m[i % channels] = std::max(m[i % channels], static_cast<double>(std::fabs(x.data<float>()[i])));
    }
    return m;
}

// x [16, 4] with channel 2 about 50x larger than the others.
Tensor outlier_input() { return patterned({16, 4}, 7, {}).reshaped({16, 4}); }
Tensor with_outlier(Tensor x) {
    for (int64_t r = 0; r < x.dim(0); ++r) x.data<float>()[r * 4 + 2] *= 50.0f;
    return x;
}

// Mean |x_q . w_q - x . w| with x quantized per tensor (u8, asymmetric) and w per output channel (i8), as the int8
// scheme does.
double int8_matmul_error(const Tensor& x, const Tensor& w) {
    MinMax range;
    for (int64_t i = 0; i < x.numel(); ++i) range.add(x.data<float>()[i]);
    const QuantParams xp = choose_quant_params(Range{range.min, range.max}, DType::kU8, false);
    const auto wp = choose_weight_params(w, 1, DType::kI8);
    const Tensor wq = dequantize_weight(quantize_weight(w, wp, 1, DType::kI8), wp, 1);
    const int64_t rows = x.dim(0), k = x.dim(1), n = w.dim(1);
    double error = 0.0;
    for (int64_t r = 0; r < rows; ++r) {
        for (int64_t j = 0; j < n; ++j) {
            double exact = 0.0, quantized = 0.0;
            for (int64_t i = 0; i < k; ++i) {
                const double v = x.data<float>()[r * k + i];
                const double q = std::clamp(std::nearbyint(v / xp.scale) + xp.zero_point, 0.0, 255.0);
                exact += v * w.data<float>()[i * n + j];
                quantized += (q - xp.zero_point) * xp.scale * wq.data<double>()[i * n + j];
            }
            error += std::fabs(quantized - exact);
        }
    }
    return error / static_cast<double>(rows * n);
}

}  // namespace

TEST_CASE("smooth_quant folds 1/s through a Relu into a MatMul + Add producer and keeps the float outputs") {
    // x -> MatMul w0 -> Add b0 -> Relu -> h -> MatMul w1 -> y, h with an outlier channel (column 1 of w0 is large).
    Graph graph = make_graph({value_info("x", DType::kF32, {16, 4})}, {value_info("y", DType::kF32, {16, 3})});
    graph.set_initializer("w0", patterned({4, 4}, 1));
    Tensor w0 = graph.constant("w0")->clone();
    for (int64_t r = 0; r < 4; ++r) w0.data<float>()[r * 4 + 1] *= 40.0f;
    graph.set_initializer("w0", w0);
    graph.set_initializer("b0", patterned({4}, 2));
    graph.set_initializer("w1", patterned({4, 3}, 3));
    add_node(graph, "MatMul", "fc0", {"x", "w0"}, {"p"});
    add_node(graph, "Add", "bias0", {"p", "b0"}, {"pb"});
    add_node(graph, "Relu", "relu0", {"pb"}, {"h"});
    add_node(graph, "MatMul", "fc1", {"h", "w1"}, {"y"});
    CHECK(smoothable_activations(graph) == std::set<std::string>{"x", "h"});

    const Tensor x = outlier_input();
    const Tensor before = run(graph, x);
    Graph probe = graph;
    *probe.header.add_output() = value_info("h", DType::kF32, {16, 4});
    const Tensor h = (*run_graph(probe, 17, {x}))[1];
    const std::vector<double> h_max = channel_maxima(h);
    const Tensor w1_before = *graph.constant("w1");

    const SmoothQuantResult result = smooth_quant(graph, 0.5, {{"h", h_max}});
    CHECK(result.activations == 1);
    CHECK(result.layers == 1);
    CHECK(result.folded == 1);
    CHECK(result.inserted == 0);
    CHECK(graph.nodes.size() == 4);
    const auto [diff, scale] = max_difference(before, run(graph, x));
    CHECK(diff <= 1e-5 * scale);
    // Row j of w1 was multiplied by s_j = sqrt(max|h_j| / max|w1_j|): the outlier channel's row grew.
    const Tensor w1 = *graph.constant("w1");
    CHECK(std::fabs(w1.data<float>()[1 * 3]) > 2.0f * std::fabs(w1_before.data<float>()[1 * 3]));
}

TEST_CASE("smooth_quant folds into a LayerNormalization, and inserts a Mul when the producer cannot absorb 1/s") {
    Graph graph = make_graph({value_info("x", DType::kF32, {16, 4})},
                             {value_info("y", DType::kF32, {16, 3}), value_info("z", DType::kF32, {16, 3})});
    graph.set_initializer("gamma", tensor_from_vector<float>({1.0f, 0.5f, 30.0f, 2.0f}, {4}));
    graph.set_initializer("beta", patterned({4}, 4));
    graph.set_initializer("w1", patterned({4, 3}, 5));
    graph.set_initializer("w2", patterned({4, 3}, 6));
    add_node(graph, "LayerNormalization", "ln", {"x", "gamma", "beta"}, {"h"});
    add_node(graph, "MatMul", "fc1", {"h", "w1"}, {"y"});
    add_node(graph, "MatMul", "fc2", {"x", "w2"}, {"z"});  // x is a graph input: a Mul is inserted
    const Tensor x = with_outlier(outlier_input());
    const auto before = *run_graph(graph, 17, {x});
    Graph probe = graph;
    *probe.header.add_output() = value_info("h", DType::kF32, {16, 4});
    const Tensor h = (*run_graph(probe, 17, {x}))[2];
    const SmoothQuantResult result = smooth_quant(graph, 0.5, {{"h", channel_maxima(h)}, {"x", channel_maxima(x)}});
    CHECK(result.activations == 2);
    CHECK(result.folded == 1);
    CHECK(result.inserted == 1);
    const auto after = *run_graph(graph, 17, {x});
    for (size_t o = 0; o < 2; ++o) {
        const auto [diff, scale] = max_difference(before[o], after[o]);
        CHECK(diff <= 1e-5 * scale);
    }
}

TEST_CASE("smooth_quant lowers the int8 error of a MatMul whose input has an outlier channel") {
    const Tensor x = with_outlier(outlier_input());
    const Tensor w = patterned({4, 3}, 8);
    const double plain = int8_matmul_error(x, w);

    Graph graph = make_graph({value_info("x", DType::kF32, {16, 4})}, {value_info("y", DType::kF32, {16, 3})});
    graph.set_initializer("w", w.clone());
    add_node(graph, "MatMul", "fc", {"x", "w"}, {"y"});
    const SmoothQuantResult result = smooth_quant(graph, 0.5, {{"x", channel_maxima(x)}});
    REQUIRE(result.inserted == 1);
    const Tensor factor = *graph.constant(graph.nodes[0].input(1));  // the inserted Mul's 1/s
    Tensor smoothed = x.clone();
    for (int64_t i = 0; i < smoothed.numel(); ++i) smoothed.data<float>()[i] *= factor.data<float>()[i % 4];
    const double smooth = int8_matmul_error(smoothed, *graph.constant("w"));
    MESSAGE("int8 mean |error|: plain " << plain << ", smoothed " << smooth);
    CHECK(smooth < 0.75 * plain);
}
