#include "ops/quantize_math.h"

#include <algorithm>
#include <limits>
#include <vector>

namespace pare {

bool is_quantized_dtype(DType dtype) {
    switch (dtype) {
        case DType::kI8:
        case DType::kU8:
        case DType::kI16:
        case DType::kU16:
        case DType::kI4:
        case DType::kU4:
            return true;
        default:
            return false;
    }
}

QuantRange quant_range(DType dtype) {
    switch (dtype) {
        case DType::kU8:
            return {0, 255};
        case DType::kI8:
            return {-128, 127};
        case DType::kU16:
            return {0, 65535};
        case DType::kI16:
            return {-32768, 32767};
        case DType::kU4:
            return {0, 15};
        case DType::kI4:
            return {-8, 7};
        case DType::kI32:
            return {std::numeric_limits<int32_t>::min(), std::numeric_limits<int32_t>::max()};
        case DType::kU32:
            return {0, std::numeric_limits<uint32_t>::max()};
        default:
            return {0, 0};
    }
}

int64_t read_quantized(const Tensor& t, int64_t i) {
    const void* p = t.raw();
    switch (t.dtype()) {
        case DType::kU8:
            return static_cast<const uint8_t*>(p)[i];
        case DType::kI8:
            return static_cast<const int8_t*>(p)[i];
        case DType::kU16:
            return static_cast<const uint16_t*>(p)[i];
        case DType::kI16:
            return static_cast<const int16_t*>(p)[i];
        case DType::kI32:
            return static_cast<const int32_t*>(p)[i];
        case DType::kU32:
            return static_cast<const uint32_t*>(p)[i];
        case DType::kI64:
            return static_cast<const int64_t*>(p)[i];
        case DType::kU4:
            return nibble_value(get_nibble(static_cast<const uint8_t*>(p), i), false);
        case DType::kI4:
            return nibble_value(get_nibble(static_cast<const uint8_t*>(p), i), true);
        default:
            return 0;
    }
}

void write_quantized(Tensor& t, int64_t i, int64_t value) {
    void* p = t.raw();
    switch (t.dtype()) {
        case DType::kU8:
            static_cast<uint8_t*>(p)[i] = static_cast<uint8_t>(value);
            break;
        case DType::kI8:
            static_cast<int8_t*>(p)[i] = static_cast<int8_t>(value);
            break;
        case DType::kU16:
            static_cast<uint16_t*>(p)[i] = static_cast<uint16_t>(value);
            break;
        case DType::kI16:
            static_cast<int16_t*>(p)[i] = static_cast<int16_t>(value);
            break;
        case DType::kI32:
            static_cast<int32_t*>(p)[i] = static_cast<int32_t>(value);
            break;
        case DType::kU32:
            static_cast<uint32_t*>(p)[i] = static_cast<uint32_t>(value);
            break;
        case DType::kI64:
            static_cast<int64_t*>(p)[i] = value;
            break;
        case DType::kU4:
        case DType::kI4:
            set_nibble(static_cast<uint8_t*>(p), i, value);
            break;
        default:
            break;
    }
}

Result<QuantLayout> make_quant_layout(const Shape& x, const Shape& scale, int64_t axis, int64_t block_size,
                                      const std::string& what) {
    QuantLayout layout;
    const int64_t rank = static_cast<int64_t>(x.size());
    const std::string shapes = " (input " + shape_to_string(x) + ", scale " + shape_to_string(scale) + ")";
    if (block_size < 0) return invalid_input(what + ": block_size " + std::to_string(block_size) + " is negative");
    if (shape_numel(scale) == 1) {  // any one-element scale is per tensor, as in ONNX's reference
        layout.inner = shape_numel(x);
        return layout;
    }
    if (rank == 0) return invalid_input(what + ": a scalar input takes a scalar scale" + shapes);
    if (axis < -rank || axis >= rank) {
        return invalid_input(what + ": axis " + std::to_string(axis) + " is out of range" + shapes);
    }
    if (axis < 0) axis += rank;
    for (int64_t d = 0; d < axis; ++d) layout.outer *= x[d];
    layout.axis_dim = x[axis];
    for (int64_t d = axis + 1; d < rank; ++d) layout.inner *= x[d];
    if (block_size == 0) {
        if (scale.size() != 1 || scale[0] != x[axis]) {
            return invalid_input(what + ": a per-axis scale must be 1-D with x.shape[axis] elements" + shapes);
        }
        layout.kind = QuantLayout::Kind::kPerAxis;
        return layout;
    }
    layout.kind = QuantLayout::Kind::kBlocked;
    layout.block_size = block_size;
    layout.param_blocks = (x[axis] + block_size - 1) / block_size;
    bool matches = static_cast<int64_t>(scale.size()) == rank;
    for (int64_t d = 0; matches && d < rank; ++d) matches = scale[d] == (d == axis ? layout.param_blocks : x[d]);
    if (!matches) {
        return invalid_input(what + ": a blocked scale must have x's shape with ceil(x.shape[axis] / block_size) = " +
                             std::to_string(layout.param_blocks) + " along axis " + std::to_string(axis) + shapes);
    }
    return layout;
}

namespace {

// Scales as doubles and zero points as integers, one per parameter index (small: per tensor, axis or block).
std::vector<double> param_doubles(const Tensor& t) {
    std::vector<double> values(static_cast<size_t>(t.numel()));
    for (size_t i = 0; i < values.size(); ++i) values[i] = t.element_as_double(static_cast<int64_t>(i));
    return values;
}

std::vector<int64_t> param_zero_points(const Tensor& zero_point, int64_t count) {
    std::vector<int64_t> values(static_cast<size_t>(count), 0);
    if (!zero_point.defined()) return values;
    for (int64_t i = 0; i < count; ++i) values[i] = read_quantized(zero_point, i);
    return values;
}

Status check_params(const Tensor& x, const Tensor& scale, const Tensor& zero_point, const Tensor& y) {
    if (x.shape() != y.shape()) {
        return internal_error("quantization output shape " + shape_to_string(y.shape()) + " differs from input " +
                              shape_to_string(x.shape()));
    }
    if (zero_point.defined() && zero_point.shape() != scale.shape() && zero_point.numel() != scale.numel()) {
        return invalid_input("zero point shape " + shape_to_string(zero_point.shape()) + " differs from scale shape " +
                             shape_to_string(scale.shape()));
    }
    return Status();
}

}  // namespace

Status quantize_tensor(const Tensor& x, const Tensor& scale, const Tensor& zero_point, const QuantLayout& layout,
                       DType precision, Tensor& y) {
    PARE_RETURN_IF_ERROR(check_params(x, scale, zero_point, y));
    if (!is_quantized_dtype(y.dtype())) return unsupported("quantizing to " + dtype_name(y.dtype()));
    const QuantRange range = quant_range(y.dtype());
    const std::vector<double> scales = param_doubles(scale);
    const std::vector<int64_t> zero_points = param_zero_points(zero_point, scale.numel());
    const bool packed = dtype_bits(y.dtype()) == 4;  // two elements share a byte: no parallel writes
    const int64_t rows = layout.outer * layout.axis_dim;
#pragma omp parallel for if (!packed && x.numel() > 65536)
    for (int64_t row = 0; row < rows; ++row) {
        const int64_t o = row / layout.axis_dim, a = row % layout.axis_dim;
        for (int64_t i = 0; i < layout.inner; ++i) {
            const int64_t index = row * layout.inner + i;
            const int64_t p = layout.param_index(o, a, i);
            const double quotient = quantize_quotient(x.element_as_double(index), scales[p], precision);
            write_quantized(y, index, quantize_from_quotient(quotient, zero_points[p], range));
        }
    }
    return Status();
}

Status dequantize_tensor(const Tensor& x, const Tensor& scale, const Tensor& zero_point, const QuantLayout& layout,
                         Tensor& y) {
    PARE_RETURN_IF_ERROR(check_params(x, scale, zero_point, y));
    if (!dtype_is_float(y.dtype()) || y.dtype() == DType::kF64) {
        return unsupported("dequantizing to " + dtype_name(y.dtype()));
    }
    const std::vector<double> scales = param_doubles(scale);
    const std::vector<int64_t> zero_points = param_zero_points(zero_point, scale.numel());
    const DType dst_dtype = y.dtype();
    float* dst_f32 = dst_dtype == DType::kF32 ? y.data<float>() : nullptr;
    uint16_t* dst_16 = dst_dtype == DType::kF32 ? nullptr : static_cast<uint16_t*>(y.raw());
    const int64_t rows = layout.outer * layout.axis_dim;
#pragma omp parallel for if (x.numel() > 65536)
    for (int64_t row = 0; row < rows; ++row) {
        const int64_t o = row / layout.axis_dim, a = row % layout.axis_dim;
        for (int64_t i = 0; i < layout.inner; ++i) {
            const int64_t index = row * layout.inner + i;
            const int64_t p = layout.param_index(o, a, i);
            const float value =
                dequantize_value(read_quantized(x, index), static_cast<float>(scales[p]), zero_points[p]);
            if (dst_f32)
                dst_f32[index] = value;
            else
                dst_16[index] = dst_dtype == DType::kF16 ? f32_to_f16(value) : f32_to_bf16(value);
        }
    }
    return Status();
}

DynamicQuantParams dynamic_quant_params(float min_value, float max_value) {
    const float lo = std::min(min_value, 0.0f), hi = std::max(max_value, 0.0f);
    DynamicQuantParams params;
    if (hi == lo) return params;
    params.scale = (hi - lo) / 255.0f;
    const float intermediate = 0.0f - lo / params.scale;
    const float clamped = std::min(255.0f, std::max(0.0f, intermediate));
    params.zero_point = static_cast<uint8_t>(round_half_even(clamped));
    return params;
}

}  // namespace pare
