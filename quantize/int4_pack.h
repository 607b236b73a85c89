// Packing 4-bit integers the way ONNX stores INT4/UINT4 tensors: two elements per byte, element 2i in the low
// nibble and element 2i+1 in the high nibble of byte i; an odd count leaves the last high nibble 0.
#pragma once

#include <cstdint>
#include <vector>

#include "core/status.h"
#include "core/tensor.h"

namespace pare {

/// A packed int4 (kI4, values in [-8, 7]) or uint4 (kU4, values in [0, 15]) tensor of `shape` holding `values` in
/// row-major order. invalid_input() when a value is outside the dtype's range or the count does not match `shape`.
Result<Tensor> pack_4bit(const std::vector<int8_t>& values, const Shape& shape, DType dtype);

/// The elements of a packed int4/uint4 tensor, sign-extended for int4.
Result<std::vector<int8_t>> unpack_4bit(const Tensor& packed);

}  // namespace pare
