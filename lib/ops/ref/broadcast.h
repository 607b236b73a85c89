// Numpy-style (multidirectional) broadcasting shared by every element-wise reference kernel with more than one
// input: binary arithmetic, comparisons, logic, the variadic ops and Where.
#pragma once

#include <algorithm>
#include <utility>
#include <vector>

#include "ops/kernel.h"

namespace pare {

/// The broadcast shape of inputs [first, first + count) of a node; invalid_input naming the node and the shapes
/// when they do not broadcast.
Result<Shape> broadcast_input_shapes(const Node& node, const std::vector<InputInfo>& inputs, int first, int count);

/// Before opset 7, binary ops aligned input 1 at an `axis` attribute when broadcast=1; that legacy form is
/// unsupported() (without `axis` it aligns trailing dims, which numpy broadcasting covers).
Status check_no_legacy_broadcast(const Node& node, int64_t opset);

/// A walk over the output of a broadcast, in row-major order. Adjacent dimensions along which every input is either
/// contiguous or broadcast are merged, so the innermost "row" is as long as possible.
class BroadcastLoop {
public:
    /// Plans the walk of `inputs` broadcast to `out`, which must be their broadcast shape.
    BroadcastLoop(const std::vector<Shape>& inputs, const Shape& out);

    int64_t numel() const { return numel_; }
    /// Element stride of input k along a row: 1, or 0 when input k is broadcast along it.
    int64_t row_stride(int k) const { return strides_[k * rank_ + rank_ - 1]; }

    /// Calls fn(dst_offset, src_offsets, count) once per row of `count` output elements; src_offsets[k] is input
    /// k's offset at the row's start. With `parallel`, large walks split rows over OpenMP threads, so fn must then
    /// only write its own row; without it rows come in order on the calling thread.
    template <class Fn>
    void for_each_row(Fn&& fn, bool parallel = true) const;

private:
    int num_inputs_ = 0;
    int rank_ = 0;                  // merged rank, at least 1
    int64_t numel_ = 0;
    std::vector<int64_t> dims_;     // merged output dims; the last one is the row
    std::vector<int64_t> strides_;  // [input * rank_ + dim], 0 along broadcast dims
};

/// dst[i] = fn(srcs[j]...) over a broadcast; srcs are in the order of the shapes the loop was planned with.
template <class D, class Fn, class... S>
void broadcast_map(const BroadcastLoop& loop, D* dst, Fn fn, const S*... srcs);

// ---- implementation ----

template <class Fn>
void BroadcastLoop::for_each_row(Fn&& fn, bool parallel) const {
    if (numel_ == 0) return;
    const int64_t row = dims_[rank_ - 1];
    const int64_t rows = numel_ / row;
    const int outer = rank_ - 1;
    // Contiguous chunks of rows: each chunk decomposes its first row index once, then steps an odometer.
    constexpr int64_t kParallelElements = 1 << 16;
    const int64_t chunks = parallel && numel_ >= kParallelElements ? std::min<int64_t>(rows, 64) : 1;
#pragma omp parallel for if (chunks > 1) schedule(static)
    for (int64_t c = 0; c < chunks; ++c) {
        const int64_t begin = rows * c / chunks, end = rows * (c + 1) / chunks;
        std::vector<int64_t> index(outer), offsets(num_inputs_, 0);
        int64_t rest = begin;
        for (int d = outer - 1; d >= 0; --d) {
            index[d] = rest % dims_[d];
            rest /= dims_[d];
            for (int k = 0; k < num_inputs_; ++k) offsets[k] += index[d] * strides_[k * rank_ + d];
        }
        for (int64_t r = begin; r < end; ++r) {
            fn(r * row, static_cast<const int64_t*>(offsets.data()), row);
            for (int d = outer - 1; d >= 0; --d) {
                for (int k = 0; k < num_inputs_; ++k) offsets[k] += strides_[k * rank_ + d];
                if (++index[d] < dims_[d]) break;
                for (int k = 0; k < num_inputs_; ++k) offsets[k] -= strides_[k * rank_ + d] * dims_[d];
                index[d] = 0;
            }
        }
    }
}

namespace detail {

template <class D, class Fn, class... S, size_t... K>
void map_row(D* dst, int64_t count, const Fn& fn, const int64_t* offsets, const int64_t* strides,
             std::index_sequence<K...>, const S*... srcs) {
    if (((strides[K] == 1) && ...)) {  // the common no-broadcast row: unit strides let the compiler vectorize
        for (int64_t i = 0; i < count; ++i) dst[i] = fn(srcs[offsets[K] + i]...);
    } else {
        for (int64_t i = 0; i < count; ++i) dst[i] = fn(srcs[offsets[K] + i * strides[K]]...);
    }
}

}  // namespace detail

template <class D, class Fn, class... S>
void broadcast_map(const BroadcastLoop& loop, D* dst, Fn fn, const S*... srcs) {
    int64_t strides[sizeof...(S)];
    for (size_t k = 0; k < sizeof...(S); ++k) strides[k] = loop.row_stride(static_cast<int>(k));
    loop.for_each_row([&](int64_t d, const int64_t* offsets, int64_t count) {
        detail::map_row(dst + d, count, fn, offsets, strides, std::index_sequence_for<S...>{}, srcs...);
    });
}

}  // namespace pare
