// Slice: starts/ends/axes as attributes before opset 10, inputs (with steps) from 10. Indices are clamped as the
// spec says, so INT64_MAX / INT64_MIN ends mean "to the end" in either direction.
#include "ops/index_util.h"
#include "ops/kernel_util.h"
#include "ops/register_kernels.h"
#include "ops/registry.h"

namespace pare {

namespace {

class SliceKernel : public Kernel {
public:
    explicit SliceKernel(const KernelContext& context) : node_(context.node), opset_(context.opset) {}

    Status prepare(const std::vector<InputInfo>& inputs, std::vector<OutputInfo>& outputs) override {
        const bool from_inputs = opset_ >= 10;
        PARE_RETURN_IF_ERROR(check_input_count(node_, inputs, from_inputs ? 3 : 1, from_inputs ? 5 : 1));
        PARE_ASSIGN_OR_RETURN(element_bytes_, movable_element_bytes(inputs[0].dtype, node_));
        outputs = {OutputInfo{inputs[0].dtype, {}, false}};
        std::vector<std::vector<int64_t>> lists(4);  // starts, ends, axes, steps
        for (size_t i = 1; from_inputs && i < inputs.size(); ++i) {
            if (!inputs[i].present) continue;
            PARE_RETURN_IF_ERROR(check_input_dtype(node_, inputs, static_cast<int>(i), {DType::kI64, DType::kI32}));
            if (!inputs[i].value) return Status();
            lists[i - 1] = input_int64s(inputs[i]);
        }
        if (!from_inputs) lists = {node_.attr_ints("starts"), node_.attr_ints("ends"), node_.attr_ints("axes"), {}};
        const bool axes_given = from_inputs ? inputs.size() > 3 && inputs[3].present : node_.has_attribute("axes");
        const bool steps_given = from_inputs && inputs.size() > 4 && inputs[4].present;
        const size_t n = lists[0].size();
        for (size_t i = 0; !axes_given && i < n; ++i) lists[2].push_back(static_cast<int64_t>(i));
        if (!steps_given) lists[3].assign(n, 1);
        if (lists[1].size() != n || lists[2].size() != n || lists[3].size() != n) {
            return invalid_input(node_.describe() + ": starts, ends, axes and steps differ in length");
        }
        const Shape& in = inputs[0].shape;
        PARE_ASSIGN_OR_RETURN(const std::vector<int64_t> axes,
                              normalize_axes(lists[2], static_cast<int64_t>(in.size()), node_));
        // Unsliced axes keep everything.
        std::vector<int64_t> starts(in.size(), 0), steps(in.size(), 1);
        Shape out = in;
        for (size_t i = 0; i < n; ++i) {
            const int64_t a = axes[i], step = lists[3][i];
            if (step == 0) return invalid_input(node_.describe() + ": a step is zero");
            clamp_axis(lists[0][i], lists[1][i], step, in[a], starts[a], out[a]);
            steps[a] = step;
        }
        const std::vector<int64_t> strides = shape_strides(in);
        offsets_.clear();
        for (size_t a = 0; a < in.size(); ++a) {
            offsets_.push_back(strided_offsets(out[a], starts[a], steps[a], strides[a]));
        }
        outputs[0].shape = out;
        outputs[0].shape_known = true;
        return Status();
    }

    Status run(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs) override {
        gather_by_axis_offsets(inputs[0].raw(), offsets_, outputs[0].raw(), element_bytes_);
        return Status();
    }

private:
    // First index and element count of one sliced axis of size dim.
    static void clamp_axis(int64_t start, int64_t end, int64_t step, int64_t dim, int64_t& first, int64_t& count) {
        if (start < 0) start += dim;
        if (end < 0) end += dim;
        int64_t span;
        if (step > 0) {
            start = std::min(std::max<int64_t>(start, 0), dim);
            end = std::min(std::max<int64_t>(end, 0), dim);
            span = end - start;
        } else {
            start = std::min(std::max<int64_t>(start, 0), dim - 1);
            end = std::min(std::max<int64_t>(end, -1), dim - 1);
            span = start - end;
        }
        // |step| in unsigned arithmetic: -INT64_MIN does not fit in int64.
        const uint64_t magnitude = step > 0 ? static_cast<uint64_t>(step) : uint64_t{0} - static_cast<uint64_t>(step);
        count = span <= 0 || dim == 0 ? 0 : static_cast<int64_t>((static_cast<uint64_t>(span) - 1) / magnitude + 1);
        first = count > 0 ? start : 0;
    }

    const Node& node_;
    int64_t opset_;
    AxisOffsets offsets_;
    size_t element_bytes_ = 0;
};

}  // namespace

void register_slice_kernels(KernelRegistry& registry) {
    registry.add_reference("Slice", kernel_factory<SliceKernel>());
}

}  // namespace pare
