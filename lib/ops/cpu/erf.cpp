// Fast float32 Erf on glibc's vector math library (core/vector_math.h). oneDNN has no Erf, and GELU written with Erf
// survives inside QDQ models (their Q/DQ pairs break the Gelu fusion pattern), where the reference kernel's
// double-precision loop was the slowest node. libmvec's erff is within 4 ulp of the correctly rounded result; the
// reference rounds a double erf once.
#include <algorithm>

#include "core/vector_math.h"
#include "ops/cpu/dnnl_kernel.h"
#include "ops/kernel_util.h"
#include "ops/register_kernels.h"
#include "ops/registry.h"

namespace pare {

namespace {

class ErfKernel : public DnnlKernel {
public:
    using DnnlKernel::DnnlKernel;

protected:
    Status prepare_dnnl(const std::vector<InputInfo>& inputs, std::vector<OutputInfo>& outputs) override {
        PARE_RETURN_IF_ERROR(check_input_count(node(), inputs, 1, 1));
        if (inputs[0].dtype != DType::kF32) return unsupported("only float32 Erf");
        outputs = {OutputInfo{DType::kF32, inputs[0].shape}};
        return Status();
    }

    Status run_dnnl(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs) override {
        constexpr int64_t kBlock = 16384;
        const int64_t n = inputs[0].numel(), blocks = (n + kBlock - 1) / kBlock;
        const float* src = inputs[0].data<float>();
        float* dst = outputs[0].data<float>();
#pragma omp parallel for if (blocks > 4)
        for (int64_t b = 0; b < blocks; ++b)
            vector_erf(src + b * kBlock, dst + b * kBlock, std::min(kBlock, n - b * kBlock));
        return Status();
    }
};

}  // namespace

void register_cpu_erf_kernel(KernelRegistry& registry) {
    registry.add(KernelEntry{
        "", "Erf", "cpu", Backend::kCpu, 10,
        [](const KernelContext& context) -> Result<KernelPtr> { return KernelPtr(new ErfKernel(context)); }});
}

}  // namespace pare
