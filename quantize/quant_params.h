// Choosing scale and zero point for a tensor from its range, per ONNX linear quantization.
#pragma once

#include <vector>

#include "calibration/range_methods.h"
#include "core/dtype.h"

namespace pare {

struct QuantParams {
    float scale = 1.0f;
    int64_t zero_point = 0;
};

/// Asymmetric: the range is widened to include 0 (so that 0 is exact, as padding and ReLU need), then spread over
/// every level of `dtype`. Symmetric: zero point at the middle of the type (0 for signed, 2^(bits-1) for unsigned)
/// and the largest magnitude maps to the last level of the narrower side (127 for int8), so -x and x stay
/// symmetric. A range of width 0 gets scale 1 (any scale represents it exactly).
QuantParams choose_quant_params(Range range, DType dtype, bool symmetric);

/// Symmetric parameters per slice along `axis` of a weight tensor (per output channel), or one for the whole tensor
/// when axis < 0. Weights are always symmetric: zero points are 0 (oneDNN and most runtimes require it).
std::vector<QuantParams> choose_weight_params(const Tensor& weight, int64_t axis, DType dtype);

}  // namespace pare
