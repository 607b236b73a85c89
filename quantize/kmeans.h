// One-dimensional k-means (Lloyd's algorithm) for weight clustering, and the nearest-entry lookup that encodes a
// weight against any ascending codebook (the codebook scheme, and GPTQ's rounding step when it rounds to a codebook).
#pragma once

#include <cstdint>
#include <vector>

namespace pare {

/// Most Lloyd iterations kmeans_1d runs; it stops earlier as soon as no value changes cluster.
constexpr int kKmeansMaxIterations = 300;

/// `k` (>= 1) cluster centres of `values`, ascending, minimising the summed squared distance of each value to its
/// nearest centre (a local minimum: Lloyd's iterations from a quantile start). Deterministic without a seed: the start
/// is the mean of each of k equal-count slices of the sorted values, and each iteration assigns every value to the
/// nearest centre (ties to the lower one) and moves each centre to its cluster's mean (an emptied cluster keeps its
/// centre). With at most k distinct values the centres are those values (exact). The result always has k entries:
/// missing ones repeat the largest centre (never chosen by nearest_entry, which prefers the lower of equal entries).
/// No values: k zeros.
std::vector<float> kmeans_1d(const std::vector<float>& values, int64_t k);

/// Index of the entry of `table` (ascending, non-empty) nearest to `value`; an exact tie between two entries picks the
/// lower index. NaN gives the entry nearest to 0.
int64_t nearest_entry(float value, const std::vector<float>& table);

}  // namespace pare
