// IEEE float16 and bfloat16 conversions (round to nearest even), kept header-only for inlining in kernels.
#pragma once

#include <cstdint>
#include <cstring>

namespace pare {

inline float bits_to_float(uint32_t bits) {
    float f;
    std::memcpy(&f, &bits, sizeof f);
    return f;
}

inline uint32_t float_to_bits(float f) {
    uint32_t bits;
    std::memcpy(&bits, &f, sizeof bits);
    return bits;
}

inline float f16_to_f32(uint16_t h) {
    const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
    const uint32_t exponent = (h >> 10) & 0x1fu;
    uint32_t mantissa = h & 0x3ffu;
    if (exponent == 0x1f) return bits_to_float(sign | 0x7f800000u | (mantissa << 13));  // inf or nan
    if (exponent == 0) {
        if (mantissa == 0) return bits_to_float(sign);
        // Subnormal: value = mantissa * 2^-24.
        const float value = static_cast<float>(mantissa) * 5.9604644775390625e-8f;
        return sign ? -value : value;
    }
    return bits_to_float(sign | ((exponent + 112) << 23) | (mantissa << 13));
}

inline uint16_t f32_to_f16(float f) {
    const uint32_t bits = float_to_bits(f);
    const uint16_t sign = static_cast<uint16_t>((bits >> 16) & 0x8000u);
    const uint32_t abs_bits = bits & 0x7fffffffu;
    if (abs_bits >= 0x7f800000u) {  // inf or nan (keep nan quiet)
        return static_cast<uint16_t>(sign | 0x7c00u | (abs_bits > 0x7f800000u ? 0x200u : 0u));
    }
    if (abs_bits >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // rounds to >= 65520: inf
    if (abs_bits < 0x38800000u) {
        // Result is subnormal or zero: round abs * 2^24 to nearest even integer.
        const float scaled = bits_to_float(abs_bits) * 16777216.0f;
        // Adding and subtracting 2^23 rounds a value below 2^23 to nearest even in float arithmetic.
        const float rounded = (scaled + 8388608.0f) - 8388608.0f;
        return static_cast<uint16_t>(sign | static_cast<uint16_t>(rounded));
    }
    const uint32_t mantissa_odd = (abs_bits >> 13) & 1u;
    const uint32_t rounded = abs_bits + 0xfffu + mantissa_odd;
    return static_cast<uint16_t>(sign | (((rounded >> 13) - (112u << 10)) & 0x7fffu));
}

inline float bf16_to_f32(uint16_t h) { return bits_to_float(static_cast<uint32_t>(h) << 16); }

inline uint16_t f32_to_bf16(float f) {
    const uint32_t bits = float_to_bits(f);
    if ((bits & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((bits >> 16) | 0x40u);  // quiet nan
    const uint32_t rounded = bits + 0x7fffu + ((bits >> 16) & 1u);
    return static_cast<uint16_t>(rounded >> 16);
}

}  // namespace pare
