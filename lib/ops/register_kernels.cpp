#include "ops/register_kernels.h"

#include "ops/registry.h"

namespace pare {

void register_all_kernels(KernelRegistry& registry) {
    // Fast kernels before reference ones only matters for readability: candidates() sorts by rank.
    register_unary_kernels(registry);
    register_conv_kernels(registry);
    register_pool_kernels(registry);
    register_matmul_kernels(registry);
    register_softmax_kernels(registry);
    register_batch_norm_kernels(registry);
    register_norm_kernels(registry);
    register_rnn_kernels(registry);
    register_quantize_linear_kernels(registry);
    register_integer_matmul_kernels(registry);
    register_integer_conv_kernels(registry);
    register_control_flow_kernels(registry);
}

}  // namespace pare
