// Exact arithmetic of ONNX linear quantization, shared by the quantization kernels (lib/ops/ref), the weight
// quantizers (quantize/) and the range methods (calibration/), so every place rounds and saturates the same way.
//
//   quantize:   q = saturate(round_half_even(x / scale) + zero_point)
//   dequantize: x = (q - zero_point) * scale
//
// 4-bit tensors hold two elements per byte, element 2i in the low nibble and 2i+1 in the high nibble, as Tensor
// stores them.
#pragma once

#include <cmath>
#include <cstdint>

#include "core/half.h"
#include "core/status.h"
#include "core/tensor.h"

namespace pare {

/// Rounds to the nearest integer, ties to even, whatever the floating-point environment's rounding mode.
/// Infinities and NaN come back unchanged.
inline double round_half_even(double v) {
    if (!std::isfinite(v)) return v;
    const double floor_v = std::floor(v);
    const double diff = v - floor_v;  // exact: v and floor(v) share an exponent range
    if (diff > 0.5) return floor_v + 1.0;
    if (diff < 0.5) return floor_v;
    return std::fmod(floor_v, 2.0) == 0.0 ? floor_v : floor_v + 1.0;
}

/// Inclusive value range of an integer quantized type.
struct QuantRange {
    int64_t lo = 0;
    int64_t hi = 0;
};

/// True for the integer types ONNX quantizes to: int8, uint8, int16, uint16, int4, uint4.
bool is_quantized_dtype(DType dtype);
/// Range of an integer dtype: [0, 255] for uint8, [-8, 7] for int4, [-2^31, 2^31 - 1] for int32...
QuantRange quant_range(DType dtype);

/// Clamps to the range. NaN maps to 0 clamped (a NaN input has no meaningful quantized value; this keeps the
/// result defined and deterministic).
inline int64_t saturate(double v, QuantRange range) {
    if (std::isnan(v)) v = 0.0;
    if (v <= static_cast<double>(range.lo)) return range.lo;
    if (v >= static_cast<double>(range.hi)) return range.hi;
    return static_cast<int64_t>(v);
}

/// x / scale the way ONNX defines it: both operands and the quotient rounded to `precision` (f32, f16 or bf16;
/// f64 computes in double, as numpy does for integer scales).
inline double quantize_quotient(double x, double scale, DType precision) {
    switch (precision) {
        case DType::kF32:
            return static_cast<float>(x) / static_cast<float>(scale);
        case DType::kF16: {
            // A float quotient of two halves rounds to the correctly rounded half: 24 >= 2 * 11 + 2 bits.
            const float q =
                f16_to_f32(f32_to_f16(static_cast<float>(x))) / f16_to_f32(f32_to_f16(static_cast<float>(scale)));
            return f16_to_f32(f32_to_f16(q));
        }
        case DType::kBF16: {
            const float q =
                bf16_to_f32(f32_to_bf16(static_cast<float>(x))) / bf16_to_f32(f32_to_bf16(static_cast<float>(scale)));
            return bf16_to_f32(f32_to_bf16(q));
        }
        default:
            return x / scale;
    }
}

/// saturate(round_half_even(quotient) + zero_point), where quotient = x / scale. NaN quantizes to the zero point.
inline int64_t quantize_from_quotient(double quotient, int64_t zero_point, QuantRange range) {
    if (std::isnan(quotient)) quotient = 0.0;
    return saturate(round_half_even(quotient) + static_cast<double>(zero_point), range);
}

/// One float32 value quantized with a float32 scale (the common case of every quantizer).
inline int64_t quantize_value(float x, float scale, int64_t zero_point, QuantRange range) {
    return quantize_from_quotient(x / scale, zero_point, range);
}

/// (q - zero_point) * scale: the difference is exact, the product is a float32 multiply as ONNX's reference does.
inline float dequantize_value(int64_t q, float scale, int64_t zero_point) {
    return static_cast<float>(q - zero_point) * scale;
}

/// Multiplier from an integer accumulator (in units of a_scale * b_scale) to units of y_scale, in float32 as ONNX's
/// reference computes it for QLinearConv and QLinearMatMul.
inline float requantize_multiplier(float a_scale, float b_scale, float y_scale) {
    return a_scale * b_scale / y_scale;
}

/// saturate(round_half_even(acc * multiplier) + zero_point). The product is taken in double, which is exact for
/// |acc| < 2^29, as in ONNX's reference.
inline int64_t requantize(int64_t acc, float multiplier, int64_t zero_point, QuantRange range) {
    return quantize_from_quotient(static_cast<double>(acc) * static_cast<double>(multiplier), zero_point, range);
}

/// An integer accumulator wrapped to 32 bits (two's complement): the ONNX integer ops let accumulation overflow
/// only in 32 bits.
inline int32_t wrap_int32(int64_t acc) {
    return static_cast<int32_t>(static_cast<uint32_t>(acc));
}

/// Element i of a packed 4-bit buffer as its raw nibble (0..15).
inline uint8_t get_nibble(const uint8_t* packed, int64_t i) {
    const uint8_t byte = packed[i / 2];
    return static_cast<uint8_t>(i % 2 ? byte >> 4 : byte & 0x0f);
}

/// Sets element i of a packed 4-bit buffer to the low 4 bits of `value`, keeping the other nibble of its byte.
inline void set_nibble(uint8_t* packed, int64_t i, int64_t value) {
    const uint8_t nibble = static_cast<uint8_t>(value & 0x0f);
    uint8_t& byte = packed[i / 2];
    byte = i % 2 ? static_cast<uint8_t>((byte & 0x0f) | (nibble << 4)) : static_cast<uint8_t>((byte & 0xf0) | nibble);
}

/// A nibble read as int4 (sign-extended) or uint4.
inline int64_t nibble_value(uint8_t nibble, bool is_signed) {
    return is_signed && nibble >= 8 ? static_cast<int64_t>(nibble) - 16 : static_cast<int64_t>(nibble);
}

/// Element i of an integer tensor (8, 16, 32-bit or packed 4-bit) as int64.
int64_t read_quantized(const Tensor& t, int64_t i);
/// Stores `value` (already within the dtype's range) into element i of an integer tensor.
void write_quantized(Tensor& t, int64_t i, int64_t value);

/// How the elements of x find their scale and zero point. x is viewed as [outer, axis_dim, inner] around the
/// quantization axis ([1, 1, numel] per tensor); the parameters are a single value (per tensor), one per index along
/// the axis (per axis), or a tensor of x's rank whose axis dimension is ceil(axis_dim / block_size) (blocked).
struct QuantLayout {
    enum class Kind { kPerTensor, kPerAxis, kBlocked };
    Kind kind = Kind::kPerTensor;
    int64_t outer = 1;
    int64_t axis_dim = 1;
    int64_t inner = 1;
    int64_t block_size = 0;    // blocked only
    int64_t param_blocks = 1;  // blocked only: ceil(axis_dim / block_size)

    /// Index into the scale / zero-point tensor of element (o, a, i) of x viewed as [outer, axis_dim, inner].
    int64_t param_index(int64_t o, int64_t a, int64_t i) const {
        switch (kind) {
            case Kind::kPerTensor:
                return 0;
            case Kind::kPerAxis:
                return a;
            case Kind::kBlocked:
                return (o * param_blocks + a / block_size) * inner + i;
        }
        return 0;
    }
};

/// Checks a scale shape against x's shape the way ONNX QuantizeLinear/DequantizeLinear do and returns the layout:
/// a one-element scale is per tensor; with block_size 0 a 1-D scale of length x.shape[axis] is per axis; with
/// block_size > 0 the scale has x's rank, ceil(x.shape[axis] / block_size) along axis and x's dims elsewhere.
/// `axis` may be negative. Fails with kInvalidInput naming `what` (the node) and the shapes.
Result<QuantLayout> make_quant_layout(const Shape& x, const Shape& scale, int64_t axis, int64_t block_size,
                                      const std::string& what);

/// y = saturate(round_half_even(x / scale) + zero_point) element-wise. x is f32, f16, bf16 or int32; scale is f32,
/// f16, bf16 or int32; zero_point is undefined (0) or has y's dtype and the scale's shape; y (allocated, x's shape)
/// is int8, uint8, int16, uint16, int4 or uint4. The division runs in `precision` (see quantize_quotient).
Status quantize_tensor(const Tensor& x, const Tensor& scale, const Tensor& zero_point, const QuantLayout& layout,
                       DType precision, Tensor& y);

/// y = (x - zero_point) * scale element-wise. x is int8, uint8, int16, uint16, int32, int4 or uint4; zero_point is
/// undefined (0) or has x's dtype and the scale's shape; y (allocated, x's shape) is f32, f16 or bf16. The product
/// is computed in float32 and rounded to y's dtype.
Status dequantize_tensor(const Tensor& x, const Tensor& scale, const Tensor& zero_point, const QuantLayout& layout,
                         Tensor& y);

/// Scale and zero point of ONNX DynamicQuantizeLinear (uint8) for a data range [min_value, max_value].
struct DynamicQuantParams {
    float scale = 1.0f;
    uint8_t zero_point = 0;
};

/// The range is first widened to include 0; scale = (max - min) / 255 and zero_point = round_half_even(saturate(
/// 0 - min / scale)), all in float32. A range of width 0 (all-zero data) has no scale in the formula; it gets scale 1
/// and zero point 0, as ONNX Runtime does, so every value quantizes to 0 and dequantizes back exactly.
DynamicQuantParams dynamic_quant_params(float min_value, float max_value);

}  // namespace pare
