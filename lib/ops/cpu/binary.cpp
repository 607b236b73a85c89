// oneDNN binary Add, Sub, Mul, Div, and two-input Max and Min on float32. oneDNN broadcasts only its second operand
// (dims of 1), so the operands of a commutative op swap when the first one is the broadcast one; a Sub or Div that
// broadcasts its first operand, or broadcasts both, runs on the reference kernel.
#include "ops/cpu/dnnl_kernel.h"
#include "ops/kernel_util.h"
#include "ops/register_kernels.h"
#include "ops/registry.h"

namespace pare {

namespace {

using alg = dnnl::algorithm;

class DnnlBinary : public DnnlKernel {
public:
    DnnlBinary(const KernelContext& context, alg algorithm, bool commutative)
        : DnnlKernel(context), algorithm_(algorithm), commutative_(commutative) {}

protected:
    Status prepare_dnnl(const std::vector<InputInfo>& inputs, std::vector<OutputInfo>& outputs) override {
        const Node& n = node();
        PARE_RETURN_IF_ERROR(check_input_count(n, inputs, 2, 2));
        if (inputs[0].dtype != DType::kF32 || inputs[1].dtype != DType::kF32) return unsupported("only float32");
        if (opset() > 0 && opset() < 7 && n.attr_int("broadcast", 0) != 0) return unsupported("legacy broadcast");
        PARE_ASSIGN_OR_RETURN(const Shape y, broadcast_shapes(inputs[0].shape, inputs[1].shape));
        outputs = {OutputInfo{DType::kF32, y}};
        swapped_ = inputs[0].shape != y;
        if (swapped_ && (!commutative_ || inputs[1].shape != y)) return unsupported("the first operand broadcasts");
        if (shape_numel(y) == 0) return unsupported("an empty tensor");
        const Shape& full = inputs[swapped_ ? 1 : 0].shape;
        const Shape& other = inputs[swapped_ ? 0 : 1].shape;
        Shape padded(full.size() - other.size(), 1);
        padded.insert(padded.end(), other.begin(), other.end());
        set_work(static_cast<double>(shape_numel(y)), 12.0 * static_cast<double>(shape_numel(y)));
        const dnnl::memory::desc src0 = plain_desc(full, DType::kF32), src1 = plain_desc(padded, DType::kF32);
        const dnnl::binary::primitive_desc pd(dnnl::binary::desc(algorithm_, src0, src1, src0), dnnl_engine());
        step_ = DnnlStep(dnnl::binary(pd), {});
        step_.bind(DNNL_ARG_SRC_0, dnnl::memory(src0, dnnl_engine(), DNNL_MEMORY_NONE));
        step_.bind(DNNL_ARG_SRC_1, dnnl::memory(src1, dnnl_engine(), DNNL_MEMORY_NONE));
        step_.bind(DNNL_ARG_DST, dnnl::memory(src0, dnnl_engine(), DNNL_MEMORY_NONE));
        return Status();
    }

    Status run_dnnl(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs) override {
        step_.set_data(DNNL_ARG_SRC_0, inputs[swapped_ ? 1 : 0].raw());
        step_.set_data(DNNL_ARG_SRC_1, inputs[swapped_ ? 0 : 1].raw());
        step_.set_data(DNNL_ARG_DST, outputs[0].raw());
        step_.execute();
        return Status();
    }

private:
    alg algorithm_;
    bool commutative_;
    bool swapped_ = false;
    DnnlStep step_;
};

}  // namespace

void register_onednn_binary_kernels(KernelRegistry& registry) {
    const std::tuple<const char*, alg, bool> ops[] = {{"Add", alg::binary_add, true}, {"Sub", alg::binary_sub, false},
                                                      {"Mul", alg::binary_mul, true}, {"Div", alg::binary_div, false},
                                                      {"Max", alg::binary_max, true}, {"Min", alg::binary_min, true}};
    for (const auto& [op, algorithm, commutative] : ops) {
        const alg a = algorithm;
        const bool c = commutative;
        registry.add(KernelEntry{"", op, "onednn", Backend::kCpu, 10, [a, c](const KernelContext& context) -> Result<KernelPtr> {
                                     if (context.node.num_inputs() != 2) return unsupported("not two inputs");
                                     return KernelPtr(new DnnlBinary(context, a, c));
                                 }});
    }
}

}  // namespace pare
