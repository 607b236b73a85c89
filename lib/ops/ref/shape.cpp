// Ops that describe their input rather than transform it: Shape and Size (which read only the input's shape, so the
// session folds them at compile time with a buffer-less input tensor) and NonZero (whose output shape depends on
// the input's values).
#include "ops/kernel_util.h"
#include "ops/register_kernels.h"
#include "ops/registry.h"

namespace pare {

namespace {

class ShapeKernel : public Kernel {
public:
    explicit ShapeKernel(const KernelContext& context) : node_(context.node), opset_(context.opset) {}

    Status prepare(const std::vector<InputInfo>& inputs, std::vector<OutputInfo>& outputs) override {
        PARE_RETURN_IF_ERROR(check_input_count(node_, inputs, 1, 1));
        const int64_t rank = static_cast<int64_t>(inputs[0].shape.size());
        // Opset 15 slices the shape with start/end, clamped like Slice.
        auto clamp = [rank](int64_t i) { return std::min(std::max(i < 0 ? i + rank : i, int64_t{0}), rank); };
        start_ = opset_ >= 15 ? clamp(node_.attr_int("start", 0)) : 0;
        end_ = opset_ >= 15 ? clamp(node_.attr_int("end", rank)) : rank;
        outputs = {OutputInfo{DType::kI64, {std::max<int64_t>(end_ - start_, 0)}}};
        return Status();
    }

    Status run(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs) override {
        int64_t* dst = outputs[0].data<int64_t>();
        for (int64_t i = start_; i < end_; ++i) dst[i - start_] = inputs[0].shape()[i];
        return Status();
    }

private:
    const Node& node_;
    int64_t opset_;
    int64_t start_ = 0, end_ = 0;
};

class SizeKernel : public Kernel {
public:
    explicit SizeKernel(const KernelContext& context) : node_(context.node) {}

    Status prepare(const std::vector<InputInfo>& inputs, std::vector<OutputInfo>& outputs) override {
        PARE_RETURN_IF_ERROR(check_input_count(node_, inputs, 1, 1));
        outputs = {OutputInfo{DType::kI64, {}}};
        return Status();
    }

    Status run(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs) override {
        *outputs[0].data<int64_t>() = shape_numel(inputs[0].shape());
        return Status();
    }

private:
    const Node& node_;
};

// Output [rank, count]: the coordinates of every non-zero element, in row-major order.
class NonZeroKernel : public Kernel {
public:
    explicit NonZeroKernel(const KernelContext& context) : node_(context.node) {}

    Status prepare(const std::vector<InputInfo>& inputs, std::vector<OutputInfo>& outputs) override {
        PARE_RETURN_IF_ERROR(check_input_count(node_, inputs, 1, 1));
        if (!dtype_is_supported(inputs[0].dtype)) {
            return unsupported(node_.describe() + " on " + dtype_name(inputs[0].dtype) + " tensors");
        }
        outputs = {OutputInfo{DType::kI64, {}, false}};
        if (!inputs[0].value) return Status();
        const Tensor& src = *inputs[0].value;
        int64_t count = 0;
        for (int64_t i = 0; i < src.numel(); ++i) count += src.element_as_double(i) != 0.0;
        outputs[0].shape = {src.rank(), count};
        outputs[0].shape_known = true;
        return Status();
    }

    Status run(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs) override {
        const Tensor& src = inputs[0];
        Tensor& dst = outputs[0];
        const int64_t rank = src.rank(), count = dst.dim(1);
        const std::vector<int64_t> strides = shape_strides(src.shape());
        int64_t* out = dst.data<int64_t>();
        int64_t found = 0;
        for (int64_t i = 0; i < src.numel() && found < count; ++i) {
            if (src.element_as_double(i) == 0.0) continue;
            for (int64_t a = 0, rest = i; a < rank; ++a) {
                out[a * count + found] = rest / strides[a];
                rest %= strides[a];
            }
            ++found;
        }
        return Status();
    }

private:
    const Node& node_;
};

}  // namespace

void register_shape_kernels(KernelRegistry& registry) {
    registry.add_reference("Shape", kernel_factory<ShapeKernel>());
    registry.add_reference("Size", kernel_factory<SizeKernel>());
    registry.add_reference("NonZero", kernel_factory<NonZeroKernel>());
}

}  // namespace pare
