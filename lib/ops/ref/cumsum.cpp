// CumSum along the axis given by input 1 (a scalar int32 or int64, read at run time since the output shape does
// not depend on it), with the exclusive and reverse attributes. Running sums are double for floating types and
// wrap in the element type for integers.
#include "ops/kernel_util.h"
#include "ops/ref/dtype_dispatch.h"
#include "ops/ref/reduce_axes.h"
#include "ops/register_kernels.h"
#include "ops/registry.h"

namespace pare {

namespace {

class CumSumKernel : public Kernel {
public:
    explicit CumSumKernel(const Node& node)
        : node_(node), exclusive_(node.attr_int("exclusive", 0) != 0), reverse_(node.attr_int("reverse", 0) != 0) {}

    Status prepare(const std::vector<InputInfo>& inputs, std::vector<OutputInfo>& outputs) override {
        PARE_RETURN_IF_ERROR(check_input_count(node_, inputs, 2, 2));
        const DType dtype = inputs[0].dtype;
        PARE_RETURN_IF_ERROR(check_dtype_in(node_, dtype, DTypeSet::kNumeric));
        PARE_RETURN_IF_ERROR(check_input_dtype(node_, inputs, 1, {DType::kI32, DType::kI64}));
        if (shape_numel(inputs[1].shape) != 1) {
            return invalid_input(node_.describe() + ": axis must hold one value, not shape " +
                                 shape_to_string(inputs[1].shape));
        }
        if (inputs[1].value) PARE_RETURN_IF_ERROR(axis_of(*inputs[1].value, inputs[0].shape).status());
        outputs = {OutputInfo{dtype, inputs[0].shape}};
        return Status();
    }

    Status run(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs) override {
        const Tensor& src = inputs[0];
        Tensor& dst = outputs[0];
        PARE_ASSIGN_OR_RETURN(const int64_t axis, axis_of(inputs[1], src.shape()));
        const AxisSplit split = split_at_axis(src.shape(), axis);
        return dispatch_dtype<DTypeSet::kNumeric>(src.dtype(), [&](auto tag) {
            using T = typename decltype(tag)::type;
            using A = std::conditional_t<kIsFloat<T>, double, T>;
            const T* s = src.data<T>();
            T* d = dst.data<T>();
            for (int64_t o = 0; o < split.outer; ++o) {
                for (int64_t i = 0; i < split.inner; ++i) {
                    const int64_t base = o * split.len * split.inner + i;
                    A sum = 0;
                    for (int64_t step = 0; step < split.len; ++step) {
                        const int64_t j = base + (reverse_ ? split.len - 1 - step : step) * split.inner;
                        const A v = static_cast<A>(load(s[j]));
                        if (!exclusive_) sum = wrapping_add(sum, v);
                        d[j] = store<T>(sum);
                        if (exclusive_) sum = wrapping_add(sum, v);
                    }
                }
            }
        });
    }

private:
    Result<int64_t> axis_of(const Tensor& axis, const Shape& shape) const {
        return normalize_axis(tensor_to_int64s(axis)[0], static_cast<int64_t>(shape.size()), node_);
    }

    const Node& node_;
    bool exclusive_;
    bool reverse_;
};

}  // namespace

void register_cumsum_kernels(KernelRegistry& registry) {
    registry.add_reference("CumSum", [](const KernelContext& context) -> Result<KernelPtr> {
        return KernelPtr(new CumSumKernel(context.node));
    });
}

}  // namespace pare
