// Tensor: one plain tensor type for every dtype and device.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/status.h"

namespace pare {

using Shape = std::vector<int64_t>;

/// Number of elements of a shape (1 for a scalar); -1 if a dimension is negative or the count overflows.
int64_t shape_numel(const Shape& shape);
/// "1x3x224x224" ("scalar" for rank 0).
std::string shape_to_string(const Shape& shape);
/// Row-major strides in elements.
std::vector<int64_t> shape_strides(const Shape& shape);

enum class DeviceKind { kCpu, kCuda };

struct Device {
    DeviceKind kind = DeviceKind::kCpu;
    int index = 0;
    bool operator==(const Device& other) const { return kind == other.kind && index == other.index; }
    bool operator!=(const Device& other) const { return !(*this == other); }
};

/// An owned, 64-byte aligned allocation on one device.
class Buffer {
public:
    /// Zero-filled CPU allocation of `bytes` bytes.
    static std::shared_ptr<Buffer> allocate_cpu(size_t bytes);
    ~Buffer();
    Buffer(const Buffer&) = delete;
    Buffer& operator=(const Buffer&) = delete;

    void* data() { return data_; }
    const void* data() const { return data_; }
    size_t bytes() const { return bytes_; }
    Device device() const { return device_; }

private:
    Buffer(void* data, size_t bytes, Device device) : data_(data), bytes_(bytes), device_(device) {}
    void* data_;
    size_t bytes_;
    Device device_;
};

/// A dtype, a shape and a view into a shared buffer. Copies share the buffer; `clone()` copies data.
class Tensor {
public:
    Tensor() = default;
    /// A zero-filled CPU tensor.
    Tensor(DType dtype, Shape shape);
    /// A view of `buffer` starting at `offset` bytes.
    Tensor(DType dtype, Shape shape, std::shared_ptr<Buffer> buffer, size_t offset);

    /// Checks the byte count before allocating, so corrupt shapes fail cleanly instead of exhausting memory.
    static Result<Tensor> make(DType dtype, Shape shape);

    bool defined() const { return dtype_ != DType::kUndefined; }
    DType dtype() const { return dtype_; }
    const Shape& shape() const { return shape_; }
    int64_t rank() const { return static_cast<int64_t>(shape_.size()); }
    int64_t dim(int64_t axis) const { return shape_[axis < 0 ? axis + rank() : axis]; }
    int64_t numel() const { return shape_numel(shape_); }
    size_t nbytes() const { return dtype_storage_bytes(dtype_, numel()); }
    Device device() const { return buffer_ ? buffer_->device() : Device{}; }
    const std::shared_ptr<Buffer>& buffer() const { return buffer_; }
    size_t offset() const { return offset_; }

    void* raw() { return buffer_ ? static_cast<char*>(buffer_->data()) + offset_ : nullptr; }
    const void* raw() const { return buffer_ ? static_cast<const char*>(buffer_->data()) + offset_ : nullptr; }

    /// Typed element pointer; aborts on a dtype mismatch (a programming error, not an input error).
    template <class T>
    T* data() {
        check_dtype(DTypeOf<T>::value);
        return static_cast<T*>(raw());
    }
    template <class T>
    const T* data() const {
        check_dtype(DTypeOf<T>::value);
        return static_cast<const T*>(raw());
    }

    /// Same buffer, new shape with the same element count.
    Tensor reshaped(Shape shape) const;
    /// A deep copy on the CPU.
    Tensor clone() const;
    /// Element i converted to double (any numeric dtype, 4-bit included).
    double element_as_double(int64_t index) const;
    /// Copy with every element converted to `dtype` (saturation is not applied; floats truncate toward zero).
    Tensor cast(DType dtype) const;
    /// Byte-wise equality of dtype, shape and contents.
    bool equals(const Tensor& other) const;

private:
    void check_dtype(DType wanted) const;

    DType dtype_ = DType::kUndefined;
    Shape shape_;
    std::shared_ptr<Buffer> buffer_;
    size_t offset_ = 0;
};

/// Scalar tensors and small vectors, mostly for tests and graph rewriting.
template <class T>
Tensor tensor_from_vector(const std::vector<T>& values, Shape shape) {
    Tensor t(DTypeOf<T>::value, std::move(shape));
    T* dst = t.data<T>();
    for (size_t i = 0; i < values.size(); ++i) dst[i] = values[i];
    return t;
}

/// Elements of a numeric tensor as int64 (shape tensors, axes, pads).
std::vector<int64_t> tensor_to_int64s(const Tensor& t);
/// Elements of a numeric tensor as float.
std::vector<float> tensor_to_floats(const Tensor& t);

}  // namespace pare
