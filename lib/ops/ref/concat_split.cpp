// Concat and Split: block copies along one axis. A tensor is seen as [outer, dim, inner] around the axis, so each
// piece is `outer` contiguous runs of (size along the axis) * inner elements.
#include <cstring>

#include "ops/index_util.h"
#include "ops/kernel_util.h"
#include "ops/register_kernels.h"
#include "ops/registry.h"

namespace pare {

namespace {

class ConcatKernel : public Kernel {
public:
    explicit ConcatKernel(const KernelContext& context) : node_(context.node), opset_(context.opset) {}

    Status prepare(const std::vector<InputInfo>& inputs, std::vector<OutputInfo>& outputs) override {
        if (inputs.empty()) return invalid_input(node_.describe() + " has no inputs");
        if (opset_ >= 4 && !node_.has_attribute("axis")) return invalid_input(node_.describe() + " has no axis");
        for (const auto& input : inputs) {
            if (!input.present) return invalid_input(node_.describe() + " has an omitted input");
        }
        const DType dtype = inputs[0].dtype;
        PARE_ASSIGN_OR_RETURN(element_bytes_, movable_element_bytes(dtype, node_));
        Shape out = inputs[0].shape;
        const int64_t rank = static_cast<int64_t>(out.size());
        if (rank == 0) return invalid_input(node_.describe() + " cannot concatenate scalars");
        PARE_ASSIGN_OR_RETURN(axis_, normalize_axis(node_.attr_int("axis", 1), rank, node_));
        out[axis_] = 0;
        for (const auto& input : inputs) {
            bool matches = input.dtype == dtype && input.shape.size() == out.size();
            for (int64_t a = 0; matches && a < rank; ++a) matches = a == axis_ || input.shape[a] == out[a];
            if (!matches) {
                return invalid_input(node_.describe() + ": cannot concatenate " + dtype_name(input.dtype) + " " +
                                     shape_to_string(input.shape) + " with " + dtype_name(dtype) + " " +
                                     shape_to_string(inputs[0].shape) + " along axis " + std::to_string(axis_));
            }
            out[axis_] += input.shape[axis_];
        }
        outputs = {OutputInfo{dtype, out}};
        return Status();
    }

    Status run(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs) override {
        const AxisSplit split = split_at_axis(outputs[0].shape(), axis_);
        const int64_t outer = split.outer, inner = split.inner;
        char* dst = static_cast<char*>(outputs[0].raw());
        for (int64_t o = 0; o < outer; ++o) {
            for (const Tensor& src : inputs) {
                const size_t run = static_cast<size_t>(src.dim(axis_) * inner) * element_bytes_;
                if (run == 0) continue;
                std::memcpy(dst, static_cast<const char*>(src.raw()) + o * run, run);
                dst += run;
            }
        }
        return Status();
    }

private:
    const Node& node_;
    int64_t opset_;
    int64_t axis_ = 0;
    size_t element_bytes_ = 0;
};

// Split: sizes from the split attribute (opset < 13) or input (opset 1 and 13+); without them equal parts, or from
// opset 18 with num_outputs, parts of ceil(dim / num_outputs) with a smaller last one.
class SplitKernel : public Kernel {
public:
    explicit SplitKernel(const KernelContext& context) : node_(context.node), opset_(context.opset) {}

    Status prepare(const std::vector<InputInfo>& inputs, std::vector<OutputInfo>& outputs) override {
        const bool split_input = (opset_ == 1 || opset_ >= 13) && inputs.size() > 1 && inputs[1].present;
        PARE_RETURN_IF_ERROR(check_input_count(node_, inputs, 1, opset_ == 1 || opset_ >= 13 ? 2 : 1));
        if (split_input) PARE_RETURN_IF_ERROR(check_input_dtype(node_, inputs, 1, {DType::kI64, DType::kI32}));
        const DType dtype = inputs[0].dtype;
        PARE_ASSIGN_OR_RETURN(element_bytes_, movable_element_bytes(dtype, node_));
        const Shape& in = inputs[0].shape;
        PARE_ASSIGN_OR_RETURN(axis_, normalize_axis(node_.attr_int("axis", 0), static_cast<int64_t>(in.size()), node_));
        const int64_t count = node_.num_outputs();
        outputs.assign(static_cast<size_t>(count), OutputInfo{dtype, {}, false});
        if (split_input && !inputs[1].value) return Status();

        const int64_t dim = in[axis_];
        std::vector<int64_t> sizes = split_input ? input_int64s(inputs[1]) : node_.attr_ints("split");
        if (!split_input && !node_.has_attribute("split")) {
            const bool uneven = opset_ >= 18 && node_.has_attribute("num_outputs");
            if (uneven && node_.attr_int("num_outputs", 0) != count) {
                return invalid_input(node_.describe() + ": num_outputs differs from the number of outputs");
            }
            if (count <= 0 || (!uneven && dim % count != 0)) {
                return invalid_input(node_.describe() + ": " + shape_to_string(in) + " does not split into " +
                                     std::to_string(count) + " equal parts along axis " + std::to_string(axis_));
            }
            const int64_t part = (dim + count - 1) / count;
            for (int64_t k = 0; k < count; ++k) sizes.push_back(std::max<int64_t>(0, std::min(part, dim - k * part)));
        }
        int64_t total = 0;
        for (int64_t size : sizes) total += size < 0 ? dim + 1 : size;  // a negative size makes the check fail
        if (static_cast<int64_t>(sizes.size()) != count || total != dim) {
            return invalid_input(node_.describe() + ": split sizes [" + shape_to_string(sizes) + "] do not divide " +
                                 shape_to_string(in) + " along axis " + std::to_string(axis_) + " into " +
                                 std::to_string(count) + " outputs");
        }
        for (int64_t k = 0; k < count; ++k) {
            outputs[k].shape = in;
            outputs[k].shape[axis_] = sizes[k];
            outputs[k].shape_known = true;
        }
        return Status();
    }

    Status run(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs) override {
        const Tensor& src = inputs[0];
        const AxisSplit split = split_at_axis(src.shape(), axis_);
        const int64_t outer = split.outer, inner = split.inner;
        const size_t src_run = static_cast<size_t>(src.dim(axis_) * inner) * element_bytes_;
        size_t start = 0;
        for (Tensor& dst : outputs) {
            const size_t run = static_cast<size_t>(dst.dim(axis_) * inner) * element_bytes_;
            for (int64_t o = 0; o < outer && run > 0; ++o) {
                std::memcpy(static_cast<char*>(dst.raw()) + o * run,
                            static_cast<const char*>(src.raw()) + o * src_run + start, run);
            }
            start += run;
        }
        return Status();
    }

private:
    const Node& node_;
    int64_t opset_;
    int64_t axis_ = 0;
    size_t element_bytes_ = 0;
};

}  // namespace

void register_concat_split_kernels(KernelRegistry& registry) {
    registry.add_reference("Concat", kernel_factory<ConcatKernel>());
    registry.add_reference("Split", kernel_factory<SplitKernel>());
}

}  // namespace pare
