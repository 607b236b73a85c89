#include "ops/register_kernels.h"

#include "ops/registry.h"

namespace pare {

void register_all_kernels(KernelRegistry& registry) {
    // Fast kernels before reference ones only matters for readability: candidates() sorts by rank.
    register_unary_kernels(registry);
    register_private_reference_kernels(registry);
    register_onednn_conv_kernels(registry);
    register_onednn_matmul_kernels(registry);
}

}  // namespace pare
