#include "quantize/log_quant.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace pare {

uint8_t log_encode(float value, float scale, int bits) {
    const int kmax = (1 << (bits - 1)) - 2;  // exponent of the smallest nonzero level 2^-kmax
    const double r = std::fabs(static_cast<double>(value)) / static_cast<double>(scale);
    const uint8_t sign = value < 0 ? static_cast<uint8_t>(1 << (bits - 1)) : 0;
    if (!(r >= std::ldexp(0.5, -kmax))) return 0;  // also NaN: zero has no sign worth keeping
    // r in [0.75 x 2^-k, 1.5 x 2^-k) rounds to 2^-k; the first k whose lower midpoint r reaches is the nearest.
    int k = 0;
    while (k < kmax && r < std::ldexp(0.75, -k)) ++k;
    return static_cast<uint8_t>(sign | (k + 1));
}

std::vector<float> log_codebook(int bits) {
    const int half = 1 << (bits - 1);
    std::vector<float> table(static_cast<size_t>(2 * half), 0.0f);
    for (int e = 1; e < half; ++e) {
        const float magnitude = std::ldexp(1.0f, -(e - 1));
        table[e] = magnitude;
        table[half + e] = -magnitude;
    }
    return table;
}

namespace {

// Squared error of a channel decoded at `scale`.
double log_error(const std::vector<float>& values, const std::vector<float>& codebook, float scale, int bits) {
    double error = 0.0;
    for (float v : values) {
        const double d = static_cast<double>(v) - static_cast<double>(codebook[log_encode(v, scale, bits)]) * scale;
        error += d * d;
    }
    return error;
}

}  // namespace

float choose_log_scale(const std::vector<float>& values, int bits) {
    float largest = 0.0f;
    for (float v : values) largest = std::max(largest, std::fabs(v));
    if (!(largest > 0.0f) || !std::isfinite(largest)) return 1.0f;  // all zero: any scale decodes exactly
    const std::vector<float> codebook = log_codebook(bits);
    float best_scale = largest;
    double best_error = std::numeric_limits<double>::infinity();
    for (int j = 0; j < kLogScaleSteps; ++j) {
        const auto scale =
            static_cast<float>(static_cast<double>(largest) * std::exp2(-static_cast<double>(j) / kLogScaleSteps));
        if (!(scale > 0.0f)) continue;
        const double error = log_error(values, codebook, scale, bits);
        if (error < best_error) {
            best_error = error;
            best_scale = scale;
        }
    }
    for (int round = 0; round < 16; ++round) {
        double dot = 0.0, norm = 0.0;
        for (float v : values) {
            const double c = codebook[log_encode(v, best_scale, bits)];
            dot += c * v;
            norm += c * c;
        }
        if (!(norm > 0.0)) break;
        const auto refit = static_cast<float>(dot / norm);
        if (!(refit > 0.0f) || refit == best_scale) break;
        const double error = log_error(values, codebook, refit, bits);
        if (!(error < best_error)) break;
        best_error = error;
        best_scale = refit;
    }
    return best_scale;
}

}  // namespace pare
