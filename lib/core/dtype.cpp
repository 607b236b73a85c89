#include "core/dtype.h"

namespace pare {

bool dtype_is_supported(DType dtype) { return dtype_bits(dtype) > 0; }

bool dtype_is_float(DType dtype) {
    return dtype == DType::kF32 || dtype == DType::kF16 || dtype == DType::kBF16 || dtype == DType::kF64;
}

bool dtype_is_integer(DType dtype) {
    switch (dtype) {
        case DType::kU8: case DType::kI8: case DType::kU16: case DType::kI16: case DType::kI32:
        case DType::kU32: case DType::kI64: case DType::kU64: case DType::kU4: case DType::kI4:
            return true;
        default:
            return false;
    }
}

int dtype_bits(DType dtype) {
    switch (dtype) {
        case DType::kU4: case DType::kI4: return 4;
        case DType::kU8: case DType::kI8: case DType::kBool: return 8;
        case DType::kU16: case DType::kI16: case DType::kF16: case DType::kBF16: return 16;
        case DType::kF32: case DType::kI32: case DType::kU32: return 32;
        case DType::kF64: case DType::kI64: case DType::kU64: return 64;
        default: return 0;
    }
}

size_t dtype_storage_bytes(DType dtype, int64_t count) {
    return (static_cast<size_t>(count) * static_cast<size_t>(dtype_bits(dtype)) + 7) / 8;
}

std::string dtype_name(DType dtype) {
    switch (dtype) {
        case DType::kF32: return "f32";
        case DType::kU8: return "u8";
        case DType::kI8: return "i8";
        case DType::kU16: return "u16";
        case DType::kI16: return "i16";
        case DType::kI32: return "i32";
        case DType::kI64: return "i64";
        case DType::kString: return "string";
        case DType::kBool: return "bool";
        case DType::kF16: return "f16";
        case DType::kF64: return "f64";
        case DType::kU32: return "u32";
        case DType::kU64: return "u64";
        case DType::kBF16: return "bf16";
        case DType::kU4: return "u4";
        case DType::kI4: return "i4";
        case DType::kUndefined: return "undefined";
    }
    return "?" + std::to_string(static_cast<int32_t>(dtype));
}

std::string dtype_onnx_name(DType dtype) {
    switch (dtype) {
        case DType::kF32: return "float";
        case DType::kU8: return "uint8";
        case DType::kI8: return "int8";
        case DType::kU16: return "uint16";
        case DType::kI16: return "int16";
        case DType::kI32: return "int32";
        case DType::kI64: return "int64";
        case DType::kString: return "string";
        case DType::kBool: return "bool";
        case DType::kF16: return "float16";
        case DType::kF64: return "double";
        case DType::kU32: return "uint32";
        case DType::kU64: return "uint64";
        case DType::kBF16: return "bfloat16";
        case DType::kU4: return "uint4";
        case DType::kI4: return "int4";
        case DType::kUndefined: return "undefined";
    }
    return "type" + std::to_string(static_cast<int32_t>(dtype));
}

DType dtype_from_onnx(int32_t onnx_type) {
    switch (onnx_type) {
        case 1: case 2: case 3: case 4: case 5: case 6: case 7: case 8: case 9: case 10:
        case 11: case 12: case 13: case 16: case 21: case 22:
            return static_cast<DType>(onnx_type);
        default:
            return DType::kUndefined;
    }
}

}  // namespace pare
