// One registration function per kernel file group; register_kernels.cpp calls them all. Explicit calls rather
// than static registrars, so nothing depends on the linker keeping unreferenced objects.
#pragma once

namespace pare {

class KernelRegistry;

void register_all_kernels(KernelRegistry& registry);

// Reference kernels (lib/ops/ref).
void register_unary_kernels(KernelRegistry& registry);
void register_conv_kernels(KernelRegistry& registry);     // Conv, ConvTranspose
void register_pool_kernels(KernelRegistry& registry);     // MaxPool, AveragePool, LpPool and their Global forms
void register_matmul_kernels(KernelRegistry& registry);   // MatMul, Gemm
void register_softmax_kernels(KernelRegistry& registry);  // Softmax, LogSoftmax, Hardmax
void register_batch_norm_kernels(KernelRegistry& registry);
void register_norm_kernels(KernelRegistry& registry);     // LayerNormalization, InstanceNormalization, MVN, LRN
void register_rnn_kernels(KernelRegistry& registry);      // RNN, GRU, LSTM
void register_quantize_linear_kernels(KernelRegistry& registry);
void register_integer_matmul_kernels(KernelRegistry& registry);
void register_integer_conv_kernels(KernelRegistry& registry);
void register_control_flow_kernels(KernelRegistry& registry);
void register_binary_kernels(KernelRegistry& registry);     // Add Sub Mul Div Mod Pow BitShift PRelu
void register_variadic_kernels(KernelRegistry& registry);   // Max Min Sum Mean
void register_logic_kernels(KernelRegistry& registry);      // comparisons, And Or Xor Not, Where
void register_clip_kernels(KernelRegistry& registry);
void register_cast_kernels(KernelRegistry& registry);       // Cast CastLike
void register_reduce_kernels(KernelRegistry& registry);     // Reduce*
void register_argminmax_kernels(KernelRegistry& registry);  // ArgMax ArgMin
void register_cumsum_kernels(KernelRegistry& registry);
void register_topk_kernels(KernelRegistry& registry);
void register_view_kernels(KernelRegistry& registry);          // Reshape, Flatten, (Un)Squeeze, Identity, Dropout
void register_shape_kernels(KernelRegistry& registry);         // Shape, Size, NonZero
void register_generator_kernels(KernelRegistry& registry);     // Constant, ConstantOfShape, Range, EyeLike, OneHot
void register_transpose_kernels(KernelRegistry& registry);     // Transpose, DepthToSpace, SpaceToDepth
void register_concat_split_kernels(KernelRegistry& registry);  // Concat, Split
void register_slice_kernels(KernelRegistry& registry);         // Slice
void register_gather_kernels(KernelRegistry& registry);        // Gather, GatherElements, GatherND
void register_scatter_kernels(KernelRegistry& registry);       // ScatterND, ScatterElements, Scatter
void register_expand_tile_kernels(KernelRegistry& registry);   // Expand, Tile
void register_pad_kernels(KernelRegistry& registry);           // Pad
void register_resize_kernels(KernelRegistry& registry);        // Resize, Upsample
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
