// View ops: Reshape, Flatten, Squeeze, Unsqueeze and Identity only change the shape, so their output aliases the
// input (alias_of) and run() is never called. Every dtype works, packed 4-bit included. Also Dropout, an identity
// at inference that copies instead, because it may check training_mode and write a mask when it runs.
#include <cstring>

#include "ops/index_util.h"
#include "ops/kernel_util.h"
#include "ops/register_kernels.h"
#include "ops/registry.h"

namespace pare {

namespace {

// Base of the view kernels: output 0 is input 0 with the shape prepare() computes.
class ViewKernel : public Kernel {
public:
    explicit ViewKernel(const KernelContext& context) : node_(context.node), opset_(context.opset) {}

    Status prepare(const std::vector<InputInfo>& inputs, std::vector<OutputInfo>& outputs) override {
        PARE_RETURN_IF_ERROR(check_inputs(inputs));
        outputs = {OutputInfo{inputs[0].dtype, {}, true}};
        if (!values_known(inputs)) {
            outputs[0].shape_known = false;
            return Status();
        }
        PARE_ASSIGN_OR_RETURN(outputs[0].shape, output_shape(inputs));
        if (shape_numel(outputs[0].shape) != shape_numel(inputs[0].shape)) {
            return invalid_input(node_.describe() + ": cannot view " + shape_to_string(inputs[0].shape) + " as " +
                                 shape_to_string(outputs[0].shape));
        }
        return Status();
    }
    Status run(const std::vector<Tensor>&, std::vector<Tensor>&) override { return Status(); }
    int alias_of(int output) const override { return output == 0 ? 0 : -1; }

protected:
    virtual Status check_inputs(const std::vector<InputInfo>& inputs) const = 0;
    /// True when every input value the output shape depends on is known.
    virtual bool values_known(const std::vector<InputInfo>& inputs) const { return true; }
    virtual Result<Shape> output_shape(const std::vector<InputInfo>& inputs) const = 0;

    // True when the node's opset reads the shape or axes from an input (introduced in opset `since`) rather than
    // from an attribute.
    bool value_from_input(int64_t since) const { return opset_ >= since; }
    Status check_int_input(const std::vector<InputInfo>& inputs, int index) const {
        if (index >= static_cast<int>(inputs.size()) || !inputs[index].present) return Status();
        return check_input_dtype(node_, inputs, index, {DType::kI64, DType::kI32});
    }

    const Node& node_;
    int64_t opset_;
};

class ReshapeKernel : public ViewKernel {
public:
    using ViewKernel::ViewKernel;

protected:
    Status check_inputs(const std::vector<InputInfo>& inputs) const override {
        if (!value_from_input(5)) return check_input_count(node_, inputs, 1, 1);
        PARE_RETURN_IF_ERROR(check_input_count(node_, inputs, 2, 2));
        return check_int_input(inputs, 1);
    }
    bool values_known(const std::vector<InputInfo>& inputs) const override {
        return !value_from_input(5) || inputs[1].value.has_value();
    }
    Result<Shape> output_shape(const std::vector<InputInfo>& inputs) const override {
        const Shape requested = value_from_input(5) ? input_int64s(inputs[1]) : node_.attr_ints("shape");
        const bool allow_zero = opset_ >= 14 && node_.attr_int("allowzero", 0) != 0;
        return reshape_target(inputs[0].shape, requested, allow_zero);
    }

private:
    // 0 copies the input dimension (unless allowzero), -1 takes what is left.
    Result<Shape> reshape_target(const Shape& in, const Shape& requested, bool allow_zero) const {
        const std::string what = node_.describe() + ": cannot reshape " + shape_to_string(in) + " to [" +
                                 shape_to_string(requested) + "]";
        Shape out(requested.size());
        int inferred = -1;
        int64_t known = 1;
        for (size_t i = 0; i < requested.size(); ++i) {
            int64_t d = requested[i];
            if (d == 0 && !allow_zero) {
                if (i >= in.size()) return invalid_input(what + " (a 0 has no input dimension to copy)");
                d = in[i];
            }
            if (d == -1) {
                if (inferred >= 0) return invalid_input(what + " (more than one -1)");
                inferred = static_cast<int>(i);
                continue;
            }
            if (d < 0) return invalid_input(what + " (negative dimension)");
            out[i] = d;
            known *= d;
        }
        if (inferred >= 0) {
            const int64_t numel = shape_numel(in);
            if (known == 0 || numel % known != 0) return invalid_input(what + " (the -1 cannot be inferred)");
            out[inferred] = numel / known;
        }
        return out;
    }
};

class FlattenKernel : public ViewKernel {
public:
    using ViewKernel::ViewKernel;

protected:
    Status check_inputs(const std::vector<InputInfo>& inputs) const override {
        return check_input_count(node_, inputs, 1, 1);
    }
    Result<Shape> output_shape(const std::vector<InputInfo>& inputs) const override {
        const Shape& in = inputs[0].shape;
        const int64_t rank = static_cast<int64_t>(in.size());
        int64_t axis = node_.attr_int("axis", 1);
        // axis may equal rank (everything in the first dimension).
        if (axis < -rank || axis > rank) {
            return invalid_input(node_.describe() + ": axis " + std::to_string(axis) + " is out of range for shape " +
                                 shape_to_string(in));
        }
        if (axis < 0) axis += rank;
        const AxisSplit split = split_at_axis(in, axis);
        return Shape{split.outer, split.len * split.inner};
    }
};

class SqueezeKernel : public ViewKernel {
public:
    using ViewKernel::ViewKernel;

protected:
    Status check_inputs(const std::vector<InputInfo>& inputs) const override {
        if (!value_from_input(13)) return check_input_count(node_, inputs, 1, 1);
        PARE_RETURN_IF_ERROR(check_input_count(node_, inputs, 1, 2));
        return check_int_input(inputs, 1);
    }
    bool values_known(const std::vector<InputInfo>& inputs) const override {
        return !axes_input_given(inputs) || inputs[1].value.has_value();
    }
    Result<Shape> output_shape(const std::vector<InputInfo>& inputs) const override {
        const Shape& in = inputs[0].shape;
        const std::vector<int64_t> listed = axes_input_given(inputs) ? input_int64s(inputs[1])
                                            : value_from_input(13) ? std::vector<int64_t>{}
                                                                   : node_.attr_ints("axes");
        const bool all_ones = !axes_input_given(inputs) && !node_.has_attribute("axes");
        PARE_ASSIGN_OR_RETURN(const std::vector<int64_t> axes,
                              normalize_axes(listed, static_cast<int64_t>(in.size()), node_));
        std::vector<bool> squeezed(in.size(), false);
        for (int64_t a : axes) {
            if (in[a] != 1) {
                return invalid_input(node_.describe() + ": cannot squeeze axis " + std::to_string(a) + " of shape " +
                                     shape_to_string(in));
            }
            squeezed[a] = true;
        }
        Shape out;
        for (size_t i = 0; i < in.size(); ++i) {
            if (!(squeezed[i] || (all_ones && in[i] == 1))) out.push_back(in[i]);
        }
        return out;
    }

private:
    bool axes_input_given(const std::vector<InputInfo>& inputs) const {
        return value_from_input(13) && inputs.size() > 1 && inputs[1].present;
    }
};

class UnsqueezeKernel : public ViewKernel {
public:
    using ViewKernel::ViewKernel;

protected:
    Status check_inputs(const std::vector<InputInfo>& inputs) const override {
        if (!value_from_input(13)) return check_input_count(node_, inputs, 1, 1);
        PARE_RETURN_IF_ERROR(check_input_count(node_, inputs, 2, 2));
        return check_int_input(inputs, 1);
    }
    bool values_known(const std::vector<InputInfo>& inputs) const override {
        return !value_from_input(13) || inputs[1].value.has_value();
    }
    Result<Shape> output_shape(const std::vector<InputInfo>& inputs) const override {
        const Shape& in = inputs[0].shape;
        const std::vector<int64_t> listed = value_from_input(13) ? input_int64s(inputs[1]) : node_.attr_ints("axes");
        const int64_t rank = static_cast<int64_t>(in.size() + listed.size());
        PARE_ASSIGN_OR_RETURN(const std::vector<int64_t> axes, normalize_axes(listed, rank, node_));
        std::vector<bool> inserted(static_cast<size_t>(rank), false);
        for (int64_t a : axes) inserted[a] = true;
        Shape out;
        size_t next = 0;
        for (int64_t i = 0; i < rank; ++i) out.push_back(inserted[i] ? 1 : in[next++]);
        return out;
    }
};

class IdentityKernel : public ViewKernel {
public:
    using ViewKernel::ViewKernel;

protected:
    Status check_inputs(const std::vector<InputInfo>& inputs) const override {
        return check_input_count(node_, inputs, 1, 1);
    }
    Result<Shape> output_shape(const std::vector<InputInfo>& inputs) const override { return inputs[0].shape; }
};

// Dropout at inference: output = input, mask all true. In training mode (is_test = 0 before opset 7, a true
// training_mode input from opset 12) only a zero ratio is deterministic; any other ratio is refused.
class DropoutKernel : public Kernel {
public:
    explicit DropoutKernel(const KernelContext& context) : node_(context.node), opset_(context.opset) {}

    Status prepare(const std::vector<InputInfo>& inputs, std::vector<OutputInfo>& outputs) override {
        PARE_RETURN_IF_ERROR(check_input_count(node_, inputs, 1, opset_ >= 12 ? 3 : 1));
        PARE_ASSIGN_OR_RETURN(element_bytes_, movable_element_bytes(inputs[0].dtype, node_));
        outputs = {OutputInfo{inputs[0].dtype, inputs[0].shape}};
        // The mask was typed like the data before opset 10, bool since.
        if (node_.num_outputs() > 1) {
            outputs.push_back(OutputInfo{opset_ >= 10 ? DType::kBool : inputs[0].dtype, inputs[0].shape});
        }
        return Status();
    }

    Status run(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs) override {
        if (training(inputs) && ratio(inputs) != 0.0) {
            return unsupported(node_.describe() + ": Dropout in training mode with a non-zero ratio is random");
        }
        const Tensor& src = inputs[0];
        std::memcpy(outputs[0].raw(), src.raw(), src.numel() * element_bytes_);
        if (outputs.size() > 1 && outputs[1].defined()) {
            Tensor& mask = outputs[1];
            const Tensor ones = tensor_from_vector<double>(std::vector<double>(mask.numel(), 1.0), mask.shape());
            const Tensor typed = ones.cast(mask.dtype());
            std::memcpy(mask.raw(), typed.raw(), typed.nbytes());
        }
        return Status();
    }

private:
    bool training(const std::vector<Tensor>& inputs) const {
        if (opset_ < 7) return node_.attr_int("is_test", 0) == 0;
        return opset_ >= 12 && inputs.size() > 2 && inputs[2].defined() && inputs[2].element_as_double(0) != 0.0;
    }
    double ratio(const std::vector<Tensor>& inputs) const {
        if (opset_ >= 12) return inputs.size() > 1 && inputs[1].defined() ? inputs[1].element_as_double(0) : 0.5;
        return node_.attr_float("ratio", 0.5f);
    }

    const Node& node_;
    int64_t opset_;
    size_t element_bytes_ = 0;
};

}  // namespace

void register_view_kernels(KernelRegistry& registry) {
    registry.add_reference("Reshape", kernel_factory<ReshapeKernel>());
    registry.add_reference("Flatten", kernel_factory<FlattenKernel>());
    registry.add_reference("Squeeze", kernel_factory<SqueezeKernel>());
    registry.add_reference("Unsqueeze", kernel_factory<UnsqueezeKernel>());
    registry.add_reference("Identity", kernel_factory<IdentityKernel>());
    registry.add_reference("Dropout", kernel_factory<DropoutKernel>());
}

}  // namespace pare
