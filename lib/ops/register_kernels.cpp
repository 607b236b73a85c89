#include "ops/register_kernels.h"

#include "ops/registry.h"

namespace pare {

void register_all_kernels(KernelRegistry& registry) {
    // Fast kernels before reference ones only matters for readability: candidates() sorts by rank.
    register_unary_kernels(registry);
    register_view_kernels(registry);
    register_shape_kernels(registry);
    register_generator_kernels(registry);
    register_transpose_kernels(registry);
    register_concat_split_kernels(registry);
    register_slice_kernels(registry);
    register_gather_kernels(registry);
    register_scatter_kernels(registry);
    register_expand_tile_kernels(registry);
    register_pad_kernels(registry);
    register_resize_kernels(registry);
}

}  // namespace pare
