// Axis permutations: Transpose, and DepthToSpace / SpaceToDepth (a reshape, a transpose and a reshape, written
// directly as per-axis source offsets). All of them copy element bytes, so every whole-byte dtype works.
#include <numeric>

#include "ops/index_util.h"
#include "ops/kernel_util.h"
#include "ops/register_kernels.h"
#include "ops/registry.h"

namespace pare {

namespace {

// Base for kernels that compute AxisOffsets in prepare and gather with them in run.
class PermuteKernel : public Kernel {
public:
    explicit PermuteKernel(const KernelContext& context) : node_(context.node) {}

    Status run(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs) override {
        gather_by_axis_offsets(inputs[0].raw(), offsets_, outputs[0].raw(), element_bytes_);
        return Status();
    }

protected:
    const Node& node_;
    AxisOffsets offsets_;
    size_t element_bytes_ = 0;
};

class TransposeKernel : public PermuteKernel {
public:
    using PermuteKernel::PermuteKernel;

    Status prepare(const std::vector<InputInfo>& inputs, std::vector<OutputInfo>& outputs) override {
        PARE_RETURN_IF_ERROR(check_input_count(node_, inputs, 1, 1));
        PARE_ASSIGN_OR_RETURN(element_bytes_, movable_element_bytes(inputs[0].dtype, node_));
        const Shape& in = inputs[0].shape;
        const int64_t rank = static_cast<int64_t>(in.size());
        std::vector<int64_t> perm = node_.attr_ints("perm");
        if (!node_.has_attribute("perm")) {
            perm.resize(in.size());
            std::iota(perm.rbegin(), perm.rend(), 0);  // reverse the axes
        }
        auto checked = normalize_axes(perm, rank, node_);
        if (!checked.ok() || static_cast<int64_t>(perm.size()) != rank) {
            return invalid_input(node_.describe() + ": perm is not a permutation of the axes of " +
                                 shape_to_string(in));
        }
        const std::vector<int64_t> strides = shape_strides(in);
        Shape out;
        offsets_.clear();
        for (int64_t axis : *checked) {
            out.push_back(in[axis]);
            offsets_.push_back(strided_offsets(in[axis], 0, 1, strides[axis]));
        }
        outputs = {OutputInfo{inputs[0].dtype, out}};
        return Status();
    }
};

// Checks a 4-D input and a positive blocksize; returns the blocksize.
Result<int64_t> block_size(const Node& node, const Shape& in) {
    const int64_t block = node.attr_int("blocksize", 0);
    if (block <= 0) return invalid_input(node.describe() + ": blocksize must be positive");
    if (in.size() != 4) return invalid_input(node.describe() + " needs a 4-D input, not " + shape_to_string(in));
    return block;
}

// DepthToSpace: [N, C*b*b, H, W] -> [N, C, H*b, W*b]. DCR reads input channel (bh*b + bw)*C + c, CRD reads
// c*b*b + bh*b + bw, for output pixel (y, x) = (h*b + bh, w*b + bw).
class DepthToSpaceKernel : public PermuteKernel {
public:
    explicit DepthToSpaceKernel(const KernelContext& context) : PermuteKernel(context), opset_(context.opset) {}

    Status prepare(const std::vector<InputInfo>& inputs, std::vector<OutputInfo>& outputs) override {
        PARE_RETURN_IF_ERROR(check_input_count(node_, inputs, 1, 1));
        PARE_ASSIGN_OR_RETURN(element_bytes_, movable_element_bytes(inputs[0].dtype, node_));
        const Shape& in = inputs[0].shape;
        PARE_ASSIGN_OR_RETURN(const int64_t b, block_size(node_, in));
        const std::string mode = opset_ >= 11 ? node_.attr_string("mode", "DCR") : "DCR";
        if (mode != "DCR" && mode != "CRD") return invalid_input(node_.describe() + ": unknown mode " + mode);
        if (in[1] % (b * b) != 0) {
            return invalid_input(node_.describe() + ": channels of " + shape_to_string(in) + " do not divide by " +
                                 std::to_string(b * b));
        }
        const int64_t channels = in[1] / (b * b);
        const std::vector<int64_t> s = shape_strides(in);
        const Shape out = {in[0], channels, in[2] * b, in[3] * b};
        // Stride of one step of bh and of bw within the channel axis.
        const int64_t bh_stride = (mode == "DCR" ? b * channels : b) * s[1];
        const int64_t bw_stride = (mode == "DCR" ? channels : 1) * s[1];
        offsets_ = {strided_offsets(out[0], 0, 1, s[0]),
                    strided_offsets(out[1], 0, 1, (mode == "DCR" ? 1 : b * b) * s[1]), {}, {}};
        for (int64_t y = 0; y < out[2]; ++y) offsets_[2].push_back((y / b) * s[2] + (y % b) * bh_stride);
        for (int64_t x = 0; x < out[3]; ++x) offsets_[3].push_back((x / b) * s[3] + (x % b) * bw_stride);
        outputs = {OutputInfo{inputs[0].dtype, out}};
        return Status();
    }

private:
    int64_t opset_;
};

// SpaceToDepth: [N, C, H*b, W*b] -> [N, C*b*b, H, W]; output channel (bh*b + bw)*C + c reads pixel
// (h*b + bh, w*b + bw) of channel c.
class SpaceToDepthKernel : public PermuteKernel {
public:
    using PermuteKernel::PermuteKernel;

    Status prepare(const std::vector<InputInfo>& inputs, std::vector<OutputInfo>& outputs) override {
        PARE_RETURN_IF_ERROR(check_input_count(node_, inputs, 1, 1));
        PARE_ASSIGN_OR_RETURN(element_bytes_, movable_element_bytes(inputs[0].dtype, node_));
        const Shape& in = inputs[0].shape;
        PARE_ASSIGN_OR_RETURN(const int64_t b, block_size(node_, in));
        if (in[2] % b != 0 || in[3] % b != 0) {
            return invalid_input(node_.describe() + ": spatial dims of " + shape_to_string(in) + " do not divide by " +
                                 std::to_string(b));
        }
        const std::vector<int64_t> s = shape_strides(in);
        const int64_t channels = in[1];
        const Shape out = {in[0], channels * b * b, in[2] / b, in[3] / b};
        offsets_ = {strided_offsets(out[0], 0, 1, s[0]), {}, strided_offsets(out[2], 0, b, s[2]),
                    strided_offsets(out[3], 0, b, s[3])};
        for (int64_t co = 0; co < out[1]; ++co) {
            const int64_t c = co % channels, bw = (co / channels) % b, bh = co / (channels * b);
            offsets_[1].push_back(c * s[1] + bh * s[2] + bw * s[3]);
        }
        outputs = {OutputInfo{inputs[0].dtype, out}};
        return Status();
    }
};

}  // namespace

void register_transpose_kernels(KernelRegistry& registry) {
    registry.add_reference("Transpose", kernel_factory<TransposeKernel>());
    registry.add_reference("DepthToSpace", kernel_factory<DepthToSpaceKernel>());
    registry.add_reference("SpaceToDepth", kernel_factory<SpaceToDepthKernel>());
}

}  // namespace pare
