// The per-layer error of `pare quantize`: weight error computed offline, local error (each layer alone quantized on
// float inputs) measured in one pass, and the QOperator form of the same decisions.
#include <doctest/doctest.h>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "data/npy.h"
#include "fragile_model.h"
#include "ops/quantize_math.h"
#include "quantize/local_error.h"
#include "quantize/qdq_rewriter.h"
#include "quantize/qoperator_writer.h"

using namespace pare;
using namespace pare_test;

namespace {

constexpr int64_t kRows = 200;

// x [rows, k] @ w [k, n], row-major, in float as a float model computes it (summed in double).
std::vector<float> matmul(const std::vector<float>& x, const std::vector<float>& w, int64_t k, int64_t n) {
    const int64_t rows = static_cast<int64_t>(x.size()) / k;
    std::vector<float> y(static_cast<size_t>(rows * n));
    for (int64_t r = 0; r < rows; ++r) {
        for (int64_t j = 0; j < n; ++j) {
            double sum = 0;
            for (int64_t i = 0; i < k; ++i) sum += static_cast<double>(x[r * k + i]) * w[i * n + j];
            y[r * n + j] = static_cast<float>(sum);
        }
    }
    return y;
}

std::vector<float> values_of(const Tensor& t) { return {t.data<float>(), t.data<float>() + t.numel()}; }

// Quantize then dequantize with one parameter set (uint8 activations).
std::vector<float> fake_quantize(const std::vector<float>& x, const QuantParams& p, DType dtype) {
    std::vector<float> y(x.size());
    for (size_t i = 0; i < x.size(); ++i) {
        y[i] = dequantize_value(quantize_value(x[i], p.scale, p.zero_point, quant_range(dtype)), p.scale, p.zero_point);
    }
    return y;
}

struct Fixture {
    Model float_model = fragile_mlp_model();
    Model quantized = fragile_mlp_model();
    Tensor x = fragile_mlp_inputs(kRows);
    std::map<std::string, std::vector<float>> values;  // float values of x, a, b, y
    std::vector<QuantizedLayer> layers;

    Fixture() {
        const Graph& g = float_model.graph;
        values["x"] = values_of(x);
        values["a"] = matmul(values["x"], values_of(*g.constant("w_a")), 4, 4);
        values["b"] = matmul(values["a"], values_of(*g.constant("w_b")), 4, 4);
        values["y"] = matmul(values["b"], fragile_w_c(), 4, 2);
        const RangeLookup ranges = [&](const std::string& name, Range& range) {
            auto it = values.find(name);
            if (it == values.end()) return false;
            const auto [lo, hi] = std::minmax_element(it->second.begin(), it->second.end());
            range = Range{*lo, *hi};
            return true;
        };
        auto rewritten = rewrite_to_qdq(quantized.graph, 13, QdqSpec(), ranges);
        REQUIRE(rewritten.ok());
        layers = *rewritten;
        REQUIRE(layers.size() == 3);
    }

    const QuantizedLayer& layer(const std::string& name) const {
        return *std::find_if(layers.begin(), layers.end(), [&](const auto& l) { return l.node == name; });
    }
};

std::string write_inputs(const Tensor& x) {
    const auto path = std::filesystem::temp_directory_path() / ("pare_fragile_" + std::to_string(::getpid()) + ".npy");
    REQUIRE(write_npy(path.string(), x).ok());
    return path.string();
}

}  // namespace

TEST_CASE("quantize report: weight error against hand-quantized integers") {
    Fixture f;
    // W_c per output column, scale max|w| / 127 = 1/127 for both columns; the integers by hand:
    // column 0 [1, 0.3, 0, -0.6] -> [127, 38, 0, -76], column 1 [0.2, -0.4, 1, 0.1] -> [25, -51, 127, 13].
    const double s = 1.0 / 127.0;
    const double noise = std::pow(0.3 - 38 * s, 2) + std::pow(-0.6 + 76 * s, 2) + std::pow(0.2 - 25 * s, 2) +
                         std::pow(-0.4 + 51 * s, 2) + std::pow(0.1 - 13 * s, 2);
    const double signal = 1.0 + 0.09 + 0.36 + 0.04 + 0.16 + 1.0 + 0.01;
    const ErrorStats& error = f.layer("layer_c").weight_error;
    REQUIRE(error.sqnr_db().has_value());
    CHECK(*error.sqnr_db() == doctest::Approx(10.0 * std::log10(signal / noise)).epsilon(1e-4));
    CHECK(error.elements() == 8);
}

TEST_CASE("quantize report: local error finds the fragile layer and equals the layer quantized by hand") {
    Fixture f;
    const LocalErrorGraph graph = build_local_error_graph(f.float_model, f.quantized, f.layers);
    REQUIRE(graph.probes.size() == 3);
    Dataset dataset = Dataset::open(write_inputs(f.x), {"x"}).value();
    auto errors = measure_local_errors(graph, dataset, 64, SessionOptions());
    REQUIRE(errors.ok());
    std::map<std::string, double> local;
    for (size_t i = 0; i < graph.probes.size(); ++i) {
        REQUIRE(errors->local[i].elements() == kRows * (graph.probes[i].layer == "layer_c" ? 2 : 4));
        local[graph.probes[i].layer] = errors->local[i].sqnr_db().value();
    }
    MESSAGE("local SQNR a " << local["layer_a"] << " b " << local["layer_b"] << " c " << local["layer_c"]);
    CHECK(local["layer_b"] < local["layer_a"] - 10);
    CHECK(local["layer_b"] < local["layer_c"] - 10);

    // layer_b by hand: its float input quantized with its parameters, times its dequantized weight, the product
    // quantized with its output parameters (layer_c reads b quantized).
    const QuantizedLayer& b = f.layer("layer_b");
    REQUIRE(b.output == "b");
    const std::vector<float> a_q = fake_quantize(f.values["a"], b.input_params, DType::kU8);
    const std::vector<float> w_b = values_of(*f.float_model.graph.constant("w_b"));
    std::vector<float> w_b_q(w_b.size());
    for (size_t i = 0; i < w_b.size(); ++i) {
        const QuantParams& p = b.weight_params[i % 4];  // per output column
        w_b_q[i] = dequantize_value(quantize_value(w_b[i], p.scale, 0, quant_range(DType::kI8)), p.scale, 0);
    }
    const std::vector<float> b_local = fake_quantize(matmul(a_q, w_b_q, 4, 4), b.output_params, DType::kU8);
    ErrorStats by_hand;
    REQUIRE(
        by_hand
            .add(tensor_from_vector<float>(f.values["b"], {kRows, 4}), tensor_from_vector<float>(b_local, {kRows, 4}))
            .ok());
    CHECK(local["layer_b"] == doctest::Approx(*by_hand.sqnr_db()).epsilon(2e-3));
}

TEST_CASE("quantize report: cumulative error from a copy of the quantized model in the same pass") {
    Fixture f;
    const LocalErrorGraph graph = build_local_error_graph(f.float_model, f.quantized, f.layers, true);
    REQUIRE(graph.cumulative.size() == 3);
    Dataset dataset = Dataset::open(write_inputs(f.x), {"x"}).value();
    const LayerErrors errors = measure_local_errors(graph, dataset, 64, SessionOptions()).value();
    // The first layer's input is the model's input: cumulative and local are the same computation.
    CHECK(graph.cumulative[0].layer == "layer_a");
    CHECK(*errors.cumulative[0].sqnr_db() == doctest::Approx(*errors.local[0].sqnr_db()).epsilon(1e-9));
    // The last layer's cumulative error is the quantized model's output error.
    auto run = [&](const Model& model) {
        return Session::create(model, {{"x", f.x.shape()}}).value()->run({f.x}).value()[0];
    };
    ErrorStats output;
    REQUIRE(output.add(run(f.float_model), run(f.quantized)).ok());
    CHECK(*errors.cumulative[2].sqnr_db() == doctest::Approx(*output.sqnr_db()).epsilon(1e-9));
}

TEST_CASE("quantize report: the QOperator form computes what the QDQ form computes") {
    Fixture f;
    Model qoperator = f.quantized;
    // layer_c's output stays float, so it keeps its QDQ form: DequantizeLinear of b and of its weight.
    CHECK(convert_qdq_to_qoperator(qoperator.graph) == 2);
    int dequantize = 0;
    for (const Node& node : qoperator.graph.nodes) dequantize += node.op_type() == "DequantizeLinear";
    CHECK(dequantize == 2);
    auto run = [&](const Model& model) {
        auto session = Session::create(model, {{"x", f.x.shape()}}).value();
        return session->run({f.x}).value()[0];
    };
    const Tensor expected = run(f.quantized), got = run(qoperator);
    REQUIRE(expected.shape() == got.shape());
    for (int64_t i = 0; i < got.numel(); ++i) CHECK(got.data<float>()[i] == expected.data<float>()[i]);
}

TEST_CASE("quantize report: a biased Gemm becomes a 1x1 QLinearConv computing what its QDQ form computes") {
    // x [N, 3] -> Gemm (W [3, 4] not transposed, bias) -> h -> Gemm (W2 [2, 4] transposed, bias) -> y [N, 2]: h is
    // quantized because the second Gemm reads it, so the first Gemm has a QOperator form; the second writes floats.
    Model model =
        opset13_model(make_graph({value_info("x", DType::kF32, {-1, 3})}, {value_info("y", DType::kF32, {-1, 2})}));
    Graph& g = model.graph;
    g.set_initializer(
        "w1", tensor_from_vector<float>({0.5f, -1.0f, 0.25f, 0.8f, 0.1f, 0.7f, -0.3f, 0.2f, -0.9f, 0.4f, 0.6f, -0.05f},
                                        {3, 4}));
    g.set_initializer("b1", tensor_from_vector<float>({0.1f, -0.2f, 0.3f, 0.05f}, {4}));
    g.set_initializer("w2", tensor_from_vector<float>({1.0f, -0.5f, 0.3f, 0.2f, -0.7f, 0.9f, 0.1f, 0.4f}, {2, 4}));
    g.set_initializer("b2", tensor_from_vector<float>({0.0f, 0.5f}, {2}));
    Node first = make_node("Gemm", {"x", "w1", "b1"}, {"h"});
    first.proto.set_name("first");
    Node second = make_node("Gemm", {"h", "w2", "b2"}, {"y"});
    second.proto.set_name("second");
    second.set_attr_int("transB", 1);
    g.nodes = {first, second};

    const Tensor x =
        tensor_from_vector<float>({0.3f, -0.7f, 0.9f, -0.2f, 0.5f, 0.1f, 0.8f, 0.8f, -0.6f, -1.0f, 0.0f, 0.4f}, {4, 3});
    SessionOptions observe_all;
    observe_all.observe_all = true;
    auto session = Session::create(model, {{"x", x.shape()}}, observe_all).value();
    std::map<std::string, Range> ranges;
    session->set_observer([&](const std::string& name, const Tensor& value) {
        const Tensor f = value.cast(DType::kF32);
        const auto [lo, hi] = std::minmax_element(f.data<float>(), f.data<float>() + f.numel());
        ranges[name] = Range{*lo, *hi};
    });
    const Tensor expected_float = session->run({x}).value()[0];
    Model qdq = model;
    REQUIRE(rewrite_to_qdq(qdq.graph, 13, QdqSpec(), [&](const std::string& name, Range& range) {
                if (!ranges.count(name)) return false;
                range = ranges[name];
                return true;
            }).ok());
    Model qoperator = qdq;
    CHECK(convert_qdq_to_qoperator(qoperator.graph) == 1);
    bool conv = false;
    for (const Node& node : qoperator.graph.nodes) conv = conv || node.op_type() == "QLinearConv";
    CHECK(conv);
    auto run = [&](const Model& m) { return Session::create(m, {{"x", x.shape()}}).value()->run({x}).value()[0]; };
    const Tensor from_qdq = run(qdq), from_qoperator = run(qoperator);
    REQUIRE(from_qdq.shape() == from_qoperator.shape());
    for (int64_t i = 0; i < from_qdq.numel(); ++i) {
        CHECK(from_qoperator.data<float>()[i] == doctest::Approx(from_qdq.data<float>()[i]).epsilon(1e-5));
        CHECK(from_qoperator.data<float>()[i] == doctest::Approx(expected_float.data<float>()[i]).epsilon(0.05));
    }
}
