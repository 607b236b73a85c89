// The calibration-free quantization schemes on small graphs: the dynamic rewrite (DynamicQuantizeLinear +
// MatMulInteger / ConvInteger) and the float16 conversion, each run by the engine against the float graph; and the
// com.microsoft QuantizeLinear/DequantizeLinear that 16-bit activations use below opset 21.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>

#include "model_builder.h"
#include "onnx/shape_inference.h"
#include "quantize/dynamic_rewriter.h"
#include "quantize/fp16_converter.h"

using namespace pare;
using namespace pare_test;

namespace {

Model make_model(Graph graph, int64_t opset, const std::vector<std::string>& extra_domains = {}) {
    Model model;
    auto* import = model.header.add_opset_import();
    import->set_domain("");
    import->set_version(opset);
    for (const auto& domain : extra_domains) {
        auto* extra = model.header.add_opset_import();
        extra->set_domain(domain);
        extra->set_version(1);
    }
    model.graph = std::move(graph);
    return model;
}

std::vector<Tensor> run_model(const Model& model, const std::vector<Tensor>& inputs) {
    std::map<std::string, Shape> shapes;
    const auto names = model.graph.input_names();
    for (size_t i = 0; i < names.size(); ++i) shapes[names[i]] = inputs[i].shape();
    auto session = Session::create(model, shapes, SessionOptions());
    REQUIRE_MESSAGE(session.ok(), session.status().message());
    auto outputs = (*session)->run(inputs);
    REQUIRE_MESSAGE(outputs.ok(), outputs.status().message());
    return *outputs;
}

// Deterministic values in [-1, 1).
Tensor ramp(const Shape& shape, int64_t step) {
    Tensor t(DType::kF32, shape);
    for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = static_cast<float>((i * step) % 201 - 100) / 100.0f;
    return t;
}

double max_abs_diff(const Tensor& a, const Tensor& b) {
    const Tensor x = a.cast(DType::kF32), y = b.cast(DType::kF32);
    double worst = 0;
    for (int64_t i = 0; i < x.numel(); ++i) {
        worst = std::max(worst, std::fabs(static_cast<double>(x.data<float>()[i]) - y.data<float>()[i]));
    }
    return worst;
}

std::vector<std::string> op_types(const Graph& graph) {
    std::vector<std::string> ops;
    for (const Node& node : graph.nodes) ops.push_back(node.op_type());
    return ops;
}

int count(const std::vector<std::string>& ops, const std::string& op) {
    return static_cast<int>(std::count(ops.begin(), ops.end(), op));
}

}  // namespace

TEST_CASE("com.microsoft QuantizeLinear/DequantizeLinear run 16-bit per-axis quantization below opset 21") {
    Graph g = make_graph({value_info("x", DType::kF32, {2, 3})}, {value_info("y", DType::kF32, {2, 3})});
    g.set_initializer("scale", tensor_from_vector<float>({0.001f, 0.01f, 1.0f}, {3}));
    g.set_initializer("zp", tensor_from_vector<int16_t>({0, -100, 5}, {3}));
    Node q = make_node("QuantizeLinear", {"x", "scale", "zp"}, {"q"});
    Node dq = make_node("DequantizeLinear", {"q", "scale", "zp"}, {"y"});
    for (Node* node : {&q, &dq}) {
        node->proto.set_domain("com.microsoft");
        node->set_attr_int("axis", 1);
    }
    g.nodes = {q, dq};
    const Tensor x = tensor_from_vector<float>({0.0123f, -0.5f, 2.4f, 40.0f, 300.0f, -1e6f}, {2, 3});
    const std::vector<Tensor> y = run_model(make_model(g, 13, {"com.microsoft"}), {x});
    // 0.0123 / 0.001 = 12.3 -> 12; -0.5 / 0.01 - 100 -> -150; 2.4 + 5 -> 7 - 5 = 2; 40 / 0.001 saturates at 32767;
    // 300 / 0.01 - 100 = 29900; -1e6 saturates at -32768.
    const std::vector<float> expected = {0.012f, -0.5f, 2.0f, 32.767f, 300.0f, -32773.0f};
    for (int64_t i = 0; i < 6; ++i) CHECK(y[0].data<float>()[i] == doctest::Approx(expected[i]).epsilon(1e-6));
}

TEST_CASE("dynamic: Gemm (transB, alpha, bias) and MatMul sharing an input become MatMulInteger, close to float") {
    Graph g = make_graph({value_info("x", DType::kF32, {4, 8})},
                         {value_info("gemm", DType::kF32, {4, 5}), value_info("matmul", DType::kF32, {4, 3})});
    g.set_initializer("w_t", ramp({5, 8}, 7));  // [N, K]: transB
    g.set_initializer("bias", ramp({5}, 13));
    g.set_initializer("w2", ramp({8, 3}, 11));
    Node gemm = make_node("Gemm", {"x", "w_t", "bias"}, {"gemm"});
    gemm.proto.set_name("gemm");
    gemm.set_attr_int("transB", 1);
    gemm.set_attr_float("alpha", 0.5f);
    Node matmul = make_node("MatMul", {"x", "w2"}, {"matmul"});
    matmul.proto.set_name("matmul");
    g.nodes = {gemm, matmul};
    const Model float_model = make_model(g, 13);
    Model model = float_model;
    auto layers = rewrite_to_dynamic(model.graph, 13, DynamicSpec());
    REQUIRE(layers.ok());
    REQUIRE(layers->size() == 2);
    CHECK((*layers)[0].weight_params.size() == 5);  // per output column
    CHECK((*layers)[1].weight_params.size() == 3);
    const auto ops = op_types(model.graph);
    CHECK(count(ops, "DynamicQuantizeLinear") == 1);  // x is quantized once for both layers
    CHECK(count(ops, "MatMulInteger") == 2);
    CHECK(count(ops, "Cast") == 2);
    CHECK(count(ops, "Add") == 1);
    CHECK(count(ops, "Gemm") == 0);
    CHECK(model.graph.output_names() == float_model.graph.output_names());

    const Tensor x = ramp({4, 8}, 3);
    const auto expected = run_model(float_model, {x});
    const auto actual = run_model(model, {x});
    // Errors of one uint8 activation step and one int8 weight step over K = 8 products of magnitude <= 1.
    CHECK(max_abs_diff(expected[0], actual[0]) < 0.05);
    CHECK(max_abs_diff(expected[1], actual[1]) < 0.05);
}

TEST_CASE(
    "dynamic: Conv with bias becomes ConvInteger with per-channel scales, excluded nodes and opset 10 left alone") {
    Graph g = make_graph({value_info("x", DType::kF32, {1, 2, 5, 5})}, {value_info("y", DType::kF32, {1, 3, 5, 5})});
    g.set_initializer("w", ramp({3, 2, 3, 3}, 17));
    g.set_initializer("b", ramp({3}, 29));
    Node conv = make_node("Conv", {"x", "w", "b"}, {"y"});
    conv.proto.set_name("conv");
    conv.set_attr_ints("pads", {1, 1, 1, 1});
    g.nodes = {conv};
    const Model float_model = make_model(g, 13);

    Model model = float_model;
    auto layers = rewrite_to_dynamic(model.graph, 13, DynamicSpec());
    REQUIRE(layers.ok());
    REQUIRE(layers->size() == 1);
    CHECK((*layers)[0].weight_params.size() == 3);
    CHECK(count(op_types(model.graph), "ConvInteger") == 1);
    const Tensor x = ramp({1, 2, 5, 5}, 5);
    CHECK(max_abs_diff(run_model(float_model, {x})[0], run_model(model, {x})[0]) < 0.05);

    Model excluded = float_model;
    DynamicSpec spec;
    spec.excluded_nodes = {"conv"};
    CHECK(rewrite_to_dynamic(excluded.graph, 13, spec)->empty());
    Model old = float_model;
    CHECK(rewrite_to_dynamic(old.graph, 10, DynamicSpec()).status().code() == ErrorCode::kUnsupported);
}

TEST_CASE("fp16: float16 weights and activations, float32 at the edges and around kept ops, clamped weights") {
    Graph g = make_graph({value_info("x", DType::kF32, {2, 4})}, {value_info("y", DType::kF32, {2, 3})});
    Tensor w = ramp({4, 3}, 7);
    w.data<float>()[0] = 1e6f;  // beyond float16: clamped to 65504
    g.set_initializer("w", w);
    g.set_initializer("floor", tensor_from_vector<float>({-0.25f}, {}));
    g.nodes = {make_node("MatMul", {"x", "w"}, {"h"}), make_node("Relu", {"h"}, {"r"}),
               make_node("Max", {"r", "floor"}, {"m"}), make_node("Sigmoid", {"m"}, {"y"})};
    const Model float_model = make_model(g, 13);
    Model model = float_model;
    auto conversion = convert_to_fp16(model.graph, infer_value_types(float_model), Fp16Spec());
    REQUIRE(conversion.ok());
    CHECK(conversion->clamped_values == 1);
    CHECK(conversion->nodes_fp16 == 3);  // MatMul, Relu, Sigmoid
    CHECK(conversion->nodes_fp32 == 1);  // Max is on the default keep list
    // Cast in (x), out to Max and back, out at the graph output.
    CHECK(conversion->casts == 4);
    REQUIRE(conversion->layers.size() == 1);
    CHECK(conversion->layers[0].weight == "w");
    CHECK(model.graph.output_names() == std::vector<std::string>{"y"});
    bool f16_weight = false;
    for (const auto& init : model.graph.initializers) f16_weight = f16_weight || init.value.dtype() == DType::kF16;
    CHECK(f16_weight);
    CHECK(!model.graph.find_initializer("w"));  // the float32 copy is gone

    Tensor x = ramp({2, 4}, 3);
    const auto expected = run_model(float_model, {x});
    const auto actual = run_model(model, {x});
    CHECK(actual[0].dtype() == DType::kF32);
    // The clamped weight meets x[0][0] = -1 and x[1][0] = 0.03 only through Relu and Sigmoid, which saturate.
    CHECK(max_abs_diff(expected[0], actual[0]) < 2e-3);

    Fp16Spec keep_relu;
    keep_relu.keep_fp32_ops.insert("Relu");
    Model kept = float_model;
    auto second = convert_to_fp16(kept.graph, infer_value_types(float_model), keep_relu);
    REQUIRE(second.ok());
    CHECK(second->nodes_fp16 == 2);
    CHECK(second->nodes_fp32 == 2);
}

TEST_CASE("fp16: LayerNormalization's mean output keeps its float32 stash type") {
    Graph g = make_graph({value_info("x", DType::kF32, {2, 4})},
                         {value_info("y", DType::kF32, {2, 4}), value_info("mean", DType::kF32, {2, 1})});
    g.set_initializer("gamma", ramp({4}, 3));
    g.set_initializer("beta", ramp({4}, 5));
    g.nodes = {make_node("LayerNormalization", {"x", "gamma", "beta"}, {"y", "mean"})};
    const Model float_model = make_model(g, 17);
    Model model = float_model;
    auto conversion = convert_to_fp16(model.graph, infer_value_types(float_model), Fp16Spec());
    REQUIRE(conversion.ok());
    CHECK(conversion->casts == 2);  // x in, y out; mean is float32 already
    const Tensor x = ramp({2, 4}, 7);
    const auto expected = run_model(float_model, {x});
    const auto actual = run_model(model, {x});
    CHECK(max_abs_diff(expected[0], actual[0]) < 5e-3);
    CHECK(max_abs_diff(expected[1], actual[1]) < 1e-3);
}
