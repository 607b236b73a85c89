#include "ops/register_kernels.h"

#include "ops/registry.h"

namespace pare {

// com.microsoft MatMulNBits (ops/ref/matmul_nbits.cpp). Declared here rather than in register_kernels.h so adding it
// does not recompile every kernel file that includes the header.
void register_matmul_nbits_kernels(KernelRegistry& registry);

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
    register_matmul_nbits_kernels(registry);
    register_integer_matmul_kernels(registry);
    register_integer_conv_kernels(registry);
    register_control_flow_kernels(registry);
    register_binary_kernels(registry);
    register_variadic_kernels(registry);
    register_logic_kernels(registry);
    register_clip_kernels(registry);
    register_cast_kernels(registry);
    register_reduce_kernels(registry);
    register_argminmax_kernels(registry);
    register_cumsum_kernels(registry);
    register_topk_kernels(registry);
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
    register_cpu_erf_kernel(registry);
}

}  // namespace pare
