#include "quantize/int4_pack.h"

#include <string>

#include "ops/quantize_math.h"

namespace pare {

Result<Tensor> pack_4bit(const std::vector<int8_t>& values, const Shape& shape, DType dtype) {
    if (dtype != DType::kI4 && dtype != DType::kU4)
        return invalid_input("pack_4bit: " + dtype_name(dtype) + " is not 4-bit");
    if (shape_numel(shape) != static_cast<int64_t>(values.size())) {
        return invalid_input("pack_4bit: " + std::to_string(values.size()) + " values for shape " +
                             shape_to_string(shape));
    }
    const QuantRange range = quant_range(dtype);
    Tensor packed(dtype, shape);  // zero-filled: the unused high nibble of an odd count stays 0
    auto* dst = static_cast<uint8_t*>(packed.raw());
    for (size_t i = 0; i < values.size(); ++i) {
        if (values[i] < range.lo || values[i] > range.hi) {
            return invalid_input("pack_4bit: value " + std::to_string(values[i]) + " at " + std::to_string(i) +
                                 " is outside " + dtype_name(dtype));
        }
        set_nibble(dst, static_cast<int64_t>(i), values[i]);
    }
    return packed;
}

Result<std::vector<int8_t>> unpack_4bit(const Tensor& packed) {
    if (packed.dtype() != DType::kI4 && packed.dtype() != DType::kU4) {
        return invalid_input("unpack_4bit: " + dtype_name(packed.dtype()) + " is not 4-bit");
    }
    const auto* src = static_cast<const uint8_t*>(packed.raw());
    std::vector<int8_t> values(static_cast<size_t>(packed.numel()));
    for (int64_t i = 0; i < packed.numel(); ++i) {
        values[i] = static_cast<int8_t>(nibble_value(get_nibble(src, i), packed.dtype() == DType::kI4));
    }
    return values;
}

}  // namespace pare
