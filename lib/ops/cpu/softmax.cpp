// oneDNN Softmax and LogSoftmax on float32: along one axis from opset 13, and over the flattened trailing axes
// (the input coerced to 2-D at `axis`) before.
#include "ops/cpu/dnnl_kernel.h"
#include "ops/kernel_util.h"
#include "ops/register_kernels.h"
#include "ops/registry.h"

namespace pare {

namespace {

class DnnlSoftmax : public DnnlKernel {
public:
    DnnlSoftmax(const KernelContext& context, bool log) : DnnlKernel(context), log_(log) {}

protected:
    Status prepare_dnnl(const std::vector<InputInfo>& inputs, std::vector<OutputInfo>& outputs) override {
        const Node& n = node();
        PARE_RETURN_IF_ERROR(check_input_count(n, inputs, 1, 1));
        if (inputs[0].dtype != DType::kF32) return unsupported("only float32 softmax");
        const Shape& x = inputs[0].shape;
        if (x.empty() || shape_numel(x) == 0) return unsupported("softmax of a scalar or an empty tensor");
        const bool per_axis = opset() >= 13;
        PARE_ASSIGN_OR_RETURN(const int64_t axis,
                              normalize_axis(n.attr_int("axis", per_axis ? -1 : 1), static_cast<int64_t>(x.size()), n));
        outputs = {OutputInfo{DType::kF32, x}};
        Shape view = x;
        int softmax_axis = static_cast<int>(axis);
        if (!per_axis) {
            view = {shape_numel(Shape(x.begin(), x.begin() + axis)), shape_numel(Shape(x.begin() + axis, x.end()))};
            softmax_axis = 1;
        }
        set_work(10.0 * static_cast<double>(shape_numel(x)), 8.0 * static_cast<double>(shape_numel(x)));
        const dnnl::memory::desc data = plain_desc(view, DType::kF32);
        if (log_) {
            const dnnl::logsoftmax_forward::primitive_desc pd(
                dnnl::logsoftmax_forward::desc(dnnl::prop_kind::forward_inference, data, softmax_axis), dnnl_engine());
            step_ = DnnlStep::src_to_dst(dnnl::logsoftmax_forward(pd), data, data);
        } else {
            const dnnl::softmax_forward::primitive_desc pd(
                dnnl::softmax_forward::desc(dnnl::prop_kind::forward_inference, data, softmax_axis), dnnl_engine());
            step_ = DnnlStep::src_to_dst(dnnl::softmax_forward(pd), data, data);
        }
        return Status();
    }

    Status run_dnnl(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs) override {
        step_.run_src_to_dst(inputs[0].raw(), outputs[0].raw());
        return Status();
    }

private:
    bool log_;
    DnnlStep step_;
};

}  // namespace

void register_onednn_softmax_kernels(KernelRegistry& registry) {
    for (const bool log : {false, true}) {
        registry.add(KernelEntry{"", log ? "LogSoftmax" : "Softmax", "onednn", Backend::kCpu, 10,
                                 [log](const KernelContext& context) -> Result<KernelPtr> {
                                     return KernelPtr(new DnnlSoftmax(context, log));
                                 }});
    }
}

}  // namespace pare
