// Expand (broadcast to a shape) and Tile (repeat along each axis): both read each output coordinate from one input
// coordinate per axis, so they are gathers by per-axis offsets. The target shape / repeats are input values:
// without them prepare() reports shape_known = false.
#include "ops/index_util.h"
#include "ops/kernel_util.h"
#include "ops/register_kernels.h"
#include "ops/registry.h"

namespace pare {

namespace {

class RepeatKernel : public Kernel {
public:
    explicit RepeatKernel(const KernelContext& context) : node_(context.node) {}

    Status prepare(const std::vector<InputInfo>& inputs, std::vector<OutputInfo>& outputs) override {
        PARE_RETURN_IF_ERROR(check_input_count(node_, inputs, 2, 2));
        PARE_RETURN_IF_ERROR(check_input_dtype(node_, inputs, 1, {DType::kI64, DType::kI32}));
        PARE_ASSIGN_OR_RETURN(element_bytes_, movable_element_bytes(inputs[0].dtype, node_));
        outputs = {OutputInfo{inputs[0].dtype, {}, false}};
        if (!inputs[1].value) return Status();
        if (inputs[1].shape.size() != 1) {
            return invalid_input(node_.describe() + ": input 1 must be 1-D, not " + shape_to_string(inputs[1].shape));
        }
        PARE_ASSIGN_OR_RETURN(outputs[0].shape, plan(inputs[0].shape, input_int64s(inputs[1])));
        outputs[0].shape_known = true;
        return Status();
    }

    Status run(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs) override {
        gather_by_axis_offsets(inputs[0].raw(), offsets_, outputs[0].raw(), element_bytes_);
        return Status();
    }

protected:
    /// Computes the output shape and offsets_ from the input shape and the value of input 1.
    virtual Result<Shape> plan(const Shape& in, const std::vector<int64_t>& values) = 0;

    const Node& node_;
    AxisOffsets offsets_;
    size_t element_bytes_ = 0;
};

// Expand: numpy-style broadcast of the input and the shape value (either side may have the 1s).
class ExpandKernel : public RepeatKernel {
public:
    using RepeatKernel::RepeatKernel;

protected:
    Result<Shape> plan(const Shape& in, const std::vector<int64_t>& values) override {
        auto out = broadcast_shapes(in, values);
        if (!out.ok() || shape_numel(values) < 0) {
            return invalid_input(node_.describe() + ": cannot expand " + shape_to_string(in) + " to " +
                                 shape_to_string(values));
        }
        PARE_RETURN_IF_ERROR(check_output_shape(*out, node_));
        const std::vector<int64_t> strides = broadcast_strides(in, *out);
        offsets_.clear();
        for (size_t a = 0; a < out->size(); ++a) offsets_.push_back(strided_offsets((*out)[a], 0, 1, strides[a]));
        return *out;
    }
};

// Tile: output dim a is in[a] * repeats[a]; coordinate o reads o mod in[a].
class TileKernel : public RepeatKernel {
public:
    using RepeatKernel::RepeatKernel;

protected:
    Result<Shape> plan(const Shape& in, const std::vector<int64_t>& repeats) override {
        if (repeats.size() != in.size()) {
            return invalid_input(node_.describe() + ": " + std::to_string(repeats.size()) + " repeats for shape " +
                                 shape_to_string(in));
        }
        Shape out;
        for (size_t a = 0; a < in.size(); ++a) {
            const bool overflows = repeats[a] > 0 && in[a] > std::numeric_limits<int64_t>::max() / repeats[a];
            out.push_back(repeats[a] < 0 || overflows ? -1 : in[a] * repeats[a]);
        }
        PARE_RETURN_IF_ERROR(check_output_shape(out, node_));
        const std::vector<int64_t> strides = shape_strides(in);
        offsets_.assign(in.size(), {});
        for (size_t a = 0; a < in.size(); ++a) {
            for (int64_t o = 0; o < out[a]; ++o) offsets_[a].push_back((o % in[a]) * strides[a]);
        }
        return out;
    }
};

Result<KernelPtr> make_tile(const KernelContext& context) {
    // Opset 1 took (input, tiles, axis) inputs.
    if (context.opset < 6) return unsupported(context.node.describe() + ": Tile before opset 6");
    return KernelPtr(new TileKernel(context));
}

}  // namespace

void register_expand_tile_kernels(KernelRegistry& registry) {
    registry.add_reference("Expand", kernel_factory<ExpandKernel>());
    registry.add_reference("Tile", make_tile);
}

}  // namespace pare
