// The quantization reference kernels through a Session, on cases ONNX's node tests do not reach: blocked and
// 4-bit quantization, output_dtype, per-row/per-column zero points and scales, grouped and padded integer conv.
#include <doctest/doctest.h>

#include "model_builder.h"
#include "ops/quantize_math.h"

using namespace pare;
using namespace pare_test;

namespace {

std::vector<int64_t> integers(const Tensor& t) {
    std::vector<int64_t> values;
    for (int64_t i = 0; i < t.numel(); ++i) values.push_back(read_quantized(t, i));
    return values;
}

}  // namespace

TEST_CASE("QuantizeLinear opset 21: blocked int4 from output_dtype, no zero point") {
    Graph g = make_graph({value_info("x", DType::kF32, {2, 4})}, {value_info("y", DType::kI4, {2, 4})});
    g.set_initializer("scale", tensor_from_vector<float>({1.0f, 0.5f, 2.0f, 0.25f}, {2, 2}));
    Node node = make_node("QuantizeLinear", {"x", "scale"}, {"y"});
    node.set_attr_int("block_size", 2);
    node.set_attr_int("output_dtype", static_cast<int64_t>(DType::kI4));
    g.nodes.push_back(node);
    auto y =
        run_graph(g, 21, {tensor_from_vector<float>({-2.5f, 3.5f, 1.0f, 9.0f, 20.0f, -0.25f, 0.125f, -1.0f}, {2, 4})});
    REQUIRE(y.ok());
    CHECK((*y)[0].dtype() == DType::kI4);
    // Row 0 blocks: scale 1 then 0.5; row 1: scale 2 then 0.25.
    CHECK(integers((*y)[0]) == std::vector<int64_t>{-2, 4, 2, 7, 7, 0, 0, -4});
}

TEST_CASE("QuantizeLinear per axis to uint16 with a negative axis, and int16 saturation") {
    Graph g = make_graph({value_info("x", DType::kF32, {2, 3})}, {value_info("y", DType::kU16, {2, 3})});
    g.set_initializer("scale", tensor_from_vector<float>({1.0f, 0.5f, 0.001f}, {3}));
    g.set_initializer("zp", tensor_from_vector<uint16_t>({0, 1000, 65000}, {3}));
    Node node = make_node("QuantizeLinear", {"x", "scale", "zp"}, {"y"});
    node.set_attr_int("axis", -1);
    g.nodes.push_back(node);
    auto y = run_graph(g, 21, {tensor_from_vector<float>({-1.0f, 2.0f, 1.0f, 70000.0f, -600.0f, -100.0f}, {2, 3})});
    REQUIRE(y.ok());
    CHECK(integers((*y)[0]) == std::vector<int64_t>{0, 1004, 65535, 65535, 0, 0});
}

TEST_CASE("DequantizeLinear: blocked int4, int32 without zero point, output_dtype") {
    {
        Graph g = make_graph({value_info("x", DType::kI4, {1, 3})}, {value_info("y", DType::kF32, {1, 3})});
        g.set_initializer("scale", tensor_from_vector<float>({0.5f, 4.0f}, {1, 2}));
        g.set_initializer("zp", tensor_from_vector<float>({-1, 2}, {1, 2}).cast(DType::kI4));
        Node node = make_node("DequantizeLinear", {"x", "scale", "zp"}, {"y"});
        node.set_attr_int("block_size", 2);
        g.nodes.push_back(node);
        auto y = run_graph(g, 21, {tensor_from_vector<float>({-8, 7, 3}, {1, 3}).cast(DType::kI4)});
        REQUIRE(y.ok());
        CHECK(tensor_to_floats((*y)[0]) == std::vector<float>{-3.5f, 4.0f, 4.0f});
    }
    {
        Graph g = make_graph({value_info("x", DType::kI32, {2, 2})}, {value_info("y", DType::kF16, {2, 2})});
        g.set_initializer("scale", tensor_from_vector<float>({0.5f, 2.0f}, {2}));
        Node node = make_node("DequantizeLinear", {"x", "scale"}, {"y"});
        node.set_attr_int("axis", 0);
        node.set_attr_int("output_dtype", static_cast<int64_t>(DType::kF16));
        g.nodes.push_back(node);
        auto y = run_graph(g, 23, {tensor_from_vector<int32_t>({-3, 1000, 7, -9}, {2, 2})});
        REQUIRE(y.ok());
        CHECK((*y)[0].dtype() == DType::kF16);
        CHECK(tensor_to_floats((*y)[0]) == std::vector<float>{-1.5f, 500.0f, 14.0f, -18.0f});
    }
}

TEST_CASE("QuantizeLinear and DequantizeLinear reject mismatched parameters") {
    Graph g = make_graph({value_info("x", DType::kF32, {2, 3})}, {value_info("y", DType::kU8, {2, 3})});
    g.set_initializer("scale", tensor_from_vector<float>({1.0f, 2.0f}, {2}));
    g.nodes.push_back(make_node("QuantizeLinear", {"x", "scale"}, {"y"}));  // axis 1 has 3 elements, not 2
    auto y = run_graph(g, 13, {Tensor(DType::kF32, {2, 3})});
    CHECK(y.status().code() == ErrorCode::kInvalidInput);
}

TEST_CASE("DynamicQuantizeLinear on all-zero data gives scale 1 and zero point 0") {
    Graph g = make_graph(
        {value_info("x", DType::kF32, {3})},
        {value_info("y", DType::kU8, {3}), value_info("s", DType::kF32, {}), value_info("z", DType::kU8, {})});
    g.nodes.push_back(make_node("DynamicQuantizeLinear", {"x"}, {"y", "s", "z"}));
    auto out = run_graph(g, 11, {Tensor(DType::kF32, {3})});
    REQUIRE(out.ok());
    CHECK(integers((*out)[0]) == std::vector<int64_t>{0, 0, 0});
    CHECK(tensor_to_floats((*out)[1]) == std::vector<float>{1.0f});
    CHECK(integers((*out)[2]) == std::vector<int64_t>{0});
}

TEST_CASE("MatMulInteger: per-row and per-column zero points, batch broadcasting, 1-D A") {
    const Tensor b = tensor_from_vector<int8_t>({1, 0, 0, 1, 2, 2}, {3, 2});
    const Tensor b_zp = tensor_from_vector<int8_t>({0, 1}, {2});
    {
        Graph g = make_graph({value_info("a", DType::kU8, {2, 3})}, {value_info("y", DType::kI32, {2, 2})});
        g.set_initializer("b", b);
        g.set_initializer("a_zp", tensor_from_vector<uint8_t>({1, 4}, {2}));
        g.set_initializer("b_zp", b_zp);
        g.nodes.push_back(make_node("MatMulInteger", {"a", "b", "a_zp", "b_zp"}, {"y"}));
        auto y = run_graph(g, 10, {tensor_from_vector<uint8_t>({1, 2, 3, 4, 5, 6}, {2, 3})});
        REQUIRE(y.ok());
        CHECK(integers((*y)[0]) == std::vector<int64_t>{4, 2, 4, 2});
    }
    {
        Graph g = make_graph({value_info("a", DType::kU8, {2, 2, 3})}, {value_info("y", DType::kI32, {2, 2, 2})});
        g.set_initializer("b", b);
        g.set_initializer("a_zp", tensor_from_vector<uint8_t>({1, 4, 0, 0}, {2, 2, 1}));
        g.set_initializer("b_zp", b_zp);
        g.nodes.push_back(make_node("MatMulInteger", {"a", "b", "a_zp", "b_zp"}, {"y"}));
        auto y = run_graph(g, 10, {tensor_from_vector<uint8_t>({1, 2, 3, 4, 5, 6, 1, 2, 3, 4, 5, 6}, {2, 2, 3})});
        REQUIRE(y.ok());
        CHECK((*y)[0].shape() == Shape{2, 2, 2});
        CHECK(integers((*y)[0]) == std::vector<int64_t>{4, 2, 4, 2, 7, 2, 16, 2});
    }
    {
        Graph g = make_graph({value_info("a", DType::kU8, {3})}, {value_info("y", DType::kI32, {2})});
        g.set_initializer("b", b);
        g.nodes.push_back(make_node("MatMulInteger", {"a", "b"}, {"y"}));
        auto y = run_graph(g, 10, {tensor_from_vector<uint8_t>({1, 2, 3}, {3})});
        REQUIRE(y.ok());
        CHECK((*y)[0].shape() == Shape{2});
        CHECK(integers((*y)[0]) == std::vector<int64_t>{7, 8});
    }
}

TEST_CASE("QLinearMatMul with per-column scale and zero point of b") {
    Graph g = make_graph({value_info("a", DType::kU8, {1, 2})}, {value_info("y", DType::kU8, {1, 2})});
    g.set_initializer("a_scale", tensor_from_vector<float>({0.5f}, {}));
    g.set_initializer("a_zp", tensor_from_vector<uint8_t>({10}, {}));
    g.set_initializer("b", tensor_from_vector<uint8_t>({0, 1, 2, 3}, {2, 2}));
    g.set_initializer("b_scale", tensor_from_vector<float>({0.1f, 0.2f}, {2}));
    g.set_initializer("b_zp", tensor_from_vector<uint8_t>({1, 0}, {2}));
    g.set_initializer("y_scale", tensor_from_vector<float>({0.25f}, {}));
    g.set_initializer("y_zp", tensor_from_vector<uint8_t>({100}, {}));
    g.nodes.push_back(
        make_node("QLinearMatMul", {"a", "a_scale", "a_zp", "b", "b_scale", "b_zp", "y_scale", "y_zp"}, {"y"}));
    auto y = run_graph(g, 10, {tensor_from_vector<uint8_t>({10, 20}, {1, 2})});
    REQUIRE(y.ok());
    // a - 10 = [0, 10]; b - zp = [[-1, 1], [1, 3]]; acc = [10, 30]; multipliers 0.2 and 0.4.
    CHECK(integers((*y)[0]) == std::vector<int64_t>{102, 112});
}

TEST_CASE("ConvInteger: groups, per-channel weight zero point, strides and padding") {
    std::vector<uint8_t> x_values = {1, 2, 3, 4, 5, 6, 7, 8, 9, 2, 2, 2, 2, 2, 2, 2, 2, 2};
    auto build = [](bool padded) {
        Graph g = make_graph({value_info("x", DType::kU8, {1, 2, 3, 3})}, {value_info("y", DType::kI32, {1, 2, 2, 2})});
        g.set_initializer("w", tensor_from_vector<uint8_t>({2, 2, 2, 2, 3, 3, 3, 3}, {2, 1, 2, 2}));
        g.set_initializer("x_zp", tensor_from_vector<uint8_t>({1}, {}));
        g.set_initializer("w_zp", tensor_from_vector<uint8_t>({1, 2}, {2}));
        Node node = make_node("ConvInteger", {"x", "w", "x_zp", "w_zp"}, {"y"});
        node.set_attr_int("group", 2);
        if (padded) {
            node.set_attr_ints("pads", {1, 1, 1, 1});
            node.set_attr_ints("strides", {2, 2});
        }
        g.nodes.push_back(node);
        return g;
    };
    auto valid = run_graph(build(false), 10, {tensor_from_vector<uint8_t>(x_values, {1, 2, 3, 3})});
    REQUIRE(valid.ok());
    CHECK(integers((*valid)[0]) == std::vector<int64_t>{8, 12, 20, 24, 4, 4, 4, 4});
    auto padded = run_graph(build(true), 10, {tensor_from_vector<uint8_t>(x_values, {1, 2, 3, 3})});
    REQUIRE(padded.ok());
    CHECK((*padded)[0].shape() == Shape{1, 2, 2, 2});
    CHECK(integers((*padded)[0]) == std::vector<int64_t>{0, 3, 9, 24, 1, 2, 2, 4});
}

TEST_CASE("QLinearConv with per-channel weight scales and an int32 bias") {
    Graph g = make_graph({value_info("x", DType::kU8, {1, 1, 2, 2})}, {value_info("y", DType::kU8, {1, 2, 2, 2})});
    g.set_initializer("x_scale", tensor_from_vector<float>({1.0f}, {}));
    g.set_initializer("x_zp", tensor_from_vector<uint8_t>({0}, {}));
    g.set_initializer("w", tensor_from_vector<int8_t>({1, -1}, {2, 1, 1, 1}));
    g.set_initializer("w_scale", tensor_from_vector<float>({0.5f, 0.25f}, {2}));
    g.set_initializer("w_zp", tensor_from_vector<int8_t>({0, 0}, {2}));
    g.set_initializer("y_scale", tensor_from_vector<float>({1.0f}, {}));
    g.set_initializer("y_zp", tensor_from_vector<uint8_t>({10}, {}));
    g.set_initializer("bias", tensor_from_vector<int32_t>({4, -8}, {2}));
    g.nodes.push_back(
        make_node("QLinearConv", {"x", "x_scale", "x_zp", "w", "w_scale", "w_zp", "y_scale", "y_zp", "bias"}, {"y"}));
    auto y = run_graph(g, 10, {tensor_from_vector<uint8_t>({1, 2, 3, 4}, {1, 1, 2, 2})});
    REQUIRE(y.ok());
    // Channel 0: (x + 4) * 0.5 = 2.5, 3, 3.5, 4 -> 2, 3, 4, 4; channel 1: (-x - 8) * 0.25 -> -2, -2, -3, -3.
    CHECK(integers((*y)[0]) == std::vector<int64_t>{12, 13, 14, 14, 8, 8, 7, 7});
}
