// Logarithmic (power-of-two) weight codes. A B-bit code is sign << (B-1) | e with e in [0, 2^(B-1) - 1]:
// e = 0 decodes to 0, e >= 1 to (sign ? -1 : 1) x 2^-(e-1), then times the channel's scale. The largest magnitude
// is the scale itself (2^0) and the smallest nonzero one scale x 2^-(2^(B-1) - 2).
#pragma once

#include <cstdint>
#include <vector>

namespace pare {

/// Bits per code the log scheme accepts.
constexpr int kLogMinBits = 3;
constexpr int kLogMaxBits = 8;

/// The code of `value` for a channel of scale `scale` (> 0). The magnitude r = |value| / scale (at most 1 when the
/// scale is the channel's largest magnitude; larger saturates to 2^0) rounds to the nearer level in the linear
/// domain: to 2^-k when r >= 0.75 x 2^-k (the midpoint between 2^-k and 2^-(k+1)), to the smallest power 2^-kmax
/// when r >= 0.5 x 2^-kmax (the midpoint between it and 0), else to 0. Exact midpoints round away from zero.
uint8_t log_encode(float value, float scale, int bits);

/// Decoded value of every code 0 .. 2^bits - 1 for scale 1 (the Gather table the rewritten graph uses). The codes
/// of "negative zero" (sign set, e = 0) decode to +0.
std::vector<float> log_codebook(int bits);

/// The channel scale of the log scheme with the least squared error of the decoded channel. A grid search over
/// max|w| x 2^(-j / kLogScaleSteps), j = 0 .. kLogScaleSteps - 1 (the power-of-two grid repeats every octave, so one
/// octave covers every alignment of grid and data; a scale below max|w| clips the largest weights to fit the bulk
/// better), then alternating refinement from the best candidate: with the codes fixed the least-squares scale is
/// <w, c> / <c, c> (c the decoded codes at scale 1); re-encode; repeat while the error falls. Ties keep the earlier
/// (larger) candidate. An all-zero or empty channel gets 1.
float choose_log_scale(const std::vector<float>& values, int bits);

/// Grid points per octave choose_log_scale tries.
constexpr int kLogScaleSteps = 64;

}  // namespace pare
