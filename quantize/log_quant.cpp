#include "quantize/log_quant.h"

#include <cmath>

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

}  // namespace pare
