// Fast float32 Erf on glibc's vector math library (libmvec): 16 lanes with AVX-512, 8 with AVX2, chosen at run
// time, and scalar erff for the tail and older CPUs. oneDNN has no Erf, and GELU written with Erf survives inside QDQ
// models (their Q/DQ pairs break the Gelu fusion pattern), where the reference kernel's double-precision loop was
// the slowest node. libmvec's erff is within 4 ulp of the correctly rounded result (glibc manual); the reference
// rounds a double erf once.
#include <immintrin.h>

#include <cmath>

#include "ops/cpu/dnnl_kernel.h"
#include "ops/kernel_util.h"
#include "ops/register_kernels.h"
#include "ops/registry.h"

extern "C" __m512 _ZGVeN16v_erff(__m512);
extern "C" __m256 _ZGVdN8v_erff(__m256);

namespace pare {

namespace {

__attribute__((target("avx512f"))) void erf_avx512(const float* src, float* dst, int64_t n) {
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) _mm512_storeu_ps(dst + i, _ZGVeN16v_erff(_mm512_loadu_ps(src + i)));
    for (; i < n; ++i) dst[i] = std::erf(src[i]);
}

__attribute__((target("avx2"))) void erf_avx2(const float* src, float* dst, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(dst + i, _ZGVdN8v_erff(_mm256_loadu_ps(src + i)));
    for (; i < n; ++i) dst[i] = std::erf(src[i]);
}

void erf_scalar(const float* src, float* dst, int64_t n) {
    for (int64_t i = 0; i < n; ++i) dst[i] = std::erf(src[i]);
}

using ErfFn = void (*)(const float*, float*, int64_t);

ErfFn best_erf() {
    if (__builtin_cpu_supports("avx512f")) return erf_avx512;
    if (__builtin_cpu_supports("avx2")) return erf_avx2;
    return erf_scalar;
}

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
        static const ErfFn erf = best_erf();
        constexpr int64_t kBlock = 16384;
        const int64_t n = inputs[0].numel(), blocks = (n + kBlock - 1) / kBlock;
        const float* src = inputs[0].data<float>();
        float* dst = outputs[0].data<float>();
#pragma omp parallel for if (blocks > 4)
        for (int64_t b = 0; b < blocks; ++b) erf(src + b * kBlock, dst + b * kBlock, std::min(kBlock, n - b * kBlock));
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
