// A histogram whose bin edges are fixed by a deterministic rule, so that histograms of the same values agree
// whatever batches they arrived in: the range is [-2^e, 2^e) for an integer e that only grows, the bin width is a
// power of two, and growing the range by one doubling merges bin pairs exactly. Binning is floor(x / width), exact
// in floating point because width is a power of two.
#pragma once

#include <cstdint>
#include <vector>

namespace pare {

class HistogramTally;

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
    /// Adds part `part` of `parts` of the bins of tallies started at this histogram's current range (threads add
    /// disjoint parts at once); null entries are skipped.
    void add_tallies(const std::vector<HistogramTally*>& tallies, int part, int parts);
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

/// One thread's counts of part of a batch at a histogram's range as it was when the tally started, so that threads
/// can bin their share of a batch while it is in cache and the histogram adds the tallies afterwards (integer sums:
/// the result does not depend on how the batch was split). Only the bins the values reach are cleared and added.
class HistogramTally {
public:
    /// Starts an empty tally at `histogram`'s current range.
    void reset(const Histogram& histogram);
    /// Whether values of magnitude up to `max_abs` fall inside the range (otherwise the histogram must widen first).
    bool covers(double max_abs) const { return max_abs < range_; }
    /// Counts values inside the range.
    void add(const float* values, int64_t count);

private:
    friend class Histogram;
    void cover(int first, int last);  // clears the counters of bins first..last not cleared yet
    static constexpr int kSets = 2;
    double range_ = 0.0;
    float inverse_width_ = 0.0f;
    int first_ = 0, last_ = -1;   // the bins cleared so far
    std::vector<uint32_t> sets_;  // kSets counter sets of Histogram::kBins; 32 bits, so no batch overflows them
};

/// The smallest exponent e >= Histogram::kMinExponent with |value| < 2^e.
int range_exponent_for(double max_abs);

}  // namespace pare
