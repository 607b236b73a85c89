// Softmax, LogSoftmax and Hardmax. Before opset 13 the input is coerced to 2-D at `axis` (default 1) and the op
// works on the flattened trailing dims; from opset 13 it works along the single dimension `axis` (default -1).
// Either way that is a [outer, length, inner] view reduced along the middle.
#include <cmath>

#include "ops/kernel_util.h"
#include "ops/ref/compute_type.h"
#include "ops/register_kernels.h"
#include "ops/registry.h"

namespace pare {

namespace {

enum class SoftmaxKind { kSoftmax, kLogSoftmax, kHardmax };

const std::vector<DType> kFloatTypes = {DType::kF32, DType::kF64, DType::kF16, DType::kBF16};

class SoftmaxKernel : public Kernel {
  public:
    SoftmaxKernel(const Node& node, SoftmaxKind kind, int64_t opset)
        : node_(node), kind_(kind), single_axis_(opset >= 13), axis_(node.attr_int("axis", opset >= 13 ? -1 : 1)) {}

    Status prepare(const std::vector<InputInfo>& inputs, std::vector<OutputInfo>& outputs) override {
        PARE_RETURN_IF_ERROR(check_input_count(node_, inputs, 1, 1));
        PARE_RETURN_IF_ERROR(check_input_dtype(node_, inputs, 0, kFloatTypes));
        const Shape& x = inputs[0].shape;
        const int64_t rank = static_cast<int64_t>(x.size());
        PARE_ASSIGN_OR_RETURN(const int64_t axis, normalize_axis(axis_, rank, node_));
        outer_ = length_ = inner_ = 1;
        for (int64_t d = 0; d < rank; ++d) {
            if (d < axis)
                outer_ *= x[d];
            else if (d == axis || !single_axis_)
                length_ *= x[d];
            else
                inner_ *= x[d];
        }
        outputs = {OutputInfo{inputs[0].dtype, x}};
        return Status();
    }

    Status run(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs) override {
        compute_in_float(inputs[0], outputs[0], [&](const auto* src, auto* dst) { compute(src, dst); });
        return Status();
    }

  private:
    template <class T>
    void compute(const T* src, T* dst) const {
#pragma omp parallel for if (outer_ * length_ * inner_ > 65536)
        for (int64_t line = 0; line < outer_ * inner_; ++line) {
            const int64_t base = (line / inner_) * length_ * inner_ + line % inner_;
            auto at = [&](int64_t j) { return base + j * inner_; };
            int64_t arg_max = 0;
            for (int64_t j = 1; j < length_; ++j) {
                if (src[at(j)] > src[at(arg_max)]) arg_max = j;
            }
            if (kind_ == SoftmaxKind::kHardmax) {
                for (int64_t j = 0; j < length_; ++j) dst[at(j)] = j == arg_max ? T(1) : T(0);
                continue;
            }
            // Shifting by the maximum keeps exp() in range; the sum is taken in double.
            const double max = length_ > 0 ? static_cast<double>(src[at(arg_max)]) : 0.0;
            double sum = 0;
            for (int64_t j = 0; j < length_; ++j) sum += std::exp(static_cast<double>(src[at(j)]) - max);
            const double log_sum = std::log(sum);
            for (int64_t j = 0; j < length_; ++j) {
                const double shifted = static_cast<double>(src[at(j)]) - max;
                dst[at(j)] =
                    static_cast<T>(kind_ == SoftmaxKind::kSoftmax ? std::exp(shifted) / sum : shifted - log_sum);
            }
        }
    }

    const Node& node_;
    SoftmaxKind kind_;
    bool single_axis_;
    int64_t axis_;
    int64_t outer_ = 1, length_ = 1, inner_ = 1;
};

void add_softmax(KernelRegistry& registry, const std::string& op, SoftmaxKind kind) {
    registry.add_reference(op, [kind](const KernelContext& context) -> Result<KernelPtr> {
        return KernelPtr(new SoftmaxKernel(context.node, kind, context.opset));
    });
}

}  // namespace

void register_softmax_kernels(KernelRegistry& registry) {
    add_softmax(registry, "Softmax", SoftmaxKind::kSoftmax);
    add_softmax(registry, "LogSoftmax", SoftmaxKind::kLogSoftmax);
    add_softmax(registry, "Hardmax", SoftmaxKind::kHardmax);
}

}  // namespace pare
