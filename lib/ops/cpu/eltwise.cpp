// oneDNN element-wise activations on float32 for nodes that were not fused into a producer. oneDNN's vectorized
// transcendental functions differ from the reference (double precision, rounded once) by a few ulps. Not Log: oneDNN
// 2.6's log(1) is -1.4e-6 instead of 0, outside ONNX's test tolerance.
#include <limits>

#include "ops/cpu/dnnl_kernel.h"
#include "ops/kernel_util.h"
#include "ops/register_kernels.h"
#include "ops/registry.h"

namespace pare {

namespace {

using alg = dnnl::algorithm;

struct EltwiseOp {
    alg algorithm;
    float alpha;
    float beta;
};

// Relu, LeakyRelu... as oneDNN algorithm and parameters; Clip's bounds are read in prepare. Log stays on the
// reference kernel: oneDNN's approximation gives -1.4e-6 for log(1), outside ONNX's tolerance.
std::optional<EltwiseOp> eltwise_of(const Node& node) {
    const std::string& op = node.op_type();
    if (op == "Relu") return EltwiseOp{alg::eltwise_relu, 0.0f, 0.0f};
    if (op == "LeakyRelu") return EltwiseOp{alg::eltwise_relu, node.attr_float("alpha", 0.01f), 0.0f};
    if (op == "Sigmoid") return EltwiseOp{alg::eltwise_logistic, 0.0f, 0.0f};
    if (op == "Tanh") return EltwiseOp{alg::eltwise_tanh, 0.0f, 0.0f};
    if (op == "Exp") return EltwiseOp{alg::eltwise_exp, 0.0f, 0.0f};
    if (op == "Sqrt") return EltwiseOp{alg::eltwise_sqrt, 0.0f, 0.0f};
    if (op == "Abs") return EltwiseOp{alg::eltwise_abs, 0.0f, 0.0f};
    if (op == "Neg") return EltwiseOp{alg::eltwise_linear, -1.0f, 0.0f};
    if (op == "Elu") return EltwiseOp{alg::eltwise_elu, node.attr_float("alpha", 1.0f), 0.0f};
    if (op == "HardSwish") return EltwiseOp{alg::eltwise_hardswish, 0.0f, 0.0f};
    if (op == "Softplus") return EltwiseOp{alg::eltwise_soft_relu, 0.0f, 0.0f};
    if (op == "Gelu") {
        const bool tanh = node.attr_string("approximate", "none") == "tanh";
        return EltwiseOp{tanh ? alg::eltwise_gelu_tanh : alg::eltwise_gelu_erf, 0.0f, 0.0f};
    }
    if (op == "Clip") return EltwiseOp{alg::eltwise_clip, 0.0f, 0.0f};
    return std::nullopt;
}

class DnnlEltwise : public DnnlKernel {
public:
    DnnlEltwise(const KernelContext& context, EltwiseOp op) : DnnlKernel(context), op_(op) {}

protected:
    Status prepare_dnnl(const std::vector<InputInfo>& inputs, std::vector<OutputInfo>& outputs) override {
        const Node& n = node();
        const bool clip = n.op_type() == "Clip";
        PARE_RETURN_IF_ERROR(check_input_count(n, inputs, 1, clip ? 3 : 1));
        if (inputs[0].dtype != DType::kF32) return unsupported("only float32 activations");
        outputs = {OutputInfo{DType::kF32, inputs[0].shape}};
        EltwiseOp op = op_;
        if (clip) {
            op.alpha = n.attr_float("min", std::numeric_limits<float>::lowest());
            op.beta = n.attr_float("max", std::numeric_limits<float>::max());
            for (int i = 1; i < static_cast<int>(inputs.size()); ++i) {
                if (!inputs[i].present) continue;
                if (!inputs[i].value || inputs[i].dtype != DType::kF32 || inputs[i].value->numel() != 1) {
                    return unsupported("Clip bounds that are not constant scalars");
                }
                (i == 1 ? op.alpha : op.beta) = inputs[i].value->data<float>()[0];
            }
        }
        const int64_t count = shape_numel(inputs[0].shape);
        if (count == 0) return unsupported("an empty tensor");
        set_work(10.0 * static_cast<double>(count), 8.0 * static_cast<double>(count));
        const dnnl::memory::desc data = plain_desc({count}, DType::kF32);
        const dnnl::eltwise_forward::primitive_desc pd(
            dnnl::eltwise_forward::desc(dnnl::prop_kind::forward_inference, op.algorithm, data, op.alpha, op.beta),
            dnnl_engine());
        step_ = DnnlStep::src_to_dst(dnnl::eltwise_forward(pd), data, data);
        return Status();
    }

    Status run_dnnl(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs) override {
        step_.run_src_to_dst(inputs[0].raw(), outputs[0].raw());
        return Status();
    }

private:
    EltwiseOp op_;
    DnnlStep step_;
};

}  // namespace

void register_onednn_eltwise_kernels(KernelRegistry& registry) {
    for (const char* op : {"Relu", "LeakyRelu", "Sigmoid", "Tanh", "Exp", "Sqrt", "Abs", "Neg", "Elu",
                           "HardSwish", "Softplus", "Gelu", "Clip"}) {
        registry.add(KernelEntry{"", op, "onednn", Backend::kCpu, 10, [](const KernelContext& context) -> Result<KernelPtr> {
                                     const auto op = eltwise_of(context.node);
                                     if (!op) return unsupported("no oneDNN algorithm");
                                     return KernelPtr(new DnnlEltwise(context, *op));
                                 }});
    }
}

}  // namespace pare
