// TopK: the k largest (or smallest) elements along an axis and their int64 indices. k is an attribute in opset 1
// and a one-element int64 input from opset 10, so the output shape may wait for run time. Equal values keep
// ascending index order, as the spec requires; NaN counts as larger than every number (numpy's sort order).
// Results are always sorted, which `sorted=0` permits.
#include <algorithm>
#include <numeric>

#include "ops/kernel_util.h"
#include "ops/ref/dtype_dispatch.h"
#include "ops/ref/reduce_axes.h"
#include "ops/register_kernels.h"
#include "ops/registry.h"

namespace pare {

namespace {

template <class C>
bool greater_with_nan(C a, C b) {
    return is_nan(a) ? !is_nan(b) : a > b;
}

class TopKKernel : public Kernel {
public:
    TopKKernel(const Node& node, int64_t opset)
        : node_(node), k_from_input_(opset >= 10), largest_(node.attr_int("largest", 1) != 0),
          axis_(node.attr_int("axis", -1)) {}

    Status prepare(const std::vector<InputInfo>& inputs, std::vector<OutputInfo>& outputs) override {
        PARE_RETURN_IF_ERROR(check_input_count(node_, inputs, k_from_input_ ? 2 : 1, k_from_input_ ? 2 : 1));
        const DType dtype = inputs[0].dtype;
        PARE_RETURN_IF_ERROR(check_dtype_in(node_, dtype, DTypeSet::kNumeric));
        const Shape& shape = inputs[0].shape;
        if (shape.empty()) return invalid_input(node_.describe() + " needs an input of rank 1 or more");
        PARE_ASSIGN_OR_RETURN(axis_index_, normalize_axis(axis_, static_cast<int64_t>(shape.size()), node_));
        if (k_from_input_) {
            PARE_RETURN_IF_ERROR(check_input_dtype(node_, inputs, 1, {DType::kI64}));
            if (shape_numel(inputs[1].shape) != 1) {
                return invalid_input(node_.describe() + ": K must hold one value, not shape " +
                                     shape_to_string(inputs[1].shape));
            }
            if (!inputs[1].value) {
                outputs = {OutputInfo{dtype, {}, false}, OutputInfo{DType::kI64, {}, false}};
                return Status();
            }
            k_ = input_int64s(inputs[1])[0];
        } else {
            k_ = node_.attr_int("k", -1);
        }
        if (k_ < 0 || k_ > shape[axis_index_]) {
            return invalid_input(node_.describe() + ": k = " + std::to_string(k_) + " is outside [0, " +
                                 std::to_string(shape[axis_index_]) + "] for axis " + std::to_string(axis_) +
                                 " of shape " + shape_to_string(shape));
        }
        const Shape out_shape = replace_axis(shape, axis_index_, k_);
        outputs = {OutputInfo{dtype, out_shape}, OutputInfo{DType::kI64, out_shape}};
        return Status();
    }

    Status run(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs) override {
        const Tensor& src = inputs[0];
        const AxisSplit split = split_at_axis(src.shape(), axis_index_);
        const int64_t k = k_;
        const bool largest = largest_;
        return dispatch_dtype<DTypeSet::kNumeric>(src.dtype(), [&](auto tag) {
            using T = typename decltype(tag)::type;
            using C = Compute<T>;
            const T* s = src.data<T>();
            T* values = outputs[0].data<T>();
            int64_t* indices = outputs[1].data<int64_t>();
            std::vector<C> line(split.len);
            std::vector<int64_t> order(split.len);
            // Strict weak order: better value first, then lower index, so the selection is unique.
            const auto before = [&](int64_t a, int64_t b) {
                const bool a_first = largest ? greater_with_nan(line[a], line[b]) : greater_with_nan(line[b], line[a]);
                const bool b_first = largest ? greater_with_nan(line[b], line[a]) : greater_with_nan(line[a], line[b]);
                return a_first || (!b_first && a < b);
            };
            for (int64_t o = 0; o < split.outer; ++o) {
                for (int64_t i = 0; i < split.inner; ++i) {
                    const int64_t base = o * split.len * split.inner + i;
                    for (int64_t j = 0; j < split.len; ++j) line[j] = load(s[base + j * split.inner]);
                    std::iota(order.begin(), order.end(), int64_t(0));
                    std::partial_sort(order.begin(), order.begin() + k, order.end(), before);
                    for (int64_t j = 0; j < k; ++j) {
                        const int64_t out = o * k * split.inner + j * split.inner + i;
                        values[out] = s[base + order[j] * split.inner];
                        indices[out] = order[j];
                    }
                }
            }
        });
    }

private:
    const Node& node_;
    bool k_from_input_;
    bool largest_;
    int64_t axis_;
    int64_t axis_index_ = 0;
    int64_t k_ = 0;
};

}  // namespace

void register_topk_kernels(KernelRegistry& registry) {
    registry.add_reference("TopK", [](const KernelContext& context) -> Result<KernelPtr> {
        return KernelPtr(new TopKKernel(context.node, context.opset));
    });
}

}  // namespace pare
