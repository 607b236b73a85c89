#include "ops/cpu/dnnl_kernel.h"

#include <omp.h>

#include "core/log.h"
#include "ops/registry.h"

namespace pare {

namespace {

// Limits OpenMP (and so oneDNN) to one thread on the calling thread while alive, when `active`.
class SingleThreadScope {
public:
    explicit SingleThreadScope(bool active) : previous_(active ? omp_get_max_threads() : 0) {
        if (previous_ > 1) omp_set_num_threads(1);
    }
    ~SingleThreadScope() {
        if (previous_ > 1) omp_set_num_threads(previous_);
    }
    SingleThreadScope(const SingleThreadScope&) = delete;
    SingleThreadScope& operator=(const SingleThreadScope&) = delete;

private:
    int previous_;
};

// One core's rough speed: 100 GFLOP/s of f32 arithmetic, 10 GB/s of memory traffic.
constexpr double kFlopsPerMicrosecond = 1e5;
constexpr double kBytesPerMicrosecond = 1e4;
// Below this, splitting a layer over two threads measured slower than one (MobileNet's 1x1 layers at batch 1).
constexpr double kParallelMicroseconds = 50.0;

}  // namespace

DnnlKernel::DnnlKernel(const KernelContext& context)
    : node_(&context.node), graph_(&context.graph), opset_(context.opset), threads_(context.threads) {}

void DnnlKernel::set_work(double flops, double bytes) {
    single_thread_ = flops / kFlopsPerMicrosecond + bytes / kBytesPerMicrosecond < kParallelMicroseconds;
    if (single_thread_ && omp_get_max_threads() > 1) omp_set_num_threads(1);  // prepare() restores it
}

Status DnnlKernel::prepare(const std::vector<InputInfo>& inputs, std::vector<OutputInfo>& outputs) {
    fallback_.reset();
    fallback_reason_.clear();
    single_thread_ = false;
    Status status;
    const int threads = omp_get_max_threads();
    const Status thrown = dnnl_call(*node_, ErrorCode::kUnsupported, [&] { status = prepare_dnnl(inputs, outputs); });
    if (omp_get_max_threads() != threads) omp_set_num_threads(threads);
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
    const SingleThreadScope scope(single_thread_);
    const Status thrown = dnnl_call(*node_, ErrorCode::kInternal, [&] { status = run_dnnl(inputs, outputs); });
    return thrown.ok() ? status : thrown;
}

}  // namespace pare
