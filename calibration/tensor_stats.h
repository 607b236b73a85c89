// Streaming statistics of one tensor over a calibration run: min/max, an exact-merge histogram, optional
// per-channel min/max, and what the diagnostics need (the range of each half of the data, and when it settled).
// Memory is fixed per tensor: it does not grow with the number of samples.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "calibration/histogram.h"
#include "core/status.h"
#include "core/tensor.h"

namespace pare {

struct MinMax {
    double min = std::numeric_limits<double>::infinity();
    double max = -std::numeric_limits<double>::infinity();
    bool empty() const { return min > max; }
    void add(double value) {
        min = value < min ? value : min;
        max = value > max ? value : max;
    }
    void merge(const MinMax& other) {
        if (!other.empty()) add(other.min), add(other.max);
    }
};

struct MonotoneMap;

/// Histograms count at most this many values of each sample of a tensor: a larger sample contributes runs of
/// kHistogramRun consecutive values, one run every kHistogramRun x k values (k = ceil(values / this)), from an offset
/// that varies with the sample's index, so every position is counted across samples and the histogram still depends
/// only on the data, not on the batching. Binning every value of a wide activation costs more than computing it
/// (binning is the larger part of calibration's cost on a transformer); the runs are gathered while the scan for
/// min/max has the sample in cache, and short runs spread the picks over the sample. min/max and per-channel ranges
/// always see every value.
constexpr int64_t kHistogramValuesPerSample = 256;
constexpr int64_t kHistogramRun = 4;

/// Where sample `sample`'s first run starts, in 0 .. period-1: Fibonacci hashing (Knuth's multiplicative hash, high
/// bits), which spreads the offsets of consecutive samples evenly over the period.
inline int64_t histogram_run_offset(int64_t sample, int64_t period) {
    const uint32_t hash = static_cast<uint32_t>(sample) * 2654435761u;
    return static_cast<int64_t>((static_cast<uint64_t>(hash) * static_cast<uint64_t>(period)) >> 32);
}

class TensorStats {
public:
    /// `channel_axis` >= 0 also keeps per-channel min/max along that axis. `total_samples` (dim 0 across the
    /// whole run) splits the data into two halves for the settling diagnostic.
    TensorStats(std::string name, int channel_axis, int64_t total_samples);

    /// Adds one batch of `batch_size` samples; `first_sample` is the index of its first sample in the whole run.
    /// NaN or Inf is an error naming the tensor and the sample.
    Status add(const Tensor& value, int64_t first_sample, int64_t batch_size);
    /// The same for `value` = `map`(`input`) element by element, `input` having just added this batch: the extremes
    /// come from the input's rows instead of a scan of every value (the histogram still counts this tensor's own
    /// values). Falls back to add() when the input did not see this batch, per channel, and when a mapped extreme
    /// is not finite (add() then names the sample).
    Status add_mapped(const Tensor& value, int64_t first_sample, int64_t batch_size, const TensorStats& input,
                      const MonotoneMap& map);
    /// Adds another collector's statistics of the same tensor (e.g. from another worker). The settle index keeps
    /// the larger one.
    void merge(const TensorStats& other);

    /// Rebuilds statistics read back from a calibration table.
    static TensorStats restore(std::string name, MinMax range, MinMax first_half, MinMax second_half,
                               std::vector<MinMax> channels, Histogram histogram, int64_t samples, int64_t settled_at);

    const std::string& name() const { return name_; }
    /// The same statistics under another tensor's name (a tensor holding the same values).
    TensorStats renamed(std::string name) const;
    const MinMax& range() const { return range_; }
    const Histogram& histogram() const { return histogram_; }
    const std::vector<MinMax>& channels() const { return channels_; }
    const MinMax& first_half() const { return halves_[0]; }
    const MinMax& second_half() const { return halves_[1]; }
    int64_t samples() const { return samples_; }
    /// Sample count at which max |x| last grew by more than 1% over its value at the previous such point: a lower
    /// bound on how many samples the range needs.
    int64_t settled_at() const { return settled_at_; }

private:
    Status accumulate(const Tensor& value, int64_t first_sample, int64_t batch_size,
                      const std::vector<MinMax>* known_rows);
    Status non_finite_error(const float* src, int64_t count, int64_t sample) const;
    std::string name_;
    int channel_axis_;
    int64_t total_samples_;
    MinMax range_;
    MinMax halves_[2];
    std::vector<MinMax> channels_;
    Histogram histogram_;
    int64_t samples_ = 0;
    int64_t settled_at_ = 0;
    double settle_reference_ = 0.0;
    // The last batch added: its first sample and each row's extremes (for add_mapped of a tensor computed from it).
    int64_t last_first_sample_ = -1;
    std::vector<MinMax> last_rows_;
};

}  // namespace pare
