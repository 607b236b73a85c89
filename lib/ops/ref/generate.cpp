// Ops that create tensors from attributes and small inputs: Constant, ConstantOfShape, Range, EyeLike, OneHot.
// Except for Constant and EyeLike, their output shape depends on an input value: without it, prepare() reports
// shape_known = false and the session prepares them again at run time.
#include <cmath>
#include <cstring>
#include <type_traits>

#include "ops/index_util.h"
#include "ops/kernel_util.h"
#include "ops/register_kernels.h"
#include "ops/registry.h"

namespace pare {

namespace {

// One element of `dtype` holding `value`, as bytes to copy.
Tensor scalar_of(DType dtype, double value) { return tensor_from_vector<double>({value}, {}).cast(dtype); }

// Fills n elements of `element_bytes` bytes each with the element at `value`.
void fill_elements(void* dst, int64_t n, const void* value, size_t element_bytes) {
    char* out = static_cast<char*>(dst);
    for (int64_t i = 0; i < n; ++i) std::memcpy(out + i * element_bytes, value, element_bytes);
}

// Constant: the value Graph::constant() decodes (value, value_float(s), value_int(s)); sparse and string values are
// declined when the kernel is created.
class ConstantKernel : public Kernel {
public:
    explicit ConstantKernel(Tensor value) : value_(std::move(value)) {}

    Status prepare(const std::vector<InputInfo>&, std::vector<OutputInfo>& outputs) override {
        outputs = {OutputInfo{value_.dtype(), value_.shape()}};
        return Status();
    }
    Status run(const std::vector<Tensor>&, std::vector<Tensor>& outputs) override {
        if (value_.nbytes()) std::memcpy(outputs[0].raw(), value_.raw(), value_.nbytes());
        return Status();
    }

private:
    Tensor value_;
};

Result<KernelPtr> make_constant(const KernelContext& context) {
    std::optional<Tensor> value = context.graph.constant(context.node.output(0));
    if (!value) {
        return unsupported(context.node.describe() + ": only tensor, value_float(s) and value_int(s) constants are "
                           "supported (not sparse or string values)");
    }
    return KernelPtr(new ConstantKernel(*value));
}

class ConstantOfShapeKernel : public Kernel {
public:
    explicit ConstantOfShapeKernel(const KernelContext& context) : node_(context.node) {
        const Tensor* value = node_.attr_tensor("value");
        value_ = value && value->defined() ? *value : scalar_of(DType::kF32, 0.0);
    }

    Status prepare(const std::vector<InputInfo>& inputs, std::vector<OutputInfo>& outputs) override {
        PARE_RETURN_IF_ERROR(check_input_count(node_, inputs, 1, 1));
        PARE_RETURN_IF_ERROR(check_input_dtype(node_, inputs, 0, {DType::kI64, DType::kI32}));
        if (value_.numel() != 1) {
            return invalid_input(node_.describe() + ": value must hold one element, not " +
                                 shape_to_string(value_.shape()));
        }
        PARE_ASSIGN_OR_RETURN(element_bytes_, movable_element_bytes(value_.dtype(), node_));
        outputs = {OutputInfo{value_.dtype(), {}, false}};
        if (!inputs[0].value) return Status();
        if (inputs[0].shape.size() != 1) {
            return invalid_input(node_.describe() + ": the shape input must be 1-D, not " +
                                 shape_to_string(inputs[0].shape));
        }
        outputs[0].shape = input_int64s(inputs[0]);
        outputs[0].shape_known = true;
        return check_output_shape(outputs[0].shape, node_);
    }
    Status run(const std::vector<Tensor>&, std::vector<Tensor>& outputs) override {
        fill_elements(outputs[0].raw(), outputs[0].numel(), value_.raw(), element_bytes_);
        return Status();
    }

private:
    const Node& node_;
    Tensor value_;
    size_t element_bytes_ = 0;
};

// Range: output[i] = start + i * delta for i < max(ceil((limit - start) / delta), 0), computed in the input type.
class RangeKernel : public Kernel {
public:
    explicit RangeKernel(const KernelContext& context) : node_(context.node) {}

    Status prepare(const std::vector<InputInfo>& inputs, std::vector<OutputInfo>& outputs) override {
        PARE_RETURN_IF_ERROR(check_input_count(node_, inputs, 3, 3));
        const DType dtype = inputs[0].dtype;
        for (int i = 0; i < 3; ++i) {
            PARE_RETURN_IF_ERROR(check_input_dtype(node_, inputs, i, {DType::kF32, DType::kF64, DType::kI16,
                                                                      DType::kI32, DType::kI64}));
            if (inputs[i].dtype != dtype || shape_numel(inputs[i].shape) != 1) {
                return invalid_input(node_.describe() + ": start, limit and delta must be scalars of one type");
            }
        }
        outputs = {OutputInfo{dtype, {}, false}};
        if (!inputs[0].value || !inputs[1].value || !inputs[2].value) return Status();
        PARE_ASSIGN_OR_RETURN(const int64_t count,
                              dispatch_count(*inputs[0].value, *inputs[1].value, *inputs[2].value));
        outputs[0].shape = {count};
        outputs[0].shape_known = true;
        return Status();
    }

    Status run(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs) override {
        switch (inputs[0].dtype()) {
            case DType::kF32: fill<float>(inputs, outputs[0]); break;
            case DType::kF64: fill<double>(inputs, outputs[0]); break;
            case DType::kI16: fill<int16_t>(inputs, outputs[0]); break;
            case DType::kI32: fill<int32_t>(inputs, outputs[0]); break;
            default: fill<int64_t>(inputs, outputs[0]); break;
        }
        return Status();
    }

private:
    Result<int64_t> dispatch_count(const Tensor& start, const Tensor& limit, const Tensor& delta) const {
        switch (start.dtype()) {
            case DType::kF32: return count<float>(start, limit, delta);
            case DType::kF64: return count<double>(start, limit, delta);
            case DType::kI16: return count<int16_t>(start, limit, delta);
            case DType::kI32: return count<int32_t>(start, limit, delta);
            default: return count<int64_t>(start, limit, delta);
        }
    }

    template <class T>
    Result<int64_t> count(const Tensor& start_t, const Tensor& limit_t, const Tensor& delta_t) const {
        const T start = *start_t.data<T>(), limit = *limit_t.data<T>(), delta = *delta_t.data<T>();
        if (delta == T(0)) return invalid_input(node_.describe() + ": delta is zero");
        double n;
        if constexpr (std::is_floating_point<T>::value) {
            n = std::ceil(static_cast<double>((limit - start) / delta));
        } else {
            // Exact integer ceil division, in 64 bits so narrow types cannot overflow.
            const int64_t span = static_cast<int64_t>(limit) - static_cast<int64_t>(start), step = delta;
            n = static_cast<double>(span / step + ((span % step != 0) && ((span > 0) == (step > 0))));
        }
        if (!(n <= 1e15)) return invalid_input(node_.describe() + ": the range has too many elements");
        const int64_t count = static_cast<int64_t>(std::max(n, 0.0));
        PARE_RETURN_IF_ERROR(check_output_shape({count}, node_));
        return count;
    }

    template <class T>
    static void fill(const std::vector<Tensor>& inputs, Tensor& dst) {
        const T start = *inputs[0].data<T>(), delta = *inputs[2].data<T>();
        T* out = dst.data<T>();
        for (int64_t i = 0; i < dst.numel(); ++i) out[i] = static_cast<T>(start + static_cast<T>(i) * delta);
    }

    const Node& node_;
};

// EyeLike: a 2-D tensor of zeros with ones on diagonal k, in the dtype attribute (default: the input's).
class EyeLikeKernel : public Kernel {
public:
    explicit EyeLikeKernel(const KernelContext& context) : node_(context.node) {}

    Status prepare(const std::vector<InputInfo>& inputs, std::vector<OutputInfo>& outputs) override {
        PARE_RETURN_IF_ERROR(check_input_count(node_, inputs, 1, 1));
        if (inputs[0].shape.size() != 2) {
            return invalid_input(node_.describe() + " needs a 2-D input, not " + shape_to_string(inputs[0].shape));
        }
        const DType dtype = node_.has_attribute("dtype")
                                ? dtype_from_onnx(static_cast<int32_t>(node_.attr_int("dtype", 0)))
                                : inputs[0].dtype;
        if (!dtype_is_supported(dtype)) return unsupported(node_.describe() + ": output dtype " + dtype_name(dtype));
        PARE_ASSIGN_OR_RETURN(element_bytes_, movable_element_bytes(dtype, node_));
        outputs = {OutputInfo{dtype, inputs[0].shape}};
        return Status();
    }

    Status run(const std::vector<Tensor>&, std::vector<Tensor>& outputs) override {
        Tensor& dst = outputs[0];
        const Tensor zero = scalar_of(dst.dtype(), 0.0), one = scalar_of(dst.dtype(), 1.0);
        fill_elements(dst.raw(), dst.numel(), zero.raw(), element_bytes_);
        const int64_t rows = dst.dim(0), cols = dst.dim(1), k = node_.attr_int("k", 0);
        char* out = static_cast<char*>(dst.raw());
        for (int64_t r = std::max<int64_t>(0, -k); r < rows && r + k < cols; ++r) {
            std::memcpy(out + (r * cols + r + k) * element_bytes_, one.raw(), element_bytes_);
        }
        return Status();
    }

private:
    const Node& node_;
    size_t element_bytes_ = 0;
};

// OneHot: indices (any numeric type, negative ones count from depth) expanded along a new axis of size depth, with
// values[1] at the index and values[0] elsewhere; indices outside [-depth, depth) give an all-off row.
class OneHotKernel : public Kernel {
public:
    explicit OneHotKernel(const KernelContext& context) : node_(context.node) {}

    Status prepare(const std::vector<InputInfo>& inputs, std::vector<OutputInfo>& outputs) override {
        PARE_RETURN_IF_ERROR(check_input_count(node_, inputs, 3, 3));
        if (shape_numel(inputs[1].shape) != 1 || shape_numel(inputs[2].shape) != 2 || inputs[2].shape.size() != 1) {
            return invalid_input(node_.describe() + ": depth must hold one value and values two, not " +
                                 shape_to_string(inputs[1].shape) + " and " + shape_to_string(inputs[2].shape));
        }
        if (!dtype_is_supported(inputs[0].dtype) || !dtype_is_supported(inputs[1].dtype)) {
            return unsupported(node_.describe() + " with " + dtype_name(inputs[0].dtype) + " indices and " +
                               dtype_name(inputs[1].dtype) + " depth");
        }
        PARE_ASSIGN_OR_RETURN(element_bytes_, movable_element_bytes(inputs[2].dtype, node_));
        const int64_t rank = static_cast<int64_t>(inputs[0].shape.size()) + 1;
        PARE_ASSIGN_OR_RETURN(axis_, normalize_axis(node_.attr_int("axis", -1), rank, node_));
        outputs = {OutputInfo{inputs[2].dtype, {}, false}};
        if (!inputs[1].value) return Status();
        const double depth = inputs[1].value->element_as_double(0);
        if (!(depth >= 1 && depth < 1e15)) {
            return invalid_input(node_.describe() + ": depth must be positive, not " + std::to_string(depth));
        }
        depth_ = static_cast<int64_t>(depth);
        outputs[0].shape = inputs[0].shape;
        outputs[0].shape.insert(outputs[0].shape.begin() + axis_, depth_);
        PARE_RETURN_IF_ERROR(check_output_shape(outputs[0].shape, node_));
        outputs[0].shape_known = true;
        return Status();
    }

    Status run(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs) override {
        const Tensor& indices = inputs[0];
        Tensor& dst = outputs[0];
        const char* values = static_cast<const char*>(inputs[2].raw());
        char* out = static_cast<char*>(dst.raw());
        fill_elements(out, dst.numel(), values, element_bytes_);
        const AxisSplit split = split_at_axis(indices.shape(), axis_);  // the depth axis goes before indices axis_
        const int64_t inner = split.len * split.inner;
        for (int64_t i = 0; i < indices.numel(); ++i) {
            int64_t index = static_cast<int64_t>(indices.element_as_double(i));
            if (index < 0) index += depth_;
            if (index < 0 || index >= depth_) continue;
            const int64_t outer = i / inner, within = i % inner;
            std::memcpy(out + ((outer * depth_ + index) * inner + within) * element_bytes_, values + element_bytes_,
                        element_bytes_);
        }
        return Status();
    }

private:
    const Node& node_;
    size_t element_bytes_ = 0;
    int64_t axis_ = 0, depth_ = 0;
};

}  // namespace

void register_generator_kernels(KernelRegistry& registry) {
    registry.add_reference("Constant", make_constant);
    registry.add_reference("ConstantOfShape", kernel_factory<ConstantOfShapeKernel>());
    registry.add_reference("Range", kernel_factory<RangeKernel>());
    registry.add_reference("EyeLike", kernel_factory<EyeLikeKernel>());
    registry.add_reference("OneHot", kernel_factory<OneHotKernel>());
}

}  // namespace pare
