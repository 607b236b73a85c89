// Small checks and shape helpers shared by kernels.
#pragma once

#include <string>
#include <vector>

#include "ops/kernel.h"
#include "ops/registry.h"

namespace pare {

/// Checks the number of inputs (counting omitted optional ones) is within [min_count, max_count].
Status check_input_count(const Node& node, const std::vector<InputInfo>& inputs, int min_count, int max_count);

/// Checks that input `index` is present and has one of the given dtypes.
Status check_input_dtype(const Node& node, const std::vector<InputInfo>& inputs, int index,
                         const std::vector<DType>& allowed);

/// Numpy-style (multidirectional) broadcast of two shapes.
Result<Shape> broadcast_shapes(const Shape& a, const Shape& b);

/// Maps a possibly negative axis into [0, rank); fails when out of range.
Result<int64_t> normalize_axis(int64_t axis, int64_t rank, const Node& node);

/// Strides of `shape` broadcast to `out` (0 along broadcast dims), for index arithmetic.
std::vector<int64_t> broadcast_strides(const Shape& shape, const Shape& out);

/// An input value the kernel needs at prepare time (shape, axes, pads...); kInvalidInput naming the input if it
/// is missing. Kernels call this only after checking `value.has_value()` and reporting shape_known = false.
std::vector<int64_t> input_int64s(const InputInfo& input);

/// Factory for a kernel class whose constructor takes only the KernelContext (it never declines a node).
template <class K>
KernelFactory kernel_factory() {
    return [](const KernelContext& context) -> Result<KernelPtr> { return KernelPtr(new K(context)); };
}

}  // namespace pare
