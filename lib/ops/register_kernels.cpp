#include "ops/register_kernels.h"

#include "ops/registry.h"

namespace pare {

void register_all_kernels(KernelRegistry& registry) {
    // Fast kernels before reference ones only matters for readability: candidates() sorts by rank.
    register_unary_kernels(registry);
    register_private_reference_kernels(registry);
    register_private_qlinear_matmul_kernel(registry);
    register_onednn_conv_kernels(registry);
    register_onednn_conv_transpose_kernels(registry);
    register_onednn_matmul_kernels(registry);
    register_onednn_pool_kernels(registry);
    register_onednn_softmax_kernels(registry);
    register_onednn_normalization_kernels(registry);
    register_onednn_transpose_kernels(registry);
    register_onednn_eltwise_kernels(registry);
    register_onednn_binary_kernels(registry);
    register_cpu_quantize_kernels(registry);
}

}  // namespace pare
