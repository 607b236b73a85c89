// The one definition of what a fused activation computes, shared by the reference kernels of pare's fused ops and
// by tests. Formulas match the standalone reference kernels (lib/ops/ref/unary.cpp): evaluated in double and
// rounded once to float, so fusing an activation into its producer does not change the reference result.
#pragma once

#include <cstdint>

#include "core/status.h"
#include "graph/fused_ops.h"

namespace pare {

/// act(x) for one value.
double activation_value(const Activation& activation, double x);

/// Applies the activation in place to n floats.
void apply_activation(const Activation& activation, float* data, int64_t n);

/// Inclusive bounds a quantized output is clamped to so that it equals quantize(act(y)): Relu is max(q, zero_point)
/// and Clip(lo, hi) is clamp(q, quantize(lo), quantize(hi)), because rounding is monotonic. Other activations have
/// no such form: unsupported.
struct QuantizedClamp {
    int64_t lo = 0;
    int64_t hi = 0;
};
Result<QuantizedClamp> quantized_activation_clamp(const Activation& activation, float y_scale, int64_t y_zero_point,
                                                  int64_t type_lo, int64_t type_hi);

}  // namespace pare
