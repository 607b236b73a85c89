// One registration function per kernel file group; register_kernels.cpp calls them all. Explicit calls rather
// than static registrars, so nothing depends on the linker keeping unreferenced objects.
#pragma once

namespace pare {

class KernelRegistry;

void register_all_kernels(KernelRegistry& registry);

// Reference kernels (lib/ops/ref).
void register_unary_kernels(KernelRegistry& registry);
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

}  // namespace pare
