// One registration function per kernel file group; register_kernels.cpp calls them all. Explicit calls rather
// than static registrars, so nothing depends on the linker keeping unreferenced objects.
#pragma once

namespace pare {

class KernelRegistry;

void register_all_kernels(KernelRegistry& registry);

// Reference kernels (lib/ops/ref).
void register_unary_kernels(KernelRegistry& registry);
// Reference kernels of pare's private ops (lib/ops/private_reference.cpp).
void register_private_reference_kernels(KernelRegistry& registry);
void register_private_qlinear_matmul_kernel(KernelRegistry& registry);

// oneDNN kernels (lib/ops/cpu).
void register_onednn_conv_kernels(KernelRegistry& registry);
void register_onednn_conv_transpose_kernels(KernelRegistry& registry);
void register_onednn_matmul_kernels(KernelRegistry& registry);
void register_onednn_pool_kernels(KernelRegistry& registry);
void register_onednn_softmax_kernels(KernelRegistry& registry);
void register_onednn_normalization_kernels(KernelRegistry& registry);
void register_onednn_transpose_kernels(KernelRegistry& registry);
void register_onednn_eltwise_kernels(KernelRegistry& registry);
void register_onednn_binary_kernels(KernelRegistry& registry);
void register_cpu_quantize_kernels(KernelRegistry& registry);  // plain loops, no oneDNN

}  // namespace pare
