#include "ops/cpu/dnnl_kernel.h"

#include "core/log.h"
#include "ops/registry.h"

namespace pare {

DnnlKernel::DnnlKernel(const KernelContext& context)
    : node_(&context.node), graph_(&context.graph), opset_(context.opset), threads_(context.threads) {}

Status DnnlKernel::prepare(const std::vector<InputInfo>& inputs, std::vector<OutputInfo>& outputs) {
    fallback_.reset();
    fallback_reason_.clear();
    Status status;
    const Status thrown = dnnl_call(node_->describe(), ErrorCode::kUnsupported,
                                    [&] { status = prepare_dnnl(inputs, outputs); });
    if (!thrown.ok()) status = thrown;
    if (status.code() != ErrorCode::kUnsupported) return status;

    const KernelEntry* entry = KernelRegistry::instance().reference(node_->domain(), node_->op_type());
    if (!entry) return status;
    fallback_reason_ = status.message();
    log_verbose(node_->describe() + ": onednn: " + fallback_reason_ + "; running the reference kernel");
    const KernelContext context{*node_, opset_, *graph_, {}, {}, threads_};
    PARE_ASSIGN_OR_RETURN(fallback_, entry->create(context));
    outputs.clear();
    return fallback_->prepare(inputs, outputs);
}

Status DnnlKernel::run(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs) {
    if (fallback_) return fallback_->run(inputs, outputs);
    Status status;
    const Status thrown = dnnl_call(node_->describe(), ErrorCode::kInternal, [&] { status = run_dnnl(inputs, outputs); });
    return thrown.ok() ? status : thrown;
}

}  // namespace pare
