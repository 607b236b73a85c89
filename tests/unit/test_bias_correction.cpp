// Empirical bias correction: on a chain whose int8 weights round every small weight the same way, the mean output
// error per channel is clearly non-zero before the correction and ~0 after it; and where the bias goes per op.
#include <doctest/doctest.h>

#include <algorithm>
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

// Per-channel int8 scales are max|column| / 127 = 0.01: a column of one 1.27 and small weights of 0.0149 (all
// rounding down to 0.01) or 0.0051 (all rounding up) shifts the output mean of its channel by a known amount.
constexpr float kDown = 0.0149f, kUp = 0.0051f;

// h = MatMul(x [N, 8], W1) with no bias (its shift cannot be corrected where it arises), g = Gemm(h, I, C2), y =
// Gemm(g, W3, C3). W1's columns shift h by about -/+ 7 x 0.0049 x 0.5 = -/+ 0.017 for inputs in [0, 1); W3 shifts
// y by about -/+ 0.0049 x E[g] more.
Model biased_chain() {
    Graph graph = make_graph({value_info("x", DType::kF32, {-1, 8})}, {value_info("y", DType::kF32, {-1, 2})});
    std::vector<float> w1(16);
    for (int i = 0; i < 8; ++i) {
        w1[i * 2] = i == 0 ? 1.27f : kDown;
        w1[i * 2 + 1] = i == 0 ? 1.27f : kUp;
    }
    graph.set_initializer("w1", tensor_from_vector<float>(w1, {8, 2}));
    graph.set_initializer("w2", tensor_from_vector<float>({1.0f, 0.0f, 0.0f, 1.0f}, {2, 2}));
    graph.set_initializer("c2", tensor_from_vector<float>({0.25f, -0.5f}, {2}));
    graph.set_initializer("w3", tensor_from_vector<float>({1.27f, kUp, kDown, 1.27f}, {2, 2}));
    graph.set_initializer("c3", tensor_from_vector<float>({0.1f, 0.2f}, {2}));
    add_node(graph, "MatMul", "fc1", {"x", "w1"}, {"h"});
    add_node(graph, "Gemm", "fc2", {"h", "w2", "c2"}, {"g"});
    add_node(graph, "Gemm", "fc3", {"g", "w3", "c3"}, {"y"});
    return model_of(std::move(graph));
}

// x, h and g quantized to uint8 on fixed ranges; the output y stays float.
const RangeLookup kRanges = [](const std::string& tensor, Range& range) {
    range = tensor == "x" ? Range{0.0, 1.0} : Range{-1.0, 2.0};
    return tensor == "x" || tensor == "h" || tensor == "g";
};

Model quantized(const Model& model, std::vector<QuantizedLayer>* layers = nullptr) {
    Model q = model;
    auto rewritten = rewrite_to_qdq(q.graph, 13, QdqSpec(), kRanges);
    REQUIRE(rewritten.ok());
    REQUIRE(rewritten->size() == 3);
    if (layers) *layers = *rewritten;
    return q;
}

// Mean of the model's output y per channel over the rows of x.
std::vector<double> output_means(const Model& model, const Tensor& x) {
    auto session = Session::create(model, {{"x", x.shape()}}, SessionOptions());
    REQUIRE(session.ok());
    auto outputs = (*session)->run({x});
    REQUIRE(outputs.ok());
    const Tensor& y = (*outputs)[0];
    std::vector<double> means(2, 0.0);
    for (int64_t i = 0; i < y.numel(); ++i) means[static_cast<size_t>(i % 2)] += y.data<float>()[i];
    for (double& m : means) m /= static_cast<double>(y.dim(0));
    return means;
}

}  // namespace

TEST_CASE("bias correction, layer by layer on the quantized model's own inputs, removes an upstream mean shift") {
    const auto dir = temp_dir("bias_correction");
    Tensor x = patterned({200, 8}, 11);
    for (int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = std::fabs(x.data<float>()[i]);
    REQUIRE(write_npy((dir / "x.npy").string(), x).ok());
    auto data = Dataset::open((dir / "x.npy").string(), {"x"});
    REQUIRE(data.ok());

    const Model original = biased_chain();
    const std::vector<double> reference = output_means(original, x);
    const std::vector<double> before = output_means(quantized(original), x);
    // The uncorrected quantized model: channel 0 low, channel 1 high, by more than 0.01.
    CHECK(before[0] - reference[0] < -0.01);
    CHECK(before[1] - reference[1] > 0.01);

    std::vector<QuantizedLayer> layers;
    const Model first = quantized(original, &layers);
    Model corrected = original;
    auto result = correct_biases_sequentially(corrected, first, layers, *data, 64, SessionOptions());
    REQUIRE(result.ok());
    CHECK(result->corrected == 2);
    CHECK(result->skipped == std::vector<std::string>{"fc1"});  // a MatMul read by no Add: nowhere to put a bias
    CHECK(result->passes == 2);                                 // fc3 reads fc2: one level each
    CHECK(result->shift_rms > 0.01);
    // fc1's shift reaches fc2 through its quantized input and is absorbed there, fc3's own on top of what is left.
    const std::vector<double> after = output_means(quantized(corrected), x);
    MESSAGE("output mean - float mean: before " << before[0] - reference[0] << ", " << before[1] - reference[1]
                                                << "; after " << after[0] - reference[0] << ", "
                                                << after[1] - reference[1]);
    // Left: the int32 rounding of the corrected biases (under half a step of input scale x weight scale, ~6e-5).
    CHECK(std::fabs(after[0] - reference[0]) < 1e-3);
    CHECK(std::fabs(after[1] - reference[1]) < 1e-3);

    // Deterministic: the same correction twice gives the same biases bit for bit.
    Model again = original;
    REQUIRE(correct_biases_sequentially(again, first, layers, *data, 64, SessionOptions()).ok());
    for (const char* bias : {"c2", "c3"}) {
        const Tensor a = *corrected.graph.constant(bias), b = *again.graph.constant(bias);
        CHECK(std::equal(a.data<float>(), a.data<float>() + a.numel(), b.data<float>()));
    }
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
