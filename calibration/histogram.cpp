#include "calibration/histogram.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/simd.h"

namespace pare {

int range_exponent_for(double max_abs) {
    int exponent = Histogram::kMinExponent;
    while (std::ldexp(1.0, exponent) <= max_abs) ++exponent;
    return exponent;
}

double Histogram::range() const { return std::ldexp(1.0, exponent_); }

uint64_t Histogram::total() const { return std::accumulate(counts_.begin(), counts_.end(), uint64_t(0)); }

void Histogram::widen_to(int exponent) {
    if (exponent <= exponent_) return;
    // One doubling sends old bin b to (b + B/2) / 2 (the old range is the middle half of the new one); d of them, by
    // composing the floors, to (b + B/2 (2^d - 1)) / 2^d. Beyond log2(B) + 1 doublings every old bin lands in one of
    // the two bins around zero, as it does with more, so d is capped there (and 2^d cannot overflow).
    const int doublings = std::min(exponent - exponent_, 13);
    const int64_t offset = int64_t(kBins / 2) * ((int64_t(1) << doublings) - 1);
    std::vector<uint64_t> wider(kBins, 0);
    for (int old_bin = 0; old_bin < kBins; ++old_bin) wider[(old_bin + offset) >> doublings] += counts_[old_bin];
    counts_ = std::move(wider);
    exponent_ = exponent;
}

void Histogram::add(const float* values, int64_t count) {
    if (count <= 0) return;
    float max_abs = 0.0f;
    for (int64_t i = 0; i < count; ++i) max_abs = std::max(max_abs, std::fabs(values[i]));
    add(values, count, max_abs);
}

namespace {

// floor(value / width) + B/2, clamped to the bins, for inverse_width = 1 / width a power of two: value * inverse_width
// is exact in float (|value| < 2^e keeps it inside +-B/2), and floor is a truncation corrected for negatives.
int bin_index(float value, float inverse_width) {
    const float scaled = value * inverse_width;
    const int truncated = static_cast<int>(scaled);
    return std::clamp(truncated - (scaled < static_cast<float>(truncated)) + Histogram::kBins / 2, 0,
                      Histogram::kBins - 1);
}

struct BinSpan {
    int first, last;
};

// The bins of `count` values into `bins`, and the lowest and highest of them (one vector loop, hence the clones).
PARE_SIMD_CLONES BinSpan compute_bins(const float* values, int64_t count, float inverse_width, int32_t* bins) {
    int first = Histogram::kBins, last = -1;
    for (int64_t i = 0; i < count; ++i) {
        const int bin = bin_index(values[i], inverse_width);
        bins[i] = bin;
        first = std::min(first, bin);
        last = std::max(last, bin);
    }
    return BinSpan{first, last};
}

}  // namespace

void HistogramTally::reset(const Histogram& histogram) {
    range_ = histogram.range();
    inverse_width_ = std::ldexp(1.0f, -(histogram.exponent() + 1)) * Histogram::kBins;
    first_ = 0;
    last_ = -1;
    sets_.resize(static_cast<size_t>(kSets) * Histogram::kBins);
}

// Counters are cleared when values first reach them: a tally pays only for the bins its values use.
void HistogramTally::cover(int first, int last) {
    const auto clear = [&](int from, int to) {
        for (int set = 0; set < kSets; ++set) {
            std::fill(sets_.begin() + set * Histogram::kBins + from, sets_.begin() + set * Histogram::kBins + to + 1,
                      0u);
        }
    };
    if (last_ < first_) {
        clear(first, last);
        first_ = first, last_ = last;
        return;
    }
    if (first < first_) clear(first, first_ - 1), first_ = first;
    if (last > last_) clear(last_ + 1, last), last_ = last;
}

// Bin indices are computed a block at a time, then counted alternately into two counter sets: neighbouring equal
// values (the zeros after a Relu) land in different sets, so an increment rarely waits for the previous one. (Four
// sets cost more to clear and add than they save: 15% more time in the histogram on vit, 20% on mobilenet; one set
// costs mobilenet 35%.)
void HistogramTally::add(const float* values, int64_t count) {
    constexpr int64_t kBlock = 512;
    alignas(64) int32_t bins[kBlock];
    uint32_t* const sets = sets_.data();
    for (int64_t block = 0; block < count; block += kBlock) {
        const int64_t n = std::min(kBlock, count - block);
        const BinSpan span = compute_bins(values + block, n, inverse_width_, bins);
        cover(span.first, span.last);
        int64_t j = 0;
        for (; j + kSets <= n; j += kSets) {
            for (int set = 0; set < kSets; ++set) ++sets[set * Histogram::kBins + bins[j + set]];
        }
        for (; j < n; ++j) ++sets[bins[j]];
    }
}

namespace {

// counts[b] += the sum of the sets' counters at b, for b in [first, last] (a vector loop, hence the clones).
PARE_SIMD_CLONES void add_sets(const uint32_t* sets, int first, int last, uint64_t* counts) {
    for (int b = first; b <= last; ++b) {
        counts[b] += uint64_t(sets[b]) + sets[Histogram::kBins + b];
    }
}

}  // namespace

void Histogram::add_tallies(const std::vector<HistogramTally*>& tallies, int part, int parts) {
    static_assert(HistogramTally::kSets == 2, "add_sets adds two sets");
    const int begin = kBins * part / parts, end = kBins * (part + 1) / parts;
    for (const HistogramTally* tally : tallies) {
        if (!tally) continue;  // a thread the team did not get
        add_sets(tally->sets_.data(), std::max(begin, tally->first_), std::min(end - 1, tally->last_), counts_.data());
    }
}

void Histogram::add(const float* values, int64_t count, float max_abs) {
    if (count <= 0) return;
    widen_to(range_exponent_for(max_abs));
    const float inverse_width = std::ldexp(1.0f, -(exponent_ + 1)) * kBins;
    if (count < kBins) {  // too few values to repay a tally
        for (int64_t i = 0; i < count; ++i) ++counts_[static_cast<size_t>(bin_index(values[i], inverse_width))];
        return;
    }
    // A tally's two counter sets keep runs of equal values from serializing the increments. (Calibration bins a
    // batch in parallel, a tally per thread, in TensorStats; this serves the values it leaves for after widening.)
    HistogramTally tally;
    tally.reset(*this);
    tally.add(values, count);
    add_tallies({&tally}, 0, 1);
}

void Histogram::merge(const Histogram& other) {
    if (other.exponent_ > exponent_) {
        widen_to(other.exponent_);
        for (int i = 0; i < kBins; ++i) counts_[i] += other.counts_[i];
        return;
    }
    Histogram coarsened = other;
    coarsened.widen_to(exponent_);
    for (int i = 0; i < kBins; ++i) counts_[i] += coarsened.counts_[i];
}

Histogram Histogram::from_counts(int exponent, std::vector<uint64_t> counts) {
    Histogram h;
    h.exponent_ = exponent;
    counts.resize(kBins, 0);
    h.counts_ = std::move(counts);
    return h;
}

}  // namespace pare
