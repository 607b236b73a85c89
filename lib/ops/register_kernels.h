// One registration function per kernel file group; register_kernels.cpp calls them all. Explicit calls rather
// than static registrars, so nothing depends on the linker keeping unreferenced objects.
#pragma once

namespace pare {

class KernelRegistry;

void register_all_kernels(KernelRegistry& registry);

// Reference kernels (lib/ops/ref).
void register_unary_kernels(KernelRegistry& registry);
void register_binary_kernels(KernelRegistry& registry);     // Add Sub Mul Div Mod Pow BitShift PRelu
void register_variadic_kernels(KernelRegistry& registry);   // Max Min Sum Mean
void register_logic_kernels(KernelRegistry& registry);      // comparisons, And Or Xor Not, Where
void register_clip_kernels(KernelRegistry& registry);
void register_cast_kernels(KernelRegistry& registry);       // Cast CastLike
void register_reduce_kernels(KernelRegistry& registry);     // Reduce*
void register_argminmax_kernels(KernelRegistry& registry);  // ArgMax ArgMin
void register_cumsum_kernels(KernelRegistry& registry);
void register_topk_kernels(KernelRegistry& registry);

}  // namespace pare
