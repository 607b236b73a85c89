#include "ops/index_util.h"

#include <cstring>

namespace pare {

Result<size_t> movable_element_bytes(DType dtype, const Node& node) {
    if (dtype_bits(dtype) % 8 != 0 || dtype_bits(dtype) == 0) {
        return unsupported(node.describe() + " on " + dtype_name(dtype) + " tensors (elements are not whole bytes)");
    }
    return static_cast<size_t>(dtype_bits(dtype) / 8);
}

Result<std::vector<int64_t>> normalize_axes(const std::vector<int64_t>& axes, int64_t rank, const Node& node) {
    std::vector<int64_t> result;
    std::vector<bool> seen(static_cast<size_t>(std::max<int64_t>(rank, 0)), false);
    for (int64_t axis : axes) {
        if (axis < -rank || axis >= rank) {
            return invalid_input(node.describe() + ": axis " + std::to_string(axis) + " is out of range for rank " +
                                 std::to_string(rank));
        }
        const int64_t a = axis < 0 ? axis + rank : axis;
        if (seen[a]) return invalid_input(node.describe() + ": axis " + std::to_string(axis) + " is listed twice");
        seen[a] = true;
        result.push_back(a);
    }
    return result;
}

Status check_output_shape(const Shape& shape, const Node& node) {
    const int64_t numel = shape_numel(shape);
    if (numel < 0 || numel > (int64_t{1} << 37)) {
        return invalid_input(node.describe() + ": computed output shape " + shape_to_string(shape) + " is not valid");
    }
    return Status();
}

AxisSplit split_at_axis(const Shape& shape, int64_t axis) {
    AxisSplit split;
    for (int64_t d = 0; d < static_cast<int64_t>(shape.size()); ++d) {
        if (d < axis) split.outer *= shape[d];
        else if (d == axis) split.len = shape[d];
        else split.inner *= shape[d];
    }
    return split;
}

Shape replace_axis(const Shape& shape, int64_t axis, int64_t size, bool keep) {
    Shape out;
    for (int64_t d = 0; d < static_cast<int64_t>(shape.size()); ++d) {
        if (d != axis) out.push_back(shape[d]);
        else if (keep) out.push_back(size);
    }
    return out;
}

Result<int64_t> wrap_index(int64_t index, int64_t dim, const Node& node) {
    if (index < -dim || index >= dim) {
        return invalid_input(node.describe() + ": index " + std::to_string(index) +
                             " is out of range for a dimension of " + std::to_string(dim));
    }
    return index < 0 ? index + dim : index;
}

std::vector<int64_t> strided_offsets(int64_t count, int64_t start, int64_t step, int64_t stride) {
    std::vector<int64_t> offsets(static_cast<size_t>(count));
    for (int64_t o = 0; o < count; ++o) offsets[o] = (start + o * step) * stride;
    return offsets;
}

namespace {

// One output row along the last axis; Bytes == 0 means "element size only known at run time".
template <size_t Bytes>
void copy_row(const char* src, const std::vector<int64_t>& last, char* dst, size_t element_bytes, const char* fill) {
    const size_t size = Bytes ? Bytes : element_bytes;
    for (size_t o = 0; o < last.size(); ++o) {
        const char* from = last[o] == kFillOffset ? fill : src + last[o] * static_cast<int64_t>(size);
        std::memcpy(dst + o * size, from, size);
    }
}

}  // namespace

void gather_by_axis_offsets(const void* src, const AxisOffsets& offsets, void* dst, size_t element_bytes,
                            const void* fill) {
    const char* src_bytes = static_cast<const char*>(src);
    char* dst_bytes = static_cast<char*>(dst);
    if (offsets.empty()) {  // a scalar
        std::memcpy(dst_bytes, src_bytes, element_bytes);
        return;
    }
    int64_t numel = 1;
    for (const auto& axis : offsets) numel *= static_cast<int64_t>(axis.size());
    if (numel == 0) return;
    const std::vector<int64_t>& last = offsets.back();
    const int64_t row_length = static_cast<int64_t>(last.size());
    const int64_t rows = numel / row_length;
    bool contiguous = true;
    for (int64_t o = 0; o < row_length; ++o) {
        contiguous = contiguous && last[o] != kFillOffset && last[o] == last[0] + o;
    }
    const size_t outer_rank = offsets.size() - 1;
    const char* fill_bytes = static_cast<const char*>(fill);

#pragma omp parallel for if (numel > 65536)
    for (int64_t r = 0; r < rows; ++r) {
        // Decompose the row number into outer coordinates and sum their offsets.
        int64_t rest = r, base = 0;
        bool outside = false;
        for (size_t a = outer_rank; a-- > 0;) {
            const int64_t size = static_cast<int64_t>(offsets[a].size());
            const int64_t offset = offsets[a][rest % size];
            rest /= size;
            if (offset == kFillOffset) outside = true;
            else base += offset;
        }
        char* row = dst_bytes + r * row_length * static_cast<int64_t>(element_bytes);
        if (outside) {
            for (int64_t o = 0; o < row_length; ++o) std::memcpy(row + o * element_bytes, fill_bytes, element_bytes);
            continue;
        }
        const char* row_src = src_bytes + base * static_cast<int64_t>(element_bytes);
        if (contiguous) {
            std::memcpy(row, row_src + last[0] * static_cast<int64_t>(element_bytes), row_length * element_bytes);
            continue;
        }
        switch (element_bytes) {
            case 1: copy_row<1>(row_src, last, row, element_bytes, fill_bytes); break;
            case 2: copy_row<2>(row_src, last, row, element_bytes, fill_bytes); break;
            case 4: copy_row<4>(row_src, last, row, element_bytes, fill_bytes); break;
            case 8: copy_row<8>(row_src, last, row, element_bytes, fill_bytes); break;
            default: copy_row<0>(row_src, last, row, element_bytes, fill_bytes); break;
        }
    }
}

}  // namespace pare
