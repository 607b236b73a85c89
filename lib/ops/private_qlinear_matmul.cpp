// Reference kernel of pare's private QLinearMatMul: QLinearMatMul plus an int32 bias added to the accumulator
// (input 8, one value per column) and an activation applied in the quantized domain. ONNX's QLinearMatMul cannot take
// a bias after the fact (its output is already requantized), so this kernel runs the MatMulInteger reference kernel
// and requantizes itself, rounding the way the QLinearMatMul reference does: acc * (a_scale * b_scale / y_scale)
// with the multiplier in float and the product in double, ties to even.
#include <algorithm>
#include <cmath>
#include <memory>

#include "graph/fused_ops.h"
#include "ops/activation.h"
#include "ops/kernel_util.h"
#include "ops/register_kernels.h"
#include "ops/registry.h"

namespace pare {

namespace {

class PrivateQLinearMatMul : public Kernel {
public:
    static Result<KernelPtr> create(const KernelContext& context) {
        std::unique_ptr<PrivateQLinearMatMul> kernel(new PrivateQLinearMatMul());
        kernel->node_ = &context.node;
        PARE_ASSIGN_OR_RETURN(kernel->activation_, activation_of_private(context.node));
        const Node& node = context.node;
        onnx::NodeProto proto;
        proto.set_op_type("MatMulInteger");
        proto.set_name(node.name());
        for (int i : {0, 3, 2, 5}) proto.add_input(node.input(i));
        proto.add_output(node.output(0));
        kernel->integer_node_ = std::make_unique<Node>(std::move(proto));
        const KernelEntry* entry = KernelRegistry::instance().reference("", "MatMulInteger");
        if (!entry) return unsupported("no reference kernel for MatMulInteger");
        const KernelContext integer_context{*kernel->integer_node_, context.opset, context.graph, {}, {}, context.threads};
        PARE_ASSIGN_OR_RETURN(kernel->integer_, entry->create(integer_context));
        return KernelPtr(kernel.release());
    }

    Status prepare(const std::vector<InputInfo>& inputs, std::vector<OutputInfo>& outputs) override {
        const Node& n = *node_;
        PARE_RETURN_IF_ERROR(check_input_count(n, inputs, 8, 9));
        for (int i : {1, 4, 6, 7}) {
            if (!inputs[i].value) return unsupported(n.describe() + ": scales and the output zero point must be constant");
        }
        for (int i : {1, 4, 6}) PARE_RETURN_IF_ERROR(check_input_dtype(n, inputs, i, {DType::kF32}));
        PARE_RETURN_IF_ERROR(check_input_dtype(n, inputs, 7, {DType::kU8, DType::kI8}));
        const std::vector<InputInfo> integer_inputs = {inputs[0], inputs[3], inputs[2], inputs[5]};
        std::vector<OutputInfo> integer_outputs;
        PARE_RETURN_IF_ERROR(integer_->prepare(integer_inputs, integer_outputs));
        const Shape& y = integer_outputs[0].shape;
        columns_ = y.empty() ? 1 : y.back();
        const float a_scale = inputs[1].value->data<float>()[0];
        const Tensor& b_scale = *inputs[4].value;
        const float y_scale = inputs[6].value->data<float>()[0];
        if (inputs[1].value->numel() != 1 || inputs[6].value->numel() != 1 ||
            (b_scale.numel() != 1 && b_scale.numel() != columns_)) {
            return unsupported(n.describe() + ": a and y per tensor, b per tensor or per column");
        }
        multipliers_.clear();
        for (int64_t c = 0; c < columns_; ++c) {
            multipliers_.push_back(a_scale * b_scale.data<float>()[b_scale.numel() == 1 ? 0 : c] / y_scale);
        }
        has_bias_ = inputs.size() > 8 && inputs[8].present;
        if (has_bias_ && (inputs[8].dtype != DType::kI32 || shape_numel(inputs[8].shape) != columns_)) {
            return invalid_input(n.describe() + ": bias " + shape_to_string(inputs[8].shape) + " for " +
                                 std::to_string(columns_) + " columns");
        }
        const DType type = inputs[7].dtype;
        y_zero_ = static_cast<int64_t>(inputs[7].value->element_as_double(0));
        const int64_t lo = type == DType::kU8 ? 0 : -128, hi = type == DType::kU8 ? 255 : 127;
        PARE_ASSIGN_OR_RETURN(clamp_, quantized_activation_clamp(activation_, y_scale, y_zero_, lo, hi));
        accumulator_ = OutputInfo{DType::kI32, y};
        outputs = {OutputInfo{type, y}};
        return Status();
    }

    Status run(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs) override {
        std::vector<Tensor> acc = {Tensor(DType::kI32, accumulator_.shape)};
        PARE_RETURN_IF_ERROR(integer_->run({inputs[0], inputs[3], inputs[2], inputs[5]}, acc));
        const int32_t* sum = acc[0].data<int32_t>();
        const int32_t* bias = has_bias_ ? inputs[8].data<int32_t>() : nullptr;
        Tensor& dst = outputs[0];
        for (int64_t i = 0, count = dst.numel(); i < count; ++i) {
            const int64_t c = i % columns_;
            // The accumulator wraps in 32 bits, as the QLinear reference kernels let it.
            const int32_t total = static_cast<int32_t>(static_cast<uint32_t>(sum[i]) + static_cast<uint32_t>(bias ? bias[c] : 0));
            const double scaled = std::nearbyint(static_cast<double>(total) * static_cast<double>(multipliers_[c]));
            const int64_t q = std::clamp<int64_t>(static_cast<int64_t>(std::clamp(scaled, -1e9, 1e9)) + y_zero_,
                                                  clamp_.lo, clamp_.hi);
            if (dst.dtype() == DType::kU8) dst.data<uint8_t>()[i] = static_cast<uint8_t>(q);
            else dst.data<int8_t>()[i] = static_cast<int8_t>(q);
        }
        return Status();
    }

private:
    PrivateQLinearMatMul() = default;

    const Node* node_ = nullptr;
    std::unique_ptr<Node> integer_node_;
    KernelPtr integer_;
    Activation activation_;
    OutputInfo accumulator_;
    std::vector<float> multipliers_;
    int64_t columns_ = 1;
    int64_t y_zero_ = 0;
    bool has_bias_ = false;
    QuantizedClamp clamp_;
};

}  // namespace

void register_private_qlinear_matmul_kernel(KernelRegistry& registry) {
    registry.add(KernelEntry{kPareDomain, "QLinearMatMul", "reference", Backend::kCpu, kReferenceRank,
                             PrivateQLinearMatMul::create});
}

}  // namespace pare
