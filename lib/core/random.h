// Seeded randomness whose results are fixed by this code alone: std::mt19937_64's output sequence is specified by
// the C++ standard, but std::uniform_int_distribution and std::shuffle are not, so they are not used.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

namespace pare {

/// A uniform integer in [0, bound) for bound >= 1: draws are rejected below 2^64 mod bound, so every value is
/// equally likely, and the accepted draw is reduced modulo bound.
uint64_t uniform_below(std::mt19937_64& rng, uint64_t bound);

/// A permutation of 0..n-1: Fisher-Yates with rng = std::mt19937_64(seed), for i from n-1 down to 1 swapping
/// element i with element uniform_below(rng, i + 1).
std::vector<int64_t> seeded_permutation(int64_t n, uint64_t seed);

}  // namespace pare
