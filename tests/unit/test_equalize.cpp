// Cross-layer equalization: the float function is unchanged (Relu, Relu6 and depthwise convs included), the
// per-channel ranges of each pair end up equal, and pairs that cannot be equalized exactly are left alone.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>

#include "quantize/equalize.h"
#include "recovery_test_util.h"

using namespace pare;
using namespace pare_test;

namespace {

// x [1, 2, 6, 6] -> Conv A (2 -> 4, 3x3) -> Clip(0, 6) -> depthwise Conv B (4, 3x3) -> Relu -> Conv C (4 -> 3, 1x1).
// Channel scales differ by up to 100x, and channel 3 of A is large enough that Relu6 clips it.
Graph conv_chain(float clip_min = 0.0f) {
    Graph graph =
        make_graph({value_info("x", DType::kF32, {1, 2, 6, 6})}, {value_info("y", DType::kF32, {1, 3, 6, 6})});
    graph.set_initializer("wa", patterned({4, 2, 3, 3}, 1, {0.05f, 1.0f, 0.3f, 5.0f}));
    graph.set_initializer("ba", patterned({4}, 2));
    graph.set_initializer("wb", patterned({4, 1, 3, 3}, 3, {2.0f, 0.02f, 1.0f, 0.1f}));
    graph.set_initializer("bb", patterned({4}, 4));
    graph.set_initializer("wc", patterned({3, 4, 1, 1}, 5));
    graph.set_initializer("lo", tensor_from_vector<float>({clip_min}, {}));
    graph.set_initializer("hi", tensor_from_vector<float>({6.0f}, {}));
    add_node(graph, "Conv", "A", {"x", "wa", "ba"}, {"a"}).set_attr_ints("pads", {1, 1, 1, 1});
    add_node(graph, "Clip", "relu6", {"a", "lo", "hi"}, {"a6"});
    Node& b = add_node(graph, "Conv", "B", {"a6", "wb", "bb"}, {"b"});
    b.set_attr_ints("pads", {1, 1, 1, 1});
    b.set_attr_int("group", 4);
    add_node(graph, "Relu", "relu", {"b"}, {"br"});
    add_node(graph, "Conv", "C", {"br", "wc"}, {"y"});
    return graph;
}

Tensor run(const Graph& graph, const Tensor& x) {
    auto outputs = run_graph(graph, 13, {x});
    REQUIRE(outputs.ok());
    return (*outputs)[0];
}

// max |w| of output channel c (dim 0) of a conv weight, and of input channel c of a (possibly grouped) conv weight.
double output_range(const Tensor& w, int64_t c) {
    const int64_t row = w.numel() / w.dim(0);
    double r = 0.0;
    for (int64_t k = 0; k < row; ++k) r = std::max(r, static_cast<double>(std::fabs(w.data<float>()[c * row + k])));
    return r;
}
double input_range(const Tensor& w, int64_t c, int64_t groups) {
    const int64_t in_per_group = w.dim(1), out_per_group = w.dim(0) / groups;
    const int64_t kernel = w.numel() / (w.dim(0) * in_per_group), g = c / in_per_group, slice = c % in_per_group;
    double r = 0.0;
    for (int64_t o = g * out_per_group; o < (g + 1) * out_per_group; ++o) {
        for (int64_t k = 0; k < kernel; ++k) {
            r = std::max(r, static_cast<double>(std::fabs(w.data<float>()[(o * in_per_group + slice) * kernel + k])));
        }
    }
    return r;
}

}  // namespace

TEST_CASE("equalize_cross_layer keeps the float outputs of a Relu6 / depthwise / Relu chain and balances each pair") {
    Graph graph = conv_chain();
    const Tensor x = patterned({1, 2, 6, 6}, 9, {3.0f, 2.0f});
    const Tensor before = run(graph, x);
    const EqualizeResult result = equalize_cross_layer(graph);
    CHECK(result.pairs == 2);
    CHECK(result.bounded == 1);  // the Relu6 became Relu -> Min(per-channel bound)
    CHECK(result.iterations > 1);
    CHECK(std::count_if(graph.nodes.begin(), graph.nodes.end(), [](const Node& n) { return n.op_type() == "Min"; }) ==
          1);
    Graph again = conv_chain();
    equalize_cross_layer(again);  // deterministic: the same weights bit for bit
    for (const char* name : {"wa", "ba", "wb", "bb", "wc"}) CHECK(graph.constant(name)->equals(*again.constant(name)));
    const Tensor after = run(graph, x);
    const auto [diff, scale] = max_difference(before, after);
    CHECK(scale > 0.1);
    CHECK(diff <= 1e-5 * scale);  // float32 rounding of the rescaled weights only
    // Converged: for both pairs, r1_i == r2_i (within the tolerance of the last sweep).
    const Tensor wa = *graph.constant("wa"), wb = *graph.constant("wb"), wc = *graph.constant("wc");
    for (int64_t c = 0; c < 4; ++c) {
        CHECK(output_range(wa, c) == doctest::Approx(input_range(wb, c, 4)).epsilon(1e-3));
        CHECK(output_range(wb, c) == doctest::Approx(input_range(wc, c, 1)).epsilon(1e-3));
    }
}

TEST_CASE("equalize_cross_layer on a hand pair: s = sqrt(r1 / r2), both ranges become sqrt(r1 r2)") {
    Graph graph =
        make_graph({value_info("x", DType::kF32, {1, 1, 1, 1})}, {value_info("y", DType::kF32, {1, 1, 1, 1})});
    // r1 = (4, 1), r2 = (1, 4): s = (2, 0.5), r1 / s = r2 * s = (2, 2).
    graph.set_initializer("w1", tensor_from_vector<float>({4.0f, -1.0f}, {2, 1, 1, 1}));
    graph.set_initializer("b1", tensor_from_vector<float>({1.0f, 1.0f}, {2}));
    graph.set_initializer("w2", tensor_from_vector<float>({-1.0f, 4.0f}, {1, 2, 1, 1}));
    add_node(graph, "Conv", "first", {"x", "w1", "b1"}, {"h"});
    add_node(graph, "Relu", "relu", {"h"}, {"r"});
    add_node(graph, "Conv", "second", {"r", "w2"}, {"y"});
    const EqualizeResult result = equalize_cross_layer(graph);
    CHECK(result.pairs == 1);
    CHECK(result.bounded == 0);
    const Tensor w1 = *graph.constant("w1"), b1 = *graph.constant("b1"), w2 = *graph.constant("w2");
    CHECK(w1.data<float>()[0] == doctest::Approx(2.0));
    CHECK(w1.data<float>()[1] == doctest::Approx(-2.0));
    CHECK(b1.data<float>()[0] == doctest::Approx(0.5));
    CHECK(b1.data<float>()[1] == doctest::Approx(2.0));
    CHECK(w2.data<float>()[0] == doctest::Approx(-2.0));
    CHECK(w2.data<float>()[1] == doctest::Approx(2.0));
}

TEST_CASE("equalize_cross_layer leaves pairs it cannot equalize exactly") {
    SUBCASE("a Clip below 0 is not positively homogeneous") {
        Graph graph = conv_chain(-1.0f);
        const EqualizeResult result = equalize_cross_layer(graph);
        CHECK(result.pairs == 1);  // only B -> Relu -> C
        CHECK(result.bounded == 0);
    }
    SUBCASE("the first conv's output has another reader") {
        Graph graph = conv_chain();
        *graph.header.add_output() = value_info("a", DType::kF32, {1, 4, 6, 6});
        const Tensor before = *graph.constant("wa");
        const EqualizeResult result = equalize_cross_layer(graph);
        CHECK(result.pairs == 1);
        CHECK(graph.constant("wa")->equals(before));
    }
}
