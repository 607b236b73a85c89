#include "calibration/histogram.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

#include <omp.h>

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

PARE_SIMD_CLONES void compute_bins(const float* values, int64_t count, float inverse_width, int32_t* bins) {
    for (int64_t i = 0; i < count; ++i) bins[i] = bin_index(values[i], inverse_width);
}

// Adds the bins of `count` values to `counts`. Bin indices are computed a block at a time (a loop GCC vectorizes),
// then counted round-robin into four 16-bit counter sets: they fit in L1 together, and neighbouring equal values
// (the zeros after a Relu) land in different sets, so an increment rarely waits for the previous one. The sets are
// added to `counts` before any of them can overflow (a vector loop, hence the clones).
PARE_SIMD_CLONES void count_bins(const float* values, int64_t count, float inverse_width, uint64_t* counts) {
    constexpr int kSets = 4;
    constexpr int64_t kBlock = 512;
    constexpr int64_t kChunk = kSets * 65535 / kBlock * kBlock;  // each set counts at most 65535 per chunk
    alignas(64) uint16_t sets[kSets][Histogram::kBins];
    alignas(64) int32_t bins[kBlock];
    for (int64_t chunk = 0; chunk < count; chunk += kChunk) {
        std::memset(sets, 0, sizeof sets);
        const int64_t chunk_end = std::min(count, chunk + kChunk);
        for (int64_t block = chunk; block < chunk_end; block += kBlock) {
            const int64_t n = std::min(kBlock, chunk_end - block);
            compute_bins(values + block, n, inverse_width, bins);
            int64_t j = 0;
            for (; j + kSets <= n; j += kSets) {
                for (int set = 0; set < kSets; ++set) ++sets[set][bins[j + set]];
            }
            for (; j < n; ++j) ++sets[0][bins[j]];
        }
        for (int b = 0; b < Histogram::kBins; ++b)
            counts[b] += uint64_t(sets[0][b]) + sets[1][b] + sets[2][b] + sets[3][b];
    }
}

}  // namespace

void Histogram::add(const float* values, int64_t count, float max_abs) {
    if (count <= 0) return;
    widen_to(range_exponent_for(max_abs));
    const float inverse_width = std::ldexp(1.0f, -(exponent_ + 1)) * kBins;
    if (count < kBins) {  // too few values to repay clearing and adding the counter sets
        for (int64_t i = 0; i < count; ++i) ++counts_[static_cast<size_t>(bin_index(values[i], inverse_width))];
        return;
    }
    // Large tensors are binned by every thread into its own counts; integer sums make the result independent of
    // the split.
    constexpr int64_t kParallelFrom = 1 << 15;
    const int threads = count >= kParallelFrom ? omp_get_max_threads() : 1;
    std::vector<uint64_t> partial(static_cast<size_t>(threads - 1) * kBins, 0);
#pragma omp parallel num_threads(threads)
    {
        const int thread = omp_get_thread_num();
        uint64_t* counts = thread == 0 ? counts_.data() : partial.data() + static_cast<size_t>(thread - 1) * kBins;
        const int64_t begin = count * thread / threads, end = count * (thread + 1) / threads;
        count_bins(values + begin, end - begin, inverse_width, counts);
    }
    for (int t = 1; t < threads; ++t) {
        for (int b = 0; b < kBins; ++b) counts_[b] += partial[static_cast<size_t>(t - 1) * kBins + b];
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
