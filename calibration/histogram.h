// A histogram whose bin edges are fixed by a deterministic rule, so that histograms of the same values agree
// whatever batches they arrived in: the range is [-2^e, 2^e) for an integer e that only grows, the bin width is a
// power of two, and growing the range by one doubling merges bin pairs exactly. Binning is floor(x / width), exact
// in floating point because width is a power of two.
#pragma once

#include <cstdint>
#include <vector>

namespace pare {

class Histogram {
public:
    /// Number of bins; a power of two so that a doubling merges exact pairs.
    static constexpr int kBins = 4096;
    /// Smallest range exponent: values below 2^kMinExponent in magnitude share the bins around zero.
    static constexpr int kMinExponent = -24;

    Histogram() : counts_(kBins, 0) {}

    /// Adds finite values (the caller rejects NaN and Inf first).
    void add(const float* values, int64_t count);
    /// The same, when the caller already knows max |value|.
    void add(const float* values, int64_t count, float max_abs);
    /// Adds another histogram's counts (any range: the narrower one is coarsened first).
    void merge(const Histogram& other);

    /// Range half-width 2^exponent; bins cover [-2^e, 2^e).
    int exponent() const { return exponent_; }
    double range() const;
    double bin_width() const { return 2.0 * range() / kBins; }
    /// Lower edge of bin i.
    double bin_lower(int i) const { return (i - kBins / 2) * bin_width(); }
    const std::vector<uint64_t>& counts() const { return counts_; }
    uint64_t total() const;
    bool empty() const { return total() == 0; }

    /// Rebuilds a histogram from its exponent and counts (the calibration table stores these).
    static Histogram from_counts(int exponent, std::vector<uint64_t> counts);

    /// Grows the range to 2^exponent (no-op if already as wide), merging bin pairs.
    void widen_to(int exponent);

private:
    int exponent_ = kMinExponent;
    std::vector<uint64_t> counts_;
};

/// The smallest exponent e >= Histogram::kMinExponent with |value| < 2^e.
int range_exponent_for(double max_abs);

}  // namespace pare
