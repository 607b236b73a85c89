#include "calibration/histogram.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace pare {

int range_exponent_for(double max_abs) {
    int exponent = Histogram::kMinExponent;
    while (std::ldexp(1.0, exponent) <= max_abs) ++exponent;
    return exponent;
}

double Histogram::range() const { return std::ldexp(1.0, exponent_); }

uint64_t Histogram::total() const { return std::accumulate(counts_.begin(), counts_.end(), uint64_t(0)); }

void Histogram::widen_to(int exponent) {
    while (exponent_ < exponent) {
        // New bin j covers old bins 2j - B/2 and 2j - B/2 + 1 (the old range is the middle half of the new one).
        std::vector<uint64_t> wider(kBins, 0);
        for (int old_bin = 0; old_bin < kBins; ++old_bin) {
            wider[(old_bin + kBins / 2) / 2] += counts_[old_bin];
        }
        counts_ = std::move(wider);
        ++exponent_;
    }
}

void Histogram::add(const float* values, int64_t count) {
    if (count <= 0) return;
    float max_abs = 0.0f;
    for (int64_t i = 0; i < count; ++i) max_abs = std::max(max_abs, std::fabs(values[i]));
    widen_to(range_exponent_for(max_abs));
    // bin = floor(x / width) + B/2, with width = 2^(e+1) / B a power of two: the scaling is exact.
    const double inverse_width = std::ldexp(1.0, -(exponent_ + 1)) * kBins;
    for (int64_t i = 0; i < count; ++i) {
        const int64_t bin = static_cast<int64_t>(std::floor(values[i] * inverse_width)) + kBins / 2;
        ++counts_[static_cast<size_t>(std::clamp<int64_t>(bin, 0, kBins - 1))];
    }
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
