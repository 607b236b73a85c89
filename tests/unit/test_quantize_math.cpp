// ops/quantize_math.h against hand-computed values: ties to even, saturation at both ends, zero-point edges,
// 4-bit packing, layouts and the DynamicQuantizeLinear parameters.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include "ops/quantize_math.h"

using namespace pare;

TEST_CASE("round_half_even rounds ties to the even neighbour") {
    CHECK(round_half_even(0.5) == 0.0);
    CHECK(round_half_even(1.5) == 2.0);
    CHECK(round_half_even(2.5) == 2.0);
    CHECK(round_half_even(3.5) == 4.0);
    CHECK(round_half_even(-0.5) == 0.0);
    CHECK(round_half_even(-1.5) == -2.0);
    CHECK(round_half_even(-2.5) == -2.0);
    CHECK(round_half_even(2.4999999) == 2.0);
    CHECK(round_half_even(2.5000001) == 3.0);
    CHECK(round_half_even(-2.5000001) == -3.0);
    CHECK(round_half_even(4503599627370497.0) == 4503599627370497.0);  // 2^52 + 1: already an integer
    CHECK(std::isinf(round_half_even(std::numeric_limits<double>::infinity())));
}

TEST_CASE("saturate clamps to both ends of each quantized type") {
    CHECK(saturate(300, quant_range(DType::kU8)) == 255);
    CHECK(saturate(-5, quant_range(DType::kU8)) == 0);
    CHECK(saturate(200, quant_range(DType::kI8)) == 127);
    CHECK(saturate(-200, quant_range(DType::kI8)) == -128);
    CHECK(saturate(70000, quant_range(DType::kU16)) == 65535);
    CHECK(saturate(-40000, quant_range(DType::kI16)) == -32768);
    CHECK(saturate(8, quant_range(DType::kI4)) == 7);
    CHECK(saturate(-9, quant_range(DType::kI4)) == -8);
    CHECK(saturate(16, quant_range(DType::kU4)) == 15);
    CHECK(saturate(-1, quant_range(DType::kU4)) == 0);
    CHECK(saturate(1e300, quant_range(DType::kI32)) == 2147483647);
    CHECK(saturate(std::nan(""), quant_range(DType::kI8)) == 0);
    CHECK(saturate(std::nan(""), QuantRange{3, 9}) == 3);
}

TEST_CASE("quantize_value: division, ties to even, zero point and saturation") {
    const QuantRange u8 = quant_range(DType::kU8), i8 = quant_range(DType::kI8), i4 = quant_range(DType::kI4);
    // ONNX test_quantizelinear: x / 2 + 128.
    CHECK(quantize_value(0, 2, 128, u8) == 128);
    CHECK(quantize_value(2, 2, 128, u8) == 129);
    CHECK(quantize_value(3, 2, 128, u8) == 130);   // 1.5 -> 2
    CHECK(quantize_value(5, 2, 128, u8) == 130);   // 2.5 -> 2
    CHECK(quantize_value(-1, 2, 128, u8) == 128);  // -0.5 -> 0
    CHECK(quantize_value(-3, 2, 128, u8) == 126);  // -1.5 -> -2
    CHECK(quantize_value(1000, 2, 128, u8) == 255);
    CHECK(quantize_value(-254, 2, 128, u8) == 1);
    CHECK(quantize_value(-1000, 2, 128, u8) == 0);
    // Zero points at the ends of the range.
    CHECK(quantize_value(2, 1, 255, u8) == 255);
    CHECK(quantize_value(-2, 1, 255, u8) == 253);
    CHECK(quantize_value(-2, 1, 0, u8) == 0);
    CHECK(quantize_value(0, 1, -128, i8) == -128);
    CHECK(quantize_value(-1, 1, -128, i8) == -128);
    CHECK(quantize_value(1, 1, 127, i8) == 127);
    CHECK(quantize_value(0.5f, 1, -8, i4) == -8);
    CHECK(quantize_value(7.5f, 1, 0, i4) == 7);  // 8 saturates
    CHECK(quantize_value(-8.5f, 1, 0, i4) == -8);
    CHECK(quantize_value(std::nanf(""), 1, 7, i8) == 7);  // NaN quantizes to the zero point
}

TEST_CASE("quantize_quotient rounds operands and quotient to the precision type") {
    CHECK(quantize_quotient(1.0, 3.0, DType::kF32) == static_cast<double>(1.0f / 3.0f));
    CHECK(quantize_quotient(1.0, 3.0, DType::kF16) == 0.333251953125);  // nearest half to 1/3
    CHECK(quantize_quotient(1.0, 3.0, DType::kBF16) == 0.333984375);    // nearest bfloat16 to 1/3
    CHECK(quantize_quotient(1.0, 3.0, DType::kF64) == 1.0 / 3.0);
    // In float32, 16777217 rounds to 16777216 before the division.
    CHECK(quantize_quotient(16777217.0, 1.0, DType::kF32) == 16777216.0);
}

TEST_CASE("dequantize_value, requantize and int32 wrapping") {
    CHECK(dequantize_value(0, 2.0f, 128) == -256.0f);
    CHECK(dequantize_value(255, 2.0f, 128) == 254.0f);
    CHECK(dequantize_value(-8, 0.5f, 0) == -4.0f);
    CHECK(dequantize_value(2147483647, 1.0f, -2147483648LL) == 4294967295.0f);  // exact difference, then float
    CHECK(requantize(10, 0.25f, 3, quant_range(DType::kU8)) == 5);              // 2.5 -> 2, + 3
    CHECK(requantize(14, 0.25f, 3, quant_range(DType::kU8)) == 7);              // 3.5 -> 4, + 3
    CHECK(requantize(-4000, 0.25f, 0, quant_range(DType::kI8)) == -128);
    CHECK(requantize_multiplier(0.5f, 0.25f, 0.125f) == 1.0f);
    CHECK(wrap_int32(2147483648LL) == -2147483647 - 1);
    CHECK(wrap_int32(-2147483649LL) == 2147483647);
}

TEST_CASE("4-bit packing puts element 2i in the low nibble, like Tensor") {
    Tensor t(DType::kI4, {3});
    write_quantized(t, 0, -8);
    write_quantized(t, 1, 7);
    write_quantized(t, 2, -1);
    const uint8_t* bytes = static_cast<const uint8_t*>(t.raw());
    CHECK(bytes[0] == 0x78);
    CHECK(bytes[1] == 0x0f);
    CHECK(read_quantized(t, 0) == -8);
    CHECK(read_quantized(t, 1) == 7);
    CHECK(read_quantized(t, 2) == -1);
    for (int64_t i = 0; i < 3; ++i) CHECK(t.element_as_double(i) == static_cast<double>(read_quantized(t, i)));
    // Rewriting one nibble keeps its neighbour.
    write_quantized(t, 0, 3);
    CHECK(bytes[0] == 0x73);
    Tensor u(DType::kU4, {2});
    write_quantized(u, 0, 15);
    write_quantized(u, 1, 1);
    CHECK(static_cast<const uint8_t*>(u.raw())[0] == 0x1f);
    CHECK(read_quantized(u, 0) == 15);
    CHECK(nibble_value(0x8, true) == -8);
    CHECK(nibble_value(0x8, false) == 8);
}

TEST_CASE("make_quant_layout: per tensor, per axis and blocked with a remainder block") {
    auto per_tensor = make_quant_layout({2, 3}, {}, 1, 0, "q");
    REQUIRE(per_tensor.ok());
    CHECK(per_tensor->kind == QuantLayout::Kind::kPerTensor);
    CHECK(per_tensor->outer * per_tensor->axis_dim * per_tensor->inner == 6);
    CHECK(make_quant_layout({2, 3}, {1}, 1, 0, "q")->kind == QuantLayout::Kind::kPerTensor);

    auto per_axis = make_quant_layout({2, 3, 4}, {3}, -2, 0, "q");
    REQUIRE(per_axis.ok());
    CHECK(per_axis->kind == QuantLayout::Kind::kPerAxis);
    CHECK(per_axis->param_index(1, 2, 3) == 2);

    auto blocked = make_quant_layout({2, 5}, {2, 3}, 1, 2, "q");
    REQUIRE(blocked.ok());
    CHECK(blocked->kind == QuantLayout::Kind::kBlocked);
    CHECK(blocked->param_blocks == 3);
    CHECK(blocked->param_index(0, 4, 0) == 2);  // the remainder block
    CHECK(blocked->param_index(1, 1, 0) == 3);

    auto blocked_axis0 = make_quant_layout({4, 3}, {2, 3}, 0, 2, "q");
    REQUIRE(blocked_axis0.ok());
    CHECK(blocked_axis0->param_index(0, 3, 2) == 5);  // row 3 is in block 1, column 2

    CHECK(make_quant_layout({2, 3}, {2}, 1, 0, "q").status().code() == ErrorCode::kInvalidInput);
    CHECK(make_quant_layout({2, 3}, {3}, 2, 0, "q").status().code() == ErrorCode::kInvalidInput);
    CHECK(make_quant_layout({2, 5}, {2, 2}, 1, 2, "q").status().code() == ErrorCode::kInvalidInput);
    CHECK(make_quant_layout({2, 5}, {2, 3}, 1, -1, "q").status().code() == ErrorCode::kInvalidInput);
}

TEST_CASE("quantize_tensor and dequantize_tensor: blocked int4 round trip") {
    const Tensor x =
        tensor_from_vector<float>({-1.0f, 0.5f, 1.5f, 7.0f, 2.0f, 0.0f, -20.0f, 3.0f, 0.25f, 9.0f}, {2, 5});
    const Tensor scale = tensor_from_vector<float>({1.0f, 0.5f, 2.0f, 1.0f, 4.0f, 0.25f}, {2, 3});
    const Tensor zero_point = tensor_from_vector<float>({0, 1, -2, 0, 0, 3}, {2, 3}).cast(DType::kI4);
    auto layout = make_quant_layout(x.shape(), scale.shape(), 1, 2, "q");
    REQUIRE(layout.ok());
    Tensor q(DType::kI4, x.shape());
    REQUIRE(quantize_tensor(x, scale, zero_point, *layout, DType::kF32, q).ok());
    // Blocks along axis 1: columns {0,1}, {2,3}, {4}.
    const std::vector<int64_t> expected = {-1, 0, 4, 7, -1, 0, -8, 1, 0, 7};
    for (int64_t i = 0; i < 10; ++i) CHECK(read_quantized(q, i) == expected[i]);

    Tensor back(DType::kF32, x.shape());
    REQUIRE(dequantize_tensor(q, scale, zero_point, *layout, back).ok());
    const std::vector<float> expected_back = {-1.0f, 0.0f, 1.5f, 3.0f, 2.0f, 0.0f, -8.0f, 4.0f, 0.0f, 1.0f};
    CHECK(tensor_to_floats(back) == expected_back);

    Tensor half(DType::kF16, x.shape());
    REQUIRE(dequantize_tensor(q, scale, zero_point, *layout, half).ok());
    CHECK(tensor_to_floats(half) == expected_back);
}

TEST_CASE("dynamic_quant_params follows the DynamicQuantizeLinear formula") {
    // ONNX's test_dynamicquantizelinear: range [-3, 2] -> scale 5/255, zero point round(3 / scale) = 153.
    DynamicQuantParams p = dynamic_quant_params(-3.0f, 2.0f);
    CHECK(p.scale == 5.0f / 255.0f);
    CHECK(p.zero_point == 153);
    p = dynamic_quant_params(-4.0f, -1.0f);  // widened to [-4, 0]
    CHECK(p.scale == 4.0f / 255.0f);
    CHECK(p.zero_point == 255);
    p = dynamic_quant_params(1.0f, 4.0f);  // widened to [0, 4]
    CHECK(p.zero_point == 0);
    p = dynamic_quant_params(0.0f, 0.0f);
    CHECK(p.scale == 1.0f);
    CHECK(p.zero_point == 0);
}
