// Element types. Values equal ONNX TensorProto.DataType so conversion is a cast.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace pare {

enum class DType : int32_t {
    kUndefined = 0,
    kF32 = 1,
    kU8 = 2,
    kI8 = 3,
    kU16 = 4,
    kI16 = 5,
    kI32 = 6,
    kI64 = 7,
    kString = 8,
    kBool = 9,
    kF16 = 10,
    kF64 = 11,
    kU32 = 12,
    kU64 = 13,
    kBF16 = 16,
    kU4 = 21,
    kI4 = 22,
};

/// True for the dtypes a Tensor can hold (everything above except string and undefined).
bool dtype_is_supported(DType dtype);
/// True for f16, bf16, f32, f64.
bool dtype_is_float(DType dtype);
/// True for every signed or unsigned integer type, 4-bit included.
bool dtype_is_integer(DType dtype);
/// Bits per element (4 for packed 4-bit types, 8 for bool).
int dtype_bits(DType dtype);
/// Bytes needed for `count` elements; 4-bit types pack two per byte, rounding up.
size_t dtype_storage_bytes(DType dtype, int64_t count);
/// Lower-case short name: "f32", "i4", "bool"... ("?<n>" for values outside the enum).
std::string dtype_name(DType dtype);
/// ONNX spelling: "float", "int8", "float16"...
std::string dtype_onnx_name(DType dtype);
/// Interprets an ONNX data_type value; values outside the enum map to kUndefined.
DType dtype_from_onnx(int32_t onnx_type);

/// Maps C++ element types to DType, for checked element access.
template <class T>
struct DTypeOf;
template <> struct DTypeOf<float> { static constexpr DType value = DType::kF32; };
template <> struct DTypeOf<double> { static constexpr DType value = DType::kF64; };
template <> struct DTypeOf<int8_t> { static constexpr DType value = DType::kI8; };
template <> struct DTypeOf<uint8_t> { static constexpr DType value = DType::kU8; };
template <> struct DTypeOf<int16_t> { static constexpr DType value = DType::kI16; };
template <> struct DTypeOf<uint16_t> { static constexpr DType value = DType::kU16; };
template <> struct DTypeOf<int32_t> { static constexpr DType value = DType::kI32; };
template <> struct DTypeOf<uint32_t> { static constexpr DType value = DType::kU32; };
template <> struct DTypeOf<int64_t> { static constexpr DType value = DType::kI64; };
template <> struct DTypeOf<uint64_t> { static constexpr DType value = DType::kU64; };
template <> struct DTypeOf<bool> { static constexpr DType value = DType::kBool; };

}  // namespace pare
