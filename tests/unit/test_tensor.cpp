#include <doctest/doctest.h>

#include <cmath>

#include "core/half.h"
#include "core/tensor.h"

using namespace pare;

TEST_CASE("dtype sizes and names follow ONNX") {
    CHECK(dtype_storage_bytes(DType::kF32, 3) == 12);
    CHECK(dtype_storage_bytes(DType::kI4, 3) == 2);  // two per byte, rounded up
    CHECK(dtype_storage_bytes(DType::kBool, 5) == 5);
    CHECK(dtype_from_onnx(10) == DType::kF16);
    CHECK(dtype_from_onnx(17) == DType::kUndefined);  // float8: not decoded
    CHECK(dtype_onnx_name(DType::kBF16) == "bfloat16");
    CHECK_FALSE(dtype_is_supported(DType::kString));
}

TEST_CASE("float16 conversion rounds to nearest even and keeps specials") {
    CHECK(f32_to_f16(1.0f) == 0x3c00);
    CHECK(f32_to_f16(-2.0f) == 0xc000);
    CHECK(f32_to_f16(65504.0f) == 0x7bff);
    CHECK(f32_to_f16(65520.0f) == 0x7c00);                 // rounds up to infinity
    CHECK(f32_to_f16(1.0f + 1.0f / 2048) == 0x3c00);       // halfway, to even (down)
    CHECK(f32_to_f16(1.0f + 3.0f / 2048) == 0x3c02);       // halfway, to even (up)
    CHECK(f32_to_f16(5.9604644775390625e-8f) == 0x0001);   // smallest subnormal
    CHECK(f32_to_f16(2.9802322387695312e-8f) == 0x0000);   // half of it: ties to even zero
    CHECK(f16_to_f32(0x0001) == doctest::Approx(5.9604644775390625e-8));
    CHECK(std::isnan(f16_to_f32(f32_to_f16(std::nanf("")))));
    for (uint32_t h = 0; h < 0x7c00; ++h) {  // every finite positive half survives a round trip
        REQUIRE(f32_to_f16(f16_to_f32(static_cast<uint16_t>(h))) == h);
    }
    CHECK(f32_to_bf16(1.0f) == 0x3f80);
    CHECK(bf16_to_f32(0x3f80) == 1.0f);
    CHECK(f32_to_bf16(bits_to_float(0x3f808000u)) == 0x3f80);  // tie to even
    CHECK(f32_to_bf16(bits_to_float(0x3f818000u)) == 0x3f82);
}

TEST_CASE("tensor allocation, views and casts") {
    Tensor t(DType::kF32, {2, 3});
    CHECK(t.numel() == 6);
    CHECK(t.nbytes() == 24);
    CHECK(reinterpret_cast<uintptr_t>(t.raw()) % 64 == 0);
    for (int i = 0; i < 6; ++i) t.data<float>()[i] = static_cast<float>(i) - 2.5f;
    Tensor view = t.reshaped({3, 2});
    CHECK(view.raw() == t.raw());
    Tensor copy = t.clone();
    CHECK(copy.raw() != t.raw());
    CHECK(copy.equals(t));

    Tensor as_int = t.cast(DType::kI8);
    CHECK(tensor_to_int64s(as_int) == std::vector<int64_t>{-2, -1, 0, 0, 1, 2});  // toward zero

    Tensor big = tensor_from_vector<float>({1e10f, -1e10f, NAN}, {3});
    CHECK(tensor_to_int64s(big.cast(DType::kU8)) == std::vector<int64_t>{255, 0, 0});  // clamped, nan -> 0

    Tensor nibbles = tensor_from_vector<float>({-8, 7, -1}, {3}).cast(DType::kI4);
    CHECK(nibbles.nbytes() == 2);
    CHECK(nibbles.element_as_double(0) == -8);
    CHECK(nibbles.element_as_double(1) == 7);
    CHECK(nibbles.element_as_double(2) == -1);
}

TEST_CASE("Tensor::make refuses shapes that cannot be real") {
    CHECK(Tensor::make(DType::kF32, {-1, 3}).status().code() == ErrorCode::kInvalidInput);
    CHECK(Tensor::make(DType::kF32, {int64_t(1) << 40, int64_t(1) << 30}).status().code() == ErrorCode::kInvalidInput);
    CHECK(Tensor::make(DType::kString, {1}).status().code() == ErrorCode::kUnsupported);
    CHECK(Tensor::make(DType::kF32, {0, 5}).ok());
}
