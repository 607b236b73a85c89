// Reference kernels compute f16 and bf16 in f32 (and f32 and f64 as themselves): these helpers widen inputs and
// narrow results, so each kernel has only float and double code paths.
#pragma once

#include <cstring>

#include "core/tensor.h"

namespace pare {

/// The dtype a reference kernel computes a floating-point `dtype` in.
inline DType compute_dtype(DType dtype) {
    return dtype == DType::kF16 || dtype == DType::kBF16 ? DType::kF32 : dtype;
}

/// `t` in its compute dtype: `t` itself (no copy) when it already is, else a widened copy. Undefined stays undefined.
inline Tensor widen(const Tensor& t) {
    if (!t.defined() || compute_dtype(t.dtype()) == t.dtype()) return t;
    return t.cast(compute_dtype(t.dtype()));
}

/// Where to compute an output: `dst` itself when it has its compute dtype, else a new f32 tensor of its shape.
inline Tensor compute_buffer(const Tensor& dst) {
    if (compute_dtype(dst.dtype()) == dst.dtype()) return dst;
    return Tensor(compute_dtype(dst.dtype()), dst.shape());
}

/// Stores a result computed in compute_buffer(dst) into `dst`, rounding to dst's dtype if they differ.
inline void narrow_into(const Tensor& computed, Tensor& dst) {
    if (computed.raw() == dst.raw()) return;
    const Tensor narrowed = computed.cast(dst.dtype());
    std::memcpy(dst.raw(), narrowed.raw(), narrowed.nbytes());
}

/// The common shape of a single-input float kernel: widens `src`, calls fn(src_data, dst_data) with two float or two
/// double pointers, then narrows the result into `dst` (which has src's dtype).
template <class Fn>
void compute_in_float(const Tensor& src, Tensor& dst, Fn&& fn) {
    const Tensor wide = widen(src);
    Tensor result = compute_buffer(dst);
    if (wide.dtype() == DType::kF64)
        fn(wide.data<double>(), result.data<double>());
    else
        fn(wide.data<float>(), result.data<float>());
    narrow_into(result, dst);
}

}  // namespace pare
