// quantize/quant_params.h against hand-computed values: scale and zero point of asymmetric and symmetric ranges,
// ranges that do not contain 0, zero-point ties to even, empty and tiny ranges, per-channel weights.
#include <doctest/doctest.h>

#include "core/tensor.h"
#include "quantize/quant_params.h"

using namespace pare;

namespace {

float scale_of(double span, double levels) { return static_cast<float>(span / levels); }

}  // namespace

TEST_CASE("choose_quant_params asymmetric: the range spreads over every level and 0 is exact") {
    QuantParams p = choose_quant_params(Range{-1.0, 3.0}, DType::kU8, false);
    CHECK(p.scale == scale_of(4.0, 255));
    CHECK(p.zero_point == 64);  // 0 - (-1) / (4/255) = 63.75
    p = choose_quant_params(Range{-1.0, 3.0}, DType::kI8, false);
    CHECK(p.scale == scale_of(4.0, 255));
    CHECK(p.zero_point == -64);  // -128 + 63.75
    p = choose_quant_params(Range{-100.0, 155.0}, DType::kU16, false);
    CHECK(p.scale == scale_of(255.0, 65535));
    CHECK(p.zero_point == 25700);  // 100 / (255/65535) = 25700 exactly
}

TEST_CASE("choose_quant_params asymmetric: a range on one side of 0 is widened to reach it") {
    QuantParams p = choose_quant_params(Range{1.0, 5.0}, DType::kU8, false);  // [0, 5]
    CHECK(p.scale == scale_of(5.0, 255));
    CHECK(p.zero_point == 0);
    p = choose_quant_params(Range{-4.0, -1.0}, DType::kU8, false);  // [-4, 0]: 0 is the top level
    CHECK(p.scale == scale_of(4.0, 255));
    CHECK(p.zero_point == 255);
    p = choose_quant_params(Range{-4.0, -1.0}, DType::kI8, false);
    CHECK(p.zero_point == 127);
    p = choose_quant_params(Range{2.0, 2.0}, DType::kI8, false);  // a constant: [0, 2]
    CHECK(p.scale == scale_of(2.0, 255));
    CHECK(p.zero_point == -128);
}

TEST_CASE("choose_quant_params asymmetric: a zero point halfway between two levels rounds to the even one") {
    // Scale 1 exactly, so -lo / scale is exactly the half.
    CHECK(choose_quant_params(Range{-0.5, 254.5}, DType::kU8, false).zero_point == 0);
    CHECK(choose_quant_params(Range{-1.5, 253.5}, DType::kU8, false).zero_point == 2);
    CHECK(choose_quant_params(Range{-2.5, 252.5}, DType::kU8, false).zero_point == 2);
    CHECK(choose_quant_params(Range{-2.5, 252.5}, DType::kI8, false).zero_point == -126);  // -128 + 2.5
    CHECK(choose_quant_params(Range{-2.5, 252.5}, DType::kU8, false).scale == 1.0f);
}

TEST_CASE("choose_quant_params symmetric: zero point mid-type, largest magnitude on the narrower side's last level") {
    QuantParams p = choose_quant_params(Range{-3.0, 1.5}, DType::kI8, true);
    CHECK(p.scale == scale_of(3.0, 127));
    CHECK(p.zero_point == 0);
    p = choose_quant_params(Range{-1.5, 3.0}, DType::kU8, true);
    CHECK(p.scale == scale_of(3.0, 127));  // levels 1..255 around 128
    CHECK(p.zero_point == 128);
    p = choose_quant_params(Range{0.0, 2.0}, DType::kI16, true);
    CHECK(p.scale == scale_of(2.0, 32767));
    CHECK(p.zero_point == 0);
    p = choose_quant_params(Range{-1.0, 1.0}, DType::kU16, true);
    CHECK(p.scale == scale_of(1.0, 32767));
    CHECK(p.zero_point == 32768);
}

TEST_CASE("choose_quant_params: empty and tiny ranges give finite scales") {
    for (bool symmetric : {false, true}) {
        CAPTURE(symmetric);
        const QuantParams p = choose_quant_params(Range{0.0, 0.0}, DType::kI8, symmetric);
        CHECK(p.scale == 1.0f);
        CHECK(p.zero_point == 0);
        // A range so narrow that its scale would underflow to denormals keeps a floor of 1e-12.
        const QuantParams tiny = choose_quant_params(Range{-1e-30, 1e-30}, DType::kI8, symmetric);
        CHECK(tiny.scale == 1e-12f);
    }
    CHECK(choose_quant_params(Range{0.0, 0.0}, DType::kU8, true).zero_point == 128);
}

TEST_CASE("choose_weight_params: symmetric per output channel or per tensor, zero points 0") {
    const Tensor weight = tensor_from_vector<float>({0.5f, -2.0f, 1.0f, 0.0f, 0.0f, 0.0f, 3.0f, 0.25f, -0.5f}, {3, 3});
    const std::vector<QuantParams> per_channel = choose_weight_params(weight, 0, DType::kI8);
    REQUIRE(per_channel.size() == 3);
    CHECK(per_channel[0].scale == scale_of(2.0, 127));
    CHECK(per_channel[1].scale == 1.0f);  // an all-zero channel
    CHECK(per_channel[2].scale == scale_of(3.0, 127));
    for (const auto& p : per_channel) CHECK(p.zero_point == 0);
    const std::vector<QuantParams> per_column = choose_weight_params(weight, 1, DType::kI8);
    REQUIRE(per_column.size() == 3);
    CHECK(per_column[0].scale == scale_of(3.0, 127));
    CHECK(per_column[1].scale == scale_of(2.0, 127));
    CHECK(per_column[2].scale == scale_of(1.0, 127));
    const std::vector<QuantParams> per_tensor = choose_weight_params(weight, -1, DType::kI8);
    REQUIRE(per_tensor.size() == 1);
    CHECK(per_tensor[0].scale == scale_of(3.0, 127));
}
