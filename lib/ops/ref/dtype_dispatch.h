// Element types and dtype dispatch for reference kernels: one switch per run() picks a template instantiation, so
// inner loops see concrete types and no per-element indirection. f16/bf16 are stored as 16-bit wrappers and
// computed in float; every other type computes in itself (int64 never passes through double).
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "core/half.h"
#include "core/status.h"
#include "core/tensor.h"
#include "graph/node.h"

namespace pare {

/// Storage of one IEEE float16 element.
struct F16 {
    uint16_t bits;
};
/// Storage of one bfloat16 element.
struct BF16 {
    uint16_t bits;
};

template <> struct DTypeOf<F16> { static constexpr DType value = DType::kF16; };
template <> struct DTypeOf<BF16> { static constexpr DType value = DType::kBF16; };

/// The type arithmetic on T is done in: float for f16/bf16, T itself otherwise.
template <class T> struct ComputeOf { using type = T; };
template <> struct ComputeOf<F16> { using type = float; };
template <> struct ComputeOf<BF16> { using type = float; };
template <class T> using Compute = typename ComputeOf<T>::type;

/// True for f16, bf16, float and double storage types.
template <class T>
constexpr bool kIsFloat = std::is_floating_point_v<Compute<T>>;

template <class T> inline Compute<T> load(T v) { return v; }
inline float load(F16 v) { return f16_to_f32(v.bits); }
inline float load(BF16 v) { return bf16_to_f32(v.bits); }

/// Converts a value of any arithmetic type to storage type T: floats round to nearest, floats to integers
/// truncate toward zero with saturation (NaN gives 0; ONNX leaves out-of-range undefined, this keeps it defined),
/// integers to integers wrap like a C cast, anything nonzero (NaN included) to bool is true.
template <class T, class V>
inline T store(V v) {
    if constexpr (std::is_same_v<T, F16>) {
        return F16{f32_to_f16(static_cast<float>(v))};
    } else if constexpr (std::is_same_v<T, BF16>) {
        return BF16{f32_to_bf16(static_cast<float>(v))};
    } else if constexpr (std::is_same_v<T, bool>) {
        return v != V(0);
    } else if constexpr (std::is_integral_v<T> && std::is_floating_point_v<V>) {
        if (std::isnan(v)) return T(0);
        // max() as V may round up to 2^bits; everything below that bound truncates into range.
        if (v >= static_cast<V>(std::numeric_limits<T>::max())) return std::numeric_limits<T>::max();
        if (v <= static_cast<V>(std::numeric_limits<T>::lowest())) return std::numeric_limits<T>::lowest();
        return static_cast<T>(v);
    } else {
        return static_cast<T>(v);
    }
}

/// Integer add/subtract/multiply that wrap modulo 2^bits instead of overflowing (undefined for signed types);
/// plain arithmetic for floating types.
template <class C>
inline C wrapping_add(C a, C b) {
    if constexpr (std::is_integral_v<C> && !std::is_same_v<C, bool>) {
        using U = std::make_unsigned_t<C>;
        return static_cast<C>(static_cast<U>(a) + static_cast<U>(b));
    } else {
        return a + b;
    }
}
template <class C>
inline C wrapping_sub(C a, C b) {
    if constexpr (std::is_integral_v<C> && !std::is_same_v<C, bool>) {
        using U = std::make_unsigned_t<C>;
        return static_cast<C>(static_cast<U>(a) - static_cast<U>(b));
    } else {
        return a - b;
    }
}
template <class C>
inline C wrapping_mul(C a, C b) {
    if constexpr (std::is_integral_v<C> && !std::is_same_v<C, bool>) {
        // Promote to at least unsigned int: uint16 * uint16 would otherwise promote to (signed) int and overflow.
        using U = std::common_type_t<std::make_unsigned_t<C>, unsigned>;
        return static_cast<C>(static_cast<U>(a) * static_cast<U>(b));
    } else {
        return a * b;
    }
}

/// NaN test that is false for integer types.
template <class C>
inline bool is_nan(C v) {
    if constexpr (std::is_floating_point_v<C>) return std::isnan(v);
    else return false;
}

/// max and min that return NaN when either argument is NaN (numpy.maximum/minimum, ONNX's reference).
template <class C>
inline C max_propagating_nan(C a, C b) {
    return a > b || is_nan(a) ? a : b;
}
template <class C>
inline C min_propagating_nan(C a, C b) {
    return a < b || is_nan(a) ? a : b;
}

/// Tag passed to dispatch callbacks: `using T = typename decltype(tag)::type;`.
template <class T>
struct TypeTag {
    using type = T;
};

/// Which dtypes a dispatch instantiates its callback for.
enum class DTypeSet {
    kFloat,     // f16, bf16, f32, f64
    kNumeric,   // floats and every 8 to 64-bit integer
    kAll,       // numeric and bool
    kUnsigned,  // u8, u16, u32, u64
    kBool,      // bool only
};

/// True if `dtype` belongs to `set`.
inline bool dtype_in_set(DType dtype, DTypeSet set) {
    const bool is_unsigned =
        dtype == DType::kU8 || dtype == DType::kU16 || dtype == DType::kU32 || dtype == DType::kU64;
    const bool is_signed = dtype == DType::kI8 || dtype == DType::kI16 || dtype == DType::kI32 || dtype == DType::kI64;
    switch (set) {
        case DTypeSet::kFloat: return dtype_is_float(dtype);
        case DTypeSet::kNumeric: return dtype_is_float(dtype) || is_signed || is_unsigned;
        case DTypeSet::kAll: return dtype_is_float(dtype) || is_signed || is_unsigned || dtype == DType::kBool;
        case DTypeSet::kUnsigned: return is_unsigned;
        case DTypeSet::kBool: return dtype == DType::kBool;
    }
    return false;
}

/// unsupported() naming the node and the dtype unless `dtype` is in `set`.
inline Status check_dtype_in(const Node& node, DType dtype, DTypeSet set) {
    if (dtype_in_set(dtype, set)) return Status();
    return unsupported(node.describe() + " on " + dtype_name(dtype) + " tensors");
}

/// Calls fn(TypeTag<T>{}) with T the storage type of `dtype`, instantiating fn only for the dtypes in Set.
/// Returns unsupported() for any other dtype.
template <DTypeSet Set, class Fn>
Status dispatch_dtype(DType dtype, Fn&& fn) {
    constexpr bool floats = Set == DTypeSet::kFloat || Set == DTypeSet::kNumeric || Set == DTypeSet::kAll;
    constexpr bool signed_ints = Set == DTypeSet::kNumeric || Set == DTypeSet::kAll;
    constexpr bool unsigned_ints = signed_ints || Set == DTypeSet::kUnsigned;
    constexpr bool bools = Set == DTypeSet::kAll || Set == DTypeSet::kBool;
    switch (dtype) {
        case DType::kF32: if constexpr (floats) { fn(TypeTag<float>{}); return Status(); } break;
        case DType::kF64: if constexpr (floats) { fn(TypeTag<double>{}); return Status(); } break;
        case DType::kF16: if constexpr (floats) { fn(TypeTag<F16>{}); return Status(); } break;
        case DType::kBF16: if constexpr (floats) { fn(TypeTag<BF16>{}); return Status(); } break;
        case DType::kI8: if constexpr (signed_ints) { fn(TypeTag<int8_t>{}); return Status(); } break;
        case DType::kI16: if constexpr (signed_ints) { fn(TypeTag<int16_t>{}); return Status(); } break;
        case DType::kI32: if constexpr (signed_ints) { fn(TypeTag<int32_t>{}); return Status(); } break;
        case DType::kI64: if constexpr (signed_ints) { fn(TypeTag<int64_t>{}); return Status(); } break;
        case DType::kU8: if constexpr (unsigned_ints) { fn(TypeTag<uint8_t>{}); return Status(); } break;
        case DType::kU16: if constexpr (unsigned_ints) { fn(TypeTag<uint16_t>{}); return Status(); } break;
        case DType::kU32: if constexpr (unsigned_ints) { fn(TypeTag<uint32_t>{}); return Status(); } break;
        case DType::kU64: if constexpr (unsigned_ints) { fn(TypeTag<uint64_t>{}); return Status(); } break;
        case DType::kBool: if constexpr (bools) { fn(TypeTag<bool>{}); return Status(); } break;
        default: break;
    }
    return unsupported("dtype " + dtype_name(dtype) + " is not handled here");
}

}  // namespace pare
