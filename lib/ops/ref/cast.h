// Element conversion with ONNX Cast's rules, shared by the Cast kernels and kernels that convert an input first.
#pragma once

#include "core/status.h"
#include "core/tensor.h"

namespace pare {

/// True when cast_into handles `dtype` on either side: every numeric dtype and bool (not string or 4-bit).
bool castable_dtype(DType dtype);

/// Writes src converted elementwise into dst (same element count; dtypes for which castable_dtype holds, and
/// packed int4/uint4 sources).
/// Integers convert exactly (int64 never passes through double); floats to integers truncate toward zero and
/// saturate, NaN giving 0; anything to bool is "nonzero"; f16/bf16 round to nearest even.
Status cast_into(const Tensor& src, Tensor& dst);

/// A new tensor holding src converted to `dtype`.
Result<Tensor> cast_tensor(const Tensor& src, DType dtype);

}  // namespace pare
