// Walking sliding windows in N spatial dimensions, for the reference Conv, ConvTranspose and pooling kernels. Every
// window op goes through for_each_tap, so padding, strides and dilations are handled in exactly one place.
#pragma once

#include <cstdint>
#include <vector>

#include "ops/conv_geometry.h"
#include "ops/index_util.h"

namespace pare {

/// Visits the taps of the window at output position `out` (a spatial multi-index) in row-major kernel order:
/// fn(tap, input_offset), where tap is the row-major kernel index and input_offset the row-major offset of the tap in
/// the input's spatial plane, or -1 when the tap falls in padding.
template <class Fn>
void for_each_tap(const WindowGeometry& g, const std::vector<int64_t>& out, Fn&& fn) {
    const size_t rank = g.rank();
    std::vector<int64_t> start(rank);
    for (size_t i = 0; i < rank; ++i) start[i] = out[i] * g.strides[i] - g.pads_begin[i];
    NdCounter k(g.kernel);
    for (int64_t tap = 0, taps = shape_numel(g.kernel); tap < taps; ++tap, k.next()) {
        int64_t offset = 0;
        for (size_t i = 0; i < rank && offset >= 0; ++i) {
            const int64_t position = start[i] + k.index()[i] * g.dilations[i];
            offset = position < 0 || position >= g.input[i] ? -1 : offset * g.input[i] + position;
        }
        fn(tap, offset);
    }
}

/// The input-plane offset (or -1 in padding) of every tap of every window, at [p * taps + tap] for the row-major
/// output position p: computed once per run and shared by every image and channel.
inline std::vector<int64_t> tap_offset_table(const WindowGeometry& g) {
    const int64_t taps = shape_numel(g.kernel), positions = shape_numel(g.output);
    std::vector<int64_t> table(static_cast<size_t>(positions * taps));
    NdCounter out(g.output);
    for (int64_t p = 0; p < positions; ++p, out.next()) {
        for_each_tap(g, out.index(), [&](int64_t tap, int64_t offset) { table[p * taps + tap] = offset; });
    }
    return table;
}

/// Number of taps of the window at `out` that lie inside the padded input [-pads_begin, input + pads_end): the
/// divisor of AveragePool with count_include_pad (taps that ceil_mode pushes past the end padding do not count).
inline int64_t padded_window_size(const WindowGeometry& g, const std::vector<int64_t>& out) {
    int64_t count = 1;
    for (size_t i = 0; i < g.rank(); ++i) {
        const int64_t start = out[i] * g.strides[i] - g.pads_begin[i];
        int64_t inside = 0;
        for (int64_t k = 0; k < g.kernel[i]; ++k) {
            const int64_t position = start + k * g.dilations[i];
            inside += position >= -g.pads_begin[i] && position < g.input[i] + g.pads_end[i];
        }
        count *= inside;
    }
    return count;
}

}  // namespace pare
