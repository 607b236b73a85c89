#include "core/tensor.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>

#include "core/half.h"

namespace pare {

int64_t shape_numel(const Shape& shape) {
    int64_t n = 1;
    for (int64_t d : shape) {
        if (d < 0) return -1;
        if (d != 0 && n > std::numeric_limits<int64_t>::max() / d) return -1;
        n *= d;
    }
    return n;
}

std::string shape_to_string(const Shape& shape) {
    if (shape.empty()) return "scalar";
    std::string s;
    for (size_t i = 0; i < shape.size(); ++i) {
        if (i) s += 'x';
        s += shape[i] < 0 ? std::string("?") : std::to_string(shape[i]);
    }
    return s;
}

std::vector<int64_t> shape_strides(const Shape& shape) {
    std::vector<int64_t> strides(shape.size(), 1);
    for (int64_t i = static_cast<int64_t>(shape.size()) - 2; i >= 0; --i) strides[i] = strides[i + 1] * shape[i + 1];
    return strides;
}

std::shared_ptr<Buffer> Buffer::allocate_cpu(size_t bytes) {
    // Round up so aligned_alloc's size rule holds, and keep a zero-size tensor's pointer valid.
    const size_t rounded = (bytes + 63) / 64 * 64 + 64;
    void* data = std::aligned_alloc(64, rounded);
    if (!data) {
        std::fprintf(stderr, "pare: out of memory allocating %zu bytes\n", bytes);
        std::abort();
    }
    std::memset(data, 0, rounded);
    return std::shared_ptr<Buffer>(new Buffer(data, bytes, Device{}));
}

Buffer::~Buffer() {
    if (device_.kind == DeviceKind::kCpu) std::free(data_);
}

Tensor::Tensor(DType dtype, Shape shape) : dtype_(dtype), shape_(std::move(shape)) {
    buffer_ = Buffer::allocate_cpu(nbytes());
}

Tensor::Tensor(DType dtype, Shape shape, std::shared_ptr<Buffer> buffer, size_t offset)
    : dtype_(dtype), shape_(std::move(shape)), buffer_(std::move(buffer)), offset_(offset) {}

Result<Tensor> Tensor::make(DType dtype, Shape shape) {
    if (!dtype_is_supported(dtype)) return unsupported("tensor dtype " + dtype_name(dtype) + " is not supported");
    const int64_t n = shape_numel(shape);
    // 1 TiB is far beyond any model this machine class can hold: treat it as corruption.
    constexpr int64_t kMaxBytes = int64_t(1) << 40;
    if (n < 0 || n > kMaxBytes / 8) return invalid_input("tensor shape " + shape_to_string(shape) + " is not valid");
    return Tensor(dtype, std::move(shape));
}

void Tensor::check_dtype(DType wanted) const {
    if (wanted != dtype_) {
        std::fprintf(stderr, "pare: internal error: tensor of dtype %s accessed as %s\n", dtype_name(dtype_).c_str(),
                     dtype_name(wanted).c_str());
        std::abort();
    }
}

Tensor Tensor::reshaped(Shape shape) const {
    Tensor t = *this;
    t.shape_ = std::move(shape);
    return t;
}

Tensor Tensor::clone() const {
    Tensor t(dtype_, shape_);
    if (nbytes()) std::memcpy(t.raw(), raw(), nbytes());
    return t;
}

double Tensor::element_as_double(int64_t i) const {
    const void* p = raw();
    switch (dtype_) {
        case DType::kF32: return static_cast<const float*>(p)[i];
        case DType::kF64: return static_cast<const double*>(p)[i];
        case DType::kF16: return f16_to_f32(static_cast<const uint16_t*>(p)[i]);
        case DType::kBF16: return bf16_to_f32(static_cast<const uint16_t*>(p)[i]);
        case DType::kI8: return static_cast<const int8_t*>(p)[i];
        case DType::kU8: return static_cast<const uint8_t*>(p)[i];
        case DType::kI16: return static_cast<const int16_t*>(p)[i];
        case DType::kU16: return static_cast<const uint16_t*>(p)[i];
        case DType::kI32: return static_cast<const int32_t*>(p)[i];
        case DType::kU32: return static_cast<const uint32_t*>(p)[i];
        case DType::kI64: return static_cast<double>(static_cast<const int64_t*>(p)[i]);
        case DType::kU64: return static_cast<double>(static_cast<const uint64_t*>(p)[i]);
        case DType::kBool: return static_cast<const uint8_t*>(p)[i] ? 1.0 : 0.0;
        case DType::kU4: case DType::kI4: {
            const uint8_t byte = static_cast<const uint8_t*>(p)[i / 2];
            const int nibble = (i % 2) ? (byte >> 4) : (byte & 0xf);
            return dtype_ == DType::kI4 && nibble >= 8 ? nibble - 16 : nibble;
        }
        default: return 0.0;
    }
}

namespace {

// Converts toward zero and clamps to T's range; NaN becomes 0. Keeps out-of-range casts defined behaviour.
template <class T>
T clamp_cast(double v) {
    if (v != v) return T(0);
    const double lo = static_cast<double>(std::numeric_limits<T>::lowest());
    const double hi = static_cast<double>(std::numeric_limits<T>::max());
    if (v <= lo) return std::numeric_limits<T>::lowest();
    if (v >= hi) return std::numeric_limits<T>::max();
    return static_cast<T>(v);
}

// Stores a double into element i of a tensor of any numeric dtype.
void store_element(Tensor& t, int64_t i, double v) {
    void* p = t.raw();
    switch (t.dtype()) {
        case DType::kF32: static_cast<float*>(p)[i] = static_cast<float>(v); break;
        case DType::kF64: static_cast<double*>(p)[i] = v; break;
        case DType::kF16: static_cast<uint16_t*>(p)[i] = f32_to_f16(static_cast<float>(v)); break;
        case DType::kBF16: static_cast<uint16_t*>(p)[i] = f32_to_bf16(static_cast<float>(v)); break;
        case DType::kI8: static_cast<int8_t*>(p)[i] = clamp_cast<int8_t>(v); break;
        case DType::kU8: static_cast<uint8_t*>(p)[i] = clamp_cast<uint8_t>(v); break;
        case DType::kI16: static_cast<int16_t*>(p)[i] = clamp_cast<int16_t>(v); break;
        case DType::kU16: static_cast<uint16_t*>(p)[i] = clamp_cast<uint16_t>(v); break;
        case DType::kI32: static_cast<int32_t*>(p)[i] = clamp_cast<int32_t>(v); break;
        case DType::kU32: static_cast<uint32_t*>(p)[i] = clamp_cast<uint32_t>(v); break;
        case DType::kI64: static_cast<int64_t*>(p)[i] = clamp_cast<int64_t>(v); break;
        case DType::kU64: static_cast<uint64_t*>(p)[i] = clamp_cast<uint64_t>(v); break;
        case DType::kBool: static_cast<uint8_t*>(p)[i] = v != 0.0; break;
        case DType::kU4: case DType::kI4: {
            uint8_t& byte = static_cast<uint8_t*>(p)[i / 2];
            const uint8_t nibble = static_cast<uint8_t>(clamp_cast<int8_t>(v) & 0xf);
            byte = (i % 2) ? static_cast<uint8_t>((byte & 0x0f) | (nibble << 4)) : static_cast<uint8_t>((byte & 0xf0) | nibble);
            break;
        }
        default: break;
    }
}

}  // namespace

Tensor Tensor::cast(DType dtype) const {
    Tensor out(dtype, shape_);
    const int64_t n = numel();
    // int64 through double would lose precision above 2^53; copy those exactly.
    if (dtype_ == DType::kI64 && dtype == DType::kI64) {
        std::memcpy(out.raw(), raw(), nbytes());
        return out;
    }
    for (int64_t i = 0; i < n; ++i) store_element(out, i, element_as_double(i));
    return out;
}

bool Tensor::equals(const Tensor& other) const {
    if (dtype_ != other.dtype_ || shape_ != other.shape_) return false;
    return nbytes() == 0 || std::memcmp(raw(), other.raw(), nbytes()) == 0;
}

std::vector<int64_t> tensor_to_int64s(const Tensor& t) {
    std::vector<int64_t> values(static_cast<size_t>(t.numel()));
    if (t.dtype() == DType::kI64) {
        if (!values.empty()) std::memcpy(values.data(), t.raw(), values.size() * sizeof(int64_t));  // data() may be null
        return values;
    }
    for (size_t i = 0; i < values.size(); ++i) values[i] = static_cast<int64_t>(t.element_as_double(i));
    return values;
}

std::vector<float> tensor_to_floats(const Tensor& t) {
    std::vector<float> values(static_cast<size_t>(t.numel()));
    for (size_t i = 0; i < values.size(); ++i) values[i] = static_cast<float>(t.element_as_double(i));
    return values;
}

}  // namespace pare
