// Clip: bounds are float attributes before opset 11 and optional scalar inputs of the data's dtype from opset 11
// (integer types from opset 12). A missing bound does not clip. When min > max every element becomes max, as the
// spec says; NaN passes through.
#include <limits>

#include "ops/kernel_util.h"
#include "ops/ref/dtype_dispatch.h"
#include "ops/register_kernels.h"
#include "ops/registry.h"

namespace pare {

namespace {

class ClipKernel : public Kernel {
public:
    ClipKernel(const Node& node, int64_t opset) : node_(node), bounds_are_inputs_(opset >= 11) {}

    Status prepare(const std::vector<InputInfo>& inputs, std::vector<OutputInfo>& outputs) override {
        PARE_RETURN_IF_ERROR(check_input_count(node_, inputs, 1, bounds_are_inputs_ ? 3 : 1));
        const DType dtype = inputs[0].dtype;
        PARE_RETURN_IF_ERROR(check_dtype_in(node_, dtype, DTypeSet::kNumeric));
        for (size_t i = 1; i < inputs.size(); ++i) {
            if (!inputs[i].present) continue;
            if (inputs[i].dtype != dtype || shape_numel(inputs[i].shape) != 1) {
                return invalid_input(node_.describe() + ": bound " + std::to_string(i) + " must be one " +
                                     dtype_name(dtype) + " value, not " + dtype_name(inputs[i].dtype) + " " +
                                     shape_to_string(inputs[i].shape));
            }
        }
        outputs = {OutputInfo{dtype, inputs[0].shape}};
        return Status();
    }

    Status run(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs) override {
        const Tensor& src = inputs[0];
        Tensor& dst = outputs[0];
        return dispatch_dtype<DTypeSet::kNumeric>(src.dtype(), [&](auto tag) {
            using T = typename decltype(tag)::type;
            using C = Compute<T>;
            C lo = std::numeric_limits<C>::lowest(), hi = std::numeric_limits<C>::max();
            if (!bounds_are_inputs_) {
                if (node_.has_attribute("min")) lo = static_cast<C>(node_.attr_float("min", 0.0f));
                if (node_.has_attribute("max")) hi = static_cast<C>(node_.attr_float("max", 0.0f));
            } else {
                if (inputs.size() > 1 && inputs[1].defined()) lo = load(inputs[1].data<T>()[0]);
                if (inputs.size() > 2 && inputs[2].defined()) hi = load(inputs[2].data<T>()[0]);
            }
            const T* s = src.data<T>();
            T* d = dst.data<T>();
            const int64_t n = src.numel();
#pragma omp parallel for if (n > 65536)
            for (int64_t i = 0; i < n; ++i) {
                const C v = load(s[i]);
                const C raised = v < lo ? lo : v;
                d[i] = store<T>(raised > hi ? hi : raised);
            }
        });
    }

private:
    const Node& node_;
    bool bounds_are_inputs_;
};

}  // namespace

void register_clip_kernels(KernelRegistry& registry) {
    registry.add_reference("Clip", [](const KernelContext& context) -> Result<KernelPtr> {
        return KernelPtr(new ClipKernel(context.node, context.opset));
    });
}

}  // namespace pare
