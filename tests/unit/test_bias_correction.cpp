// Empirical bias correction: on a Gemm whose int8 weight rounds every small weight the same way, the mean output
// error per channel is clearly non-zero before the correction and ~0 after it; and where the bias goes per op.
#include <doctest/doctest.h>

#include <cmath>

#include "data/npy.h"
#include "quantize/bias_correction.h"
#include "recovery_test_util.h"
#include "test_helpers.h"

using namespace pare;
using namespace pare_test;

namespace {

Model model_of(Graph graph) {
    Model model;
    model.header.set_ir_version(8);
    auto* import = model.header.add_opset_import();
    import->set_domain("");
    import->set_version(13);
    model.graph = std::move(graph);
    return model;
}

// y = Gemm(x [N, 8], W [8, 2], C). Per output channel the int8 scale is 1.27 / 127 = 0.01; the seven small weights
// of column 0 (0.0149) all round down to 0.01, those of column 1 (0.0051) all up: with inputs in [0, 1) the output
// is biased by about -/+ 7 x 0.0049 x 0.5 = 0.017 per channel.
Model biased_gemm() {
    Graph graph = make_graph({value_info("x", DType::kF32, {-1, 8})}, {value_info("y", DType::kF32, {-1, 2})});
    std::vector<float> w(16);
    for (int i = 0; i < 8; ++i) {
        w[i * 2] = i == 0 ? 1.27f : 0.0149f;
        w[i * 2 + 1] = i == 0 ? 1.27f : 0.0051f;
    }
    graph.set_initializer("w", tensor_from_vector<float>(w, {8, 2}));
    graph.set_initializer("c", tensor_from_vector<float>({0.25f, -0.5f}, {2}));
    add_node(graph, "Gemm", "fc", {"x", "w", "c"}, {"y"});
    return model_of(std::move(graph));
}

// Quantizes `float_model` (x in [0, 1], per-channel int8 weights) and measures each layer's mean output error
// against `reference` with its input fed from the reference.
std::vector<BiasShift> measured_shifts(const Model& reference, const Model& float_model, Dataset& data) {
    Model quantized = float_model;
    QdqSpec spec;
    const RangeLookup lookup = [](const std::string& tensor, Range& range) {
        range = Range{0.0, 1.0};
        return tensor == "x";
    };
    auto layers = rewrite_to_qdq(quantized.graph, 13, spec, lookup);
    REQUIRE(layers.ok());
    REQUIRE(layers->size() == 1);
    const LocalErrorGraph local = build_local_error_graph(reference, quantized, *layers);
    auto shifts = measure_bias_shifts(local, data, 64, SessionOptions());
    REQUIRE(shifts.ok());
    REQUIRE(shifts->size() == 1);
    return *shifts;
}

}  // namespace

TEST_CASE("bias correction removes the mean output error of a Gemm with a biased weight rounding") {
    const auto dir = temp_dir("bias_correction");
    Tensor x = patterned({200, 8}, 11);
    for (int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = std::fabs(x.data<float>()[i]);
    REQUIRE(write_npy((dir / "x.npy").string(), x).ok());
    auto data = Dataset::open((dir / "x.npy").string(), {"x"});
    REQUIRE(data.ok());

    const Model original = biased_gemm();
    const std::vector<BiasShift> before = measured_shifts(original, original, *data);
    CHECK(before[0].layer == "fc");
    REQUIRE(before[0].mean_error.size() == 2);
    CHECK(before[0].mean_error[0] < -0.01);
    CHECK(before[0].mean_error[1] > 0.01);

    Model corrected = original;
    const BiasCorrectionResult result = correct_biases(corrected.graph, before);
    CHECK(result.corrected == 1);
    CHECK(result.added == 0);
    CHECK(corrected.graph.constant("c")->data<float>()[0] == doctest::Approx(0.25 - before[0].mean_error[0]));
    // The corrected layer, quantized again, against the original float model: the mean error is gone.
    const std::vector<BiasShift> after = measured_shifts(original, corrected, *data);
    MESSAGE("mean output error before " << before[0].mean_error[0] << ", " << before[0].mean_error[1] << "; after "
                                        << after[0].mean_error[0] << ", " << after[0].mean_error[1]);
    CHECK(std::fabs(after[0].mean_error[0]) < 1e-3);
    CHECK(std::fabs(after[0].mean_error[1]) < 1e-3);
}

TEST_CASE("correct_biases: a Conv without bias gets one, a MatMul's goes into the Add that reads it alone") {
    Graph graph = make_graph({value_info("x", DType::kF32, {1, 2, 3, 3})}, {value_info("y", DType::kF32, {})});
    graph.set_initializer("wc", patterned({2, 2, 1, 1}, 1));
    graph.set_initializer("wm", patterned({3, 2}, 2));
    graph.set_initializer("b", tensor_from_vector<float>({1.0f, 2.0f}, {2}));
    graph.set_initializer("wn", patterned({2, 2}, 3));
    add_node(graph, "Conv", "conv", {"x", "wc"}, {"c"});
    add_node(graph, "Transpose", "t", {"c"}, {"ct"}).set_attr_ints("perm", {0, 2, 3, 1});
    add_node(graph, "MatMul", "mm", {"ct", "wm"}, {"m"});
    add_node(graph, "Add", "bias", {"m", "b"}, {"mb"});
    add_node(graph, "MatMul", "bare", {"mb", "wn"}, {"y"});
    const BiasCorrectionResult result = correct_biases(
        graph, {BiasShift{"conv", {0.5, -0.5}}, BiasShift{"mm", {0.25, 0.5}}, BiasShift{"bare", {1.0, 1.0}}});
    CHECK(result.corrected == 2);
    CHECK(result.added == 1);
    CHECK(result.skipped == std::vector<std::string>{"bare"});
    const Node& conv = graph.nodes[0];
    REQUIRE(conv.num_inputs() == 3);
    const Tensor conv_bias = *graph.constant(conv.input(2));
    CHECK(conv_bias.data<float>()[0] == doctest::Approx(-0.5));
    CHECK(conv_bias.data<float>()[1] == doctest::Approx(0.5));
    CHECK(graph.constant("b")->data<float>()[0] == doctest::Approx(0.75));
    CHECK(graph.constant("b")->data<float>()[1] == doctest::Approx(1.5));
}
