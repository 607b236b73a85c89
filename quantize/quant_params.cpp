#include "quantize/quant_params.h"

#include <algorithm>
#include <cmath>

#include "ops/quantize_math.h"

namespace pare {

namespace {

// Below this, a scale would turn ordinary activations into infinities on dequantize-then-requantize.
constexpr float kMinScale = 1e-12f;

}  // namespace

QuantParams choose_quant_params(Range range, DType dtype, bool symmetric) {
    const QuantRange levels = quant_range(dtype);
    QuantParams params;
    if (symmetric) {
        const double max_abs = std::max(std::fabs(range.lo), std::fabs(range.hi));
        const bool is_signed = levels.lo < 0;
        params.zero_point = is_signed ? 0 : (levels.hi + 1) / 2;
        const double half_span = static_cast<double>(is_signed ? levels.hi : levels.hi - params.zero_point);
        params.scale = max_abs > 0 ? std::max(kMinScale, static_cast<float>(max_abs / half_span)) : 1.0f;
        return params;
    }
    const double lo = std::min(range.lo, 0.0), hi = std::max(range.hi, 0.0);
    if (hi - lo <= 0) return params;
    params.scale = std::max(kMinScale, static_cast<float>((hi - lo) / static_cast<double>(levels.hi - levels.lo)));
    // zero_point = qmin - lo / scale, rounded and kept inside the type.
    params.zero_point = std::clamp<int64_t>(static_cast<int64_t>(round_half_even(levels.lo - lo / params.scale)),
                                            levels.lo, levels.hi);
    return params;
}

std::vector<QuantParams> choose_weight_params(const Tensor& weight, int64_t axis, DType dtype) {
    const Tensor values = weight.dtype() == DType::kF32 ? weight : weight.cast(DType::kF32);
    const float* data = values.data<float>();
    const int64_t count = values.numel();
    const int64_t channels = axis >= 0 ? values.dim(axis) : 1;
    int64_t inner = 1;
    for (int64_t a = axis + 1; axis >= 0 && a < values.rank(); ++a) inner *= values.dim(a);
    std::vector<double> max_abs(static_cast<size_t>(channels), 0.0);
    for (int64_t i = 0; i < count; ++i) {
        const int64_t channel = axis >= 0 ? (i / inner) % channels : 0;
        max_abs[channel] = std::max(max_abs[channel], static_cast<double>(std::fabs(data[i])));
    }
    std::vector<QuantParams> params;
    for (double m : max_abs) params.push_back(choose_quant_params(Range{-m, m}, dtype, true));
    return params;
}

}  // namespace pare
