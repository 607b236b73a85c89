// Binary and ternary weights: each weight of a channel decodes to sign x scale (binary) or to 0 or sign x scale
// (ternary), with one scale per output channel chosen to minimise the channel's squared error.
#pragma once

#include <vector>

namespace pare {

/// The L2-optimal binary scale of a channel: mean |w| (for fixed signs, the scale minimising sum (w - s sign(w))^2).
/// 0 for an empty or all-zero channel.
float binary_scale(const std::vector<float>& values);

/// The L2-optimal ternary scale of a channel, found exactly: for the m largest magnitudes kept (signs as the weights'),
/// the best scale is their mean magnitude S_m / m and the error sum w^2 - S_m^2 / m, so the m maximising S_m^2 / m
/// wins (ties: the smaller m). Encoding each weight to the nearest of {0, +s, -s} (threshold s / 2) afterwards can only
/// lower that error. This replaces TWN's heuristic threshold of 0.7 x mean |w|. 0 for an all-zero channel.
float ternary_scale(const std::vector<float>& values);

}  // namespace pare
