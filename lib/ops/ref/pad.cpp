// Pad: modes constant, reflect, edge and wrap; pads as an attribute before opset 11 ("paddings" in opset 1), as an
// input from 11, restricted to listed axes from 18. Negative pads crop. Each output coordinate maps to one input
// coordinate per axis (or to the constant), so the copy is a gather by per-axis offsets.
#include "ops/index_util.h"
#include "ops/kernel_util.h"
#include "ops/register_kernels.h"
#include "ops/registry.h"

namespace pare {

namespace {

enum class PadMode { kConstant, kReflect, kEdge, kWrap };

// Input coordinate read by padded coordinate i (i = output coordinate - pad before) of an axis of size dim, or -1
// for the constant.
int64_t source_coordinate(PadMode mode, int64_t i, int64_t dim) {
    if (i >= 0 && i < dim) return i;
    switch (mode) {
        case PadMode::kEdge: return i < 0 ? 0 : dim - 1;
        case PadMode::kWrap: return ((i % dim) + dim) % dim;
        case PadMode::kReflect: {
            if (dim == 1) return 0;
            const int64_t period = 2 * (dim - 1);  // reflection without repeating the edge: a triangle wave
            const int64_t r = ((i % period) + period) % period;
            return r < dim ? r : period - r;
        }
        default: return -1;
    }
}

class PadKernel : public Kernel {
public:
    explicit PadKernel(const KernelContext& context) : node_(context.node), opset_(context.opset) {}

    Status prepare(const std::vector<InputInfo>& inputs, std::vector<OutputInfo>& outputs) override {
        const bool from_inputs = opset_ >= 11;
        PARE_RETURN_IF_ERROR(check_input_count(node_, inputs, from_inputs ? 2 : 1, from_inputs ? 4 : 1));
        const DType dtype = inputs[0].dtype;
        PARE_ASSIGN_OR_RETURN(element_bytes_, movable_element_bytes(dtype, node_));
        PARE_RETURN_IF_ERROR(parse_mode());
        outputs = {OutputInfo{dtype, {}, false}};
        const Shape& in = inputs[0].shape;
        const int64_t rank = static_cast<int64_t>(in.size());
        std::vector<int64_t> pads, axes;
        if (from_inputs) {
            PARE_RETURN_IF_ERROR(check_input_dtype(node_, inputs, 1, {DType::kI64}));
            const bool axes_given = inputs.size() > 3 && inputs[3].present;
            if (axes_given) PARE_RETURN_IF_ERROR(check_input_dtype(node_, inputs, 3, {DType::kI64, DType::kI32}));
            if (inputs.size() > 2 && inputs[2].present &&
                (inputs[2].dtype != dtype || shape_numel(inputs[2].shape) > 1)) {
                return invalid_input(node_.describe() + ": constant_value must be one " + dtype_name(dtype) + " value");
            }
            if (!inputs[1].value || (axes_given && !inputs[3].value)) return Status();
            pads = input_int64s(inputs[1]);
            if (axes_given) axes = input_int64s(inputs[3]);
        } else {
            pads = node_.attr_ints(opset_ == 1 ? "paddings" : "pads");
        }
        if (axes.empty()) {
            for (int64_t a = 0; a < rank; ++a) axes.push_back(a);
        }
        PARE_ASSIGN_OR_RETURN(axes, normalize_axes(axes, rank, node_));
        if (pads.size() != 2 * axes.size()) {
            return invalid_input(node_.describe() + ": " + std::to_string(pads.size()) + " pads for " +
                                 std::to_string(axes.size()) + " axes of " + shape_to_string(in));
        }
        constexpr int64_t kLimit = int64_t{1} << 40;  // keeps dim + pads from overflowing
        for (int64_t pad : pads) {
            if (pad > kLimit || pad < -kLimit) return invalid_input(node_.describe() + ": pad " + std::to_string(pad));
        }
        std::vector<int64_t> before(in.size(), 0);
        Shape out = in;
        for (size_t k = 0; k < axes.size(); ++k) {
            before[axes[k]] = pads[k];
            out[axes[k]] = in[axes[k]] + pads[k] + pads[k + axes.size()];
            if (mode_ != PadMode::kConstant && in[axes[k]] == 0 && out[axes[k]] > 0) {
                return invalid_input(node_.describe() + ": cannot pad an empty axis in " +
                                     node_.attr_string("mode", "") + " mode");
            }
        }
        PARE_RETURN_IF_ERROR(check_output_shape(out, node_));
        const std::vector<int64_t> strides = shape_strides(in);
        offsets_.assign(in.size(), {});
        for (size_t a = 0; a < in.size(); ++a) {
            for (int64_t o = 0; o < out[a]; ++o) {
                const int64_t i = source_coordinate(mode_, o - before[a], in[a]);
                offsets_[a].push_back(i < 0 ? kFillOffset : i * strides[a]);
            }
        }
        outputs[0].shape = out;
        outputs[0].shape_known = true;
        return Status();
    }

    Status run(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs) override {
        const Tensor& src = inputs[0];
        Tensor fill;
        if (opset_ >= 11 && inputs.size() > 2 && inputs[2].defined() && inputs[2].numel() == 1) {
            fill = inputs[2];
        } else {
            const double value = opset_ >= 11 ? 0.0 : node_.attr_float("value", 0.0f);
            fill = tensor_from_vector<double>({value}, {}).cast(src.dtype());
        }
        gather_by_axis_offsets(src.raw(), offsets_, outputs[0].raw(), element_bytes_, fill.raw());
        return Status();
    }

private:
    Status parse_mode() {
        const std::string mode = node_.attr_string("mode", "constant");
        if (mode == "constant") mode_ = PadMode::kConstant;
        else if (mode == "reflect") mode_ = PadMode::kReflect;
        else if (mode == "edge") mode_ = PadMode::kEdge;
        else if (mode == "wrap") mode_ = PadMode::kWrap;
        else return invalid_input(node_.describe() + ": unknown mode " + mode);
        return Status();
    }

    const Node& node_;
    int64_t opset_;
    PadMode mode_ = PadMode::kConstant;
    AxisOffsets offsets_;
    size_t element_bytes_ = 0;
};

}  // namespace

void register_pad_kernels(KernelRegistry& registry) {
    registry.add_reference("Pad", kernel_factory<PadKernel>());
}

}  // namespace pare
