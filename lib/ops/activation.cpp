#include "ops/activation.h"

#include "ops/quantize_math.h"

#include <algorithm>
#include <cmath>

namespace pare {

double activation_value(const Activation& activation, double x) {
    switch (activation.kind) {
        case ActivationKind::kNone:
            return x;
        case ActivationKind::kRelu:
            return std::max(x, 0.0);
        case ActivationKind::kLeakyRelu:
            return x >= 0 ? x : static_cast<double>(activation.alpha) * x;
        case ActivationKind::kClip:
            return std::min(std::max(x, static_cast<double>(activation.alpha)), static_cast<double>(activation.beta));
        case ActivationKind::kSigmoid:
            return 1.0 / (1.0 + std::exp(-x));
        case ActivationKind::kTanh:
            return std::tanh(x);
        case ActivationKind::kHardSigmoid:
            return std::max(0.0, std::min(1.0, static_cast<double>(activation.alpha) * x + activation.beta));
        case ActivationKind::kHardSwish:
            return x * std::max(0.0, std::min(1.0, x / 6.0 + 0.5));
        case ActivationKind::kGelu:
            return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0)));
        case ActivationKind::kGeluTanh:
            return 0.5 * x * (1.0 + std::tanh(std::sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x)));
    }
    return x;
}

void apply_activation(const Activation& activation, float* data, int64_t n) {
    if (activation.kind == ActivationKind::kNone) return;
#pragma omp parallel for if (n > 65536)
    for (int64_t i = 0; i < n; ++i) data[i] = static_cast<float>(activation_value(activation, data[i]));
}

Result<QuantizedClamp> quantized_activation_clamp(const Activation& activation, float y_scale, int64_t y_zero_point,
                                                  int64_t type_lo, int64_t type_hi) {
    QuantizedClamp clamp{type_lo, type_hi};
    auto quantize = [&](float v) { return quantize_value(v, y_scale, y_zero_point, QuantRange{type_lo, type_hi}); };
    switch (activation.kind) {
        case ActivationKind::kNone:
            return clamp;
        case ActivationKind::kRelu:
            clamp.lo = std::max(type_lo, y_zero_point);
            return clamp;
        case ActivationKind::kClip:
            clamp.lo = quantize(activation.alpha);
            clamp.hi = quantize(activation.beta);
            return clamp;
        default:
            return unsupported("only Relu and Clip have an exact quantized form");
    }
}

}  // namespace pare
