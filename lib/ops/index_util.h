// Index arithmetic shared by the reference kernels: axis lists, [outer, len, inner] splits, index wrapping, an N-d
// counter and one byte-moving primitive (gather by per-axis offsets) that Transpose, Slice, Expand, Tile, Pad,
// DepthToSpace, SpaceToDepth and nearest Resize are all written in terms of.
#pragma once

#include <cstdint>
#include <limits>
#include <vector>

#include "ops/kernel.h"

namespace pare {

/// Bytes of one element for kernels that only move data. Packed 4-bit elements are not byte-addressable, so those
/// kernels decline them with kUnsupported naming the node.
Result<size_t> movable_element_bytes(DType dtype, const Node& node);

/// Maps each axis into [0, rank); fails on an axis out of range or listed twice.
Result<std::vector<int64_t>> normalize_axes(const std::vector<int64_t>& axes, int64_t rank, const Node& node);

/// Checks a shape computed from input values (Tile repeats, Pad pads, Resize sizes...) before anything is sized
/// by it: no negative dims, no overflow, at most 2^37 elements (Tensor::make's limit for 8-byte elements).
Status check_output_shape(const Shape& shape, const Node& node);

/// A shape seen as [outer, len, inner] around one axis: elements along the axis are `inner` apart.
struct AxisSplit {
    int64_t outer = 1;
    int64_t len = 1;
    int64_t inner = 1;
};

/// Splits `shape` at `axis`, which must already be normalized into [0, rank]; axis == rank gives len = inner = 1.
AxisSplit split_at_axis(const Shape& shape, int64_t axis);

/// `shape` with `axis` set to `size`, or removed when `keep` is false (single-axis reductions, TopK).
Shape replace_axis(const Shape& shape, int64_t axis, int64_t size, bool keep = true);

/// Wraps a possibly negative index into [0, dim); kInvalidInput naming the node when it is outside [-dim, dim).
Result<int64_t> wrap_index(int64_t index, int64_t dim, const Node& node);

/// Row-major counter over a shape: index() starts at all zeros; next() advances and returns false after the last.
class NdCounter {
public:
    explicit NdCounter(Shape shape) : shape_(std::move(shape)), index_(shape_.size(), 0) {}
    const std::vector<int64_t>& index() const { return index_; }
    bool next() {
        for (size_t a = index_.size(); a-- > 0;) {
            if (++index_[a] < shape_[a]) return true;
            index_[a] = 0;
        }
        return false;
    }

private:
    Shape shape_;
    std::vector<int64_t> index_;
};

/// For each output axis, the source element offset that each output coordinate along it contributes. An entry of
/// kFillOffset means "outside the source": the element is written with the fill value instead.
using AxisOffsets = std::vector<std::vector<int64_t>>;
constexpr int64_t kFillOffset = std::numeric_limits<int64_t>::min();

/// Source offsets of a plain axis: coordinate o reads (start + o * step) * stride.
std::vector<int64_t> strided_offsets(int64_t count, int64_t start, int64_t step, int64_t stride);

/// Writes the contiguous row-major dst of shape (offsets[0].size(), offsets[1].size(), ...) with
/// dst[o_0, ..., o_n] = src[sum_a offsets[a][o_a]], or `fill` (one element) where any offset is kFillOffset.
/// Offsets are in elements of `element_bytes` bytes and may be negative (strides of negative steps).
void gather_by_axis_offsets(const void* src, const AxisOffsets& offsets, void* dst, size_t element_bytes,
                            const void* fill = nullptr);

}  // namespace pare
