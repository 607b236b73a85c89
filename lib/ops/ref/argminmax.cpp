// ArgMax and ArgMin along one axis (int64 output, keepdims, select_last_index). NaN counts as the extreme value
// for both, so the first NaN wins (the last with select_last_index), as numpy.argmax/argmin do.
#include "ops/kernel_util.h"
#include "ops/ref/dtype_dispatch.h"
#include "ops/ref/reduce_axes.h"
#include "ops/register_kernels.h"
#include "ops/registry.h"

namespace pare {

namespace {

template <bool kMax, class C>
bool beats(C v, C best, bool on_tie) {
    if (is_nan(v)) return !is_nan(best) || on_tie;
    if (is_nan(best)) return false;
    return kMax ? v > best || (on_tie && v == best) : v < best || (on_tie && v == best);
}

template <bool kMax>
class ArgKernel : public Kernel {
public:
    explicit ArgKernel(const Node& node)
        : node_(node),
          axis_(node.attr_int("axis", 0)),
          keepdims_(node.attr_int("keepdims", 1) != 0),
          last_(node.attr_int("select_last_index", 0) != 0) {}

    Status prepare(const std::vector<InputInfo>& inputs, std::vector<OutputInfo>& outputs) override {
        PARE_RETURN_IF_ERROR(check_input_count(node_, inputs, 1, 1));
        const DType dtype = inputs[0].dtype;
        PARE_RETURN_IF_ERROR(check_dtype_in(node_, dtype, DTypeSet::kNumeric));
        const Shape& shape = inputs[0].shape;
        if (shape.empty()) return invalid_input(node_.describe() + " needs an input of rank 1 or more");
        PARE_ASSIGN_OR_RETURN(axis_index_, normalize_axis(axis_, static_cast<int64_t>(shape.size()), node_));
        if (shape[axis_index_] == 0 && shape_numel(replace_axis(shape, axis_index_, 1)) > 0) {
            return invalid_input(node_.describe() + ": no " + (kMax ? "maximum" : "minimum") + " along empty axis " +
                                 std::to_string(axis_) + " of shape " + shape_to_string(shape));
        }
        outputs = {OutputInfo{DType::kI64, replace_axis(shape, axis_index_, 1, keepdims_)}};
        return Status();
    }

    Status run(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs) override {
        const Tensor& src = inputs[0];
        int64_t* d = outputs[0].data<int64_t>();
        const AxisSplit split = split_at_axis(src.shape(), axis_index_);
        const bool last = last_;
        return dispatch_dtype<DTypeSet::kNumeric>(src.dtype(), [&](auto tag) {
            using T = typename decltype(tag)::type;
            const T* s = src.data<T>();
            for (int64_t o = 0; o < split.outer; ++o) {
                for (int64_t i = 0; i < split.inner; ++i) {
                    const T* line = s + o * split.len * split.inner + i;
                    int64_t best = 0;
                    Compute<T> best_value = load(line[0]);
                    for (int64_t j = 1; j < split.len; ++j) {
                        const Compute<T> v = load(line[j * split.inner]);
                        if (beats<kMax>(v, best_value, last)) {
                            best = j;
                            best_value = v;
                        }
                    }
                    d[o * split.inner + i] = best;
                }
            }
        });
    }

private:
    const Node& node_;
    int64_t axis_;
    bool keepdims_;
    bool last_;
    int64_t axis_index_ = 0;
};

}  // namespace

void register_argminmax_kernels(KernelRegistry& registry) {
    registry.add_reference("ArgMax", [](const KernelContext& context) -> Result<KernelPtr> {
        return KernelPtr(new ArgKernel<true>(context.node));
    });
    registry.add_reference("ArgMin", [](const KernelContext& context) -> Result<KernelPtr> {
        return KernelPtr(new ArgKernel<false>(context.node));
    });
}

}  // namespace pare
