#include "calibration/tensor_stats.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include <omp.h>

#include "calibration/monotone_map.h"
#include "core/simd.h"

namespace pare {

TensorStats::TensorStats(std::string name, int channel_axis, int64_t total_samples)
    : name_(std::move(name)), channel_axis_(channel_axis), total_samples_(total_samples) {}

namespace {

struct RowRange {
    MinMax minmax;
    bool finite;
};

// Min and max of a row in one vectorizable pass (this file is compiled with -ffinite-math-only so that GCC turns the
// comparisons into SIMD min/max), compiled for AVX-512, AVX2 and baseline x86-64, the widest the CPU has picked when
// the program loads. NaN and Inf are found from their bits, all-ones exponents, which that flag does not touch.
PARE_SIMD_CLONES RowRange scan_row(const float* src, int64_t count) {
    float lo = std::numeric_limits<float>::max(), hi = -lo;
    uint32_t non_finite = 0;
    for (int64_t i = 0; i < count; ++i) {
        const float x = src[i];
        uint32_t bits;
        std::memcpy(&bits, &x, sizeof bits);
        non_finite |= (bits & 0x7f800000u) == 0x7f800000u;
        lo = x < lo ? x : lo;
        hi = x > hi ? x : hi;
    }
    RowRange r{MinMax(), non_finite == 0};
    if (count > 0) r.minmax.add(lo), r.minmax.add(hi);
    return r;
}

// The runs of `count` values of src that start at `offset` and every `period` after it, end to end into dst.
void gather_runs(const float* src, int64_t count, int64_t offset, int64_t period, float* dst) {
    int64_t start = offset;
    for (; start + kHistogramRun <= count; start += period, dst += kHistogramRun) {
        // A constant size becomes a few vector moves (a variable one calls a string copy that costs more to start).
        std::memcpy(dst, src + start, kHistogramRun * sizeof(float));
    }
    if (start < count) std::copy(src + start, src + count, dst);
}

// Which values of each row (sample) the histogram counts (kHistogramValuesPerSample): runs of kHistogramRun values,
// one every `period` from `offsets[row]`, `starts[row]` being where they go in the gathered list.
struct HistogramPick {
    int64_t period = 0;  // 0: every value
    std::vector<int64_t> offsets, starts;
};

HistogramPick pick_for_histogram(int64_t rows, int64_t per_row, int64_t first_sample) {
    HistogramPick pick;
    if (per_row <= kHistogramValuesPerSample) return pick;
    pick.period = kHistogramRun * ((per_row + kHistogramValuesPerSample - 1) / kHistogramValuesPerSample);
    pick.offsets.resize(static_cast<size_t>(rows));
    pick.starts.assign(static_cast<size_t>(rows) + 1, 0);
    for (int64_t row = 0; row < rows; ++row) {
        const int64_t offset = histogram_run_offset(first_sample + row, pick.period);
        const int64_t runs = (per_row - offset + pick.period - 1) / pick.period;
        const int64_t last_run = std::min(kHistogramRun, per_row - (offset + (runs - 1) * pick.period));
        pick.offsets[row] = offset;
        pick.starts[row + 1] = pick.starts[row] + (runs - 1) * kHistogramRun + last_run;
    }
    return pick;
}

// Batches this large are scanned and gathered by every thread (smaller ones do not repay waking them).
constexpr int64_t kParallelFrom = 1 << 15;

}  // namespace

Status TensorStats::non_finite_error(const float* src, int64_t count, int64_t sample) const {
    bool nan = false;
    for (int64_t i = 0; i < count && !nan; ++i) {
        uint32_t bits;
        std::memcpy(&bits, &src[i], sizeof bits);
        nan = (bits & 0x7fffffffu) > 0x7f800000u;
    }
    return invalid_input("tensor '" + name_ + "' has " + (nan ? "NaN" : "Inf") + " for sample " +
                         std::to_string(sample));
}

Status TensorStats::add(const Tensor& value, int64_t first_sample, int64_t batch_size) {
    return accumulate(value, first_sample, batch_size, nullptr);
}

Status TensorStats::add_mapped(const Tensor& value, int64_t first_sample, int64_t batch_size, const TensorStats& input,
                               const MonotoneMap& map) {
    if (channel_axis_ >= 0 || input.last_first_sample_ != first_sample || input.last_rows_.empty()) {
        return add(value, first_sample, batch_size);
    }
    std::vector<MinMax> rows(input.last_rows_.size());
    for (size_t row = 0; row < rows.size(); ++row) {
        const std::optional<MinMax> image = map.apply(input.last_rows_[row]);
        if (!image) return add(value, first_sample, batch_size);  // it overflowed: the scan names the sample
        rows[row] = *image;
    }
    return accumulate(value, first_sample, batch_size, &rows);
}

Status TensorStats::accumulate(const Tensor& value, int64_t first_sample, int64_t batch_size,
                               const std::vector<MinMax>* known_rows) {
    // Statistics are kept in float: other dtypes (f16 activations) are converted once per batch.
    const Tensor as_float = value.dtype() == DType::kF32 ? value : value.cast(DType::kF32);
    const float* data = as_float.data<float>();
    const int64_t count = as_float.numel();
    // Rows are samples when dim 0 is the batch; otherwise the batch counts as one unit at its first sample.
    const bool batch_major = value.rank() > 0 && value.dim(0) == batch_size && batch_size > 0;
    const int64_t rows = batch_major ? batch_size : 1;
    const int64_t per_row = rows ? count / rows : 0;
    if (known_rows && static_cast<int64_t>(known_rows->size()) != rows) known_rows = nullptr;

    // Rows are scanned (unless their extremes are known) in parallel, then merged in order: the result does not
    // depend on the thread count. Each thread gathers the values the histogram counts from its rows while they are
    // in cache and bins them into its own tally at the histogram's current range; the threads then add the tallies,
    // each a part of the bins. A thread whose rows reach beyond the range leaves its values to be counted after the
    // histogram has widened (exact: widening merges whole bins).
    const HistogramPick pick = pick_for_histogram(rows, per_row, first_sample);
    const int threads = count >= kParallelFrom && !omp_in_parallel() ? omp_get_max_threads() : 1;
    std::vector<RowRange> row_ranges(static_cast<size_t>(rows));
    std::vector<HistogramTally*> tallies(static_cast<size_t>(threads));
    // Each thread's values left for after the widening, and the largest magnitude in its rows (the range to widen to).
    struct Beyond {
        const float* values = nullptr;
        int64_t count = 0;
        double max_abs = 0.0;
    };
    std::vector<Beyond> beyond(static_cast<size_t>(threads));
#pragma omp parallel num_threads(threads)
    {
        // Reused across calls: allocated once per thread.
        thread_local HistogramTally tally;
        thread_local std::vector<float> picked;
        const int thread = omp_get_thread_num(), team = omp_get_num_threads();
        const int64_t first_row = rows * thread / team, end_row = rows * (thread + 1) / team;
        if (pick.period) picked.resize(static_cast<size_t>(pick.starts[end_row] - pick.starts[first_row]));
        double max_abs = 0.0;
        bool finite = true;
        for (int64_t row = first_row; row < end_row; ++row) {
            const float* src = data + row * per_row;
            RowRange& range = row_ranges[row];
            range = known_rows ? RowRange{(*known_rows)[row], true} : scan_row(src, per_row);
            finite = finite && range.finite;
            if (!range.minmax.empty()) {
                max_abs = std::max({max_abs, std::fabs(range.minmax.min), std::fabs(range.minmax.max)});
            }
            if (pick.period) {
                gather_runs(src, per_row, pick.offsets[row], pick.period,
                            picked.data() + pick.starts[row] - pick.starts[first_row]);
            }
        }
        const float* values = pick.period ? picked.data() : data + first_row * per_row;
        const int64_t value_count = pick.period ? static_cast<int64_t>(picked.size()) : (end_row - first_row) * per_row;
        tally.reset(histogram_);
        tallies[thread] = &tally;
        if (finite && tally.covers(max_abs)) {
            tally.add(values, value_count);
        } else if (finite) {
            beyond[thread] = Beyond{values, value_count, max_abs};
        }
#pragma omp barrier
        histogram_.add_tallies(tallies, thread, team);
        // Every thread reads the same answer after the barrier, so all or none wait at the next one: a batch inside
        // the current range (nearly all of them) syncs the team once.
        const bool widens = std::any_of(beyond.begin(), beyond.end(), [](const Beyond& b) { return b.values; });
        if (widens) {
#pragma omp barrier
#pragma omp single nowait
            for (const Beyond& left : beyond) {
                if (left.values) histogram_.add(left.values, left.count, static_cast<float>(left.max_abs));
            }
        }
    }
    last_first_sample_ = first_sample;
    last_rows_.resize(static_cast<size_t>(rows));
    for (int64_t row = 0; row < rows; ++row) {
        const int64_t sample = first_sample + row;
        const RowRange& row_range = row_ranges[row];
        if (!row_range.finite) return non_finite_error(data + row * per_row, per_row, sample);
        last_rows_[row] = row_range.minmax;
        MinMax& half = halves_[total_samples_ > 0 && sample * 2 >= total_samples_ ? 1 : 0];
        half.merge(row_range.minmax);
        range_.merge(row_range.minmax);
        // Per sample, so the diagnostic does not depend on the batch size.
        const double range_max_abs = std::max(std::fabs(range_.min), std::fabs(range_.max));
        if (range_max_abs > settle_reference_ * 1.01) {
            settle_reference_ = range_max_abs;
            settled_at_ = sample + 1;
        }
    }

    if (channel_axis_ >= 0 && channel_axis_ < value.rank()) {
        const int64_t channels = value.dim(channel_axis_);
        int64_t inner = 1;
        for (int64_t axis = channel_axis_ + 1; axis < value.rank(); ++axis) inner *= value.dim(axis);
        const int64_t outer = channels > 0 && inner > 0 ? count / (channels * inner) : 0;
        if (channels_.empty()) channels_.resize(static_cast<size_t>(channels));
        if (static_cast<int64_t>(channels_.size()) == channels) {
            for (int64_t o = 0; o < outer; ++o) {
                for (int64_t c = 0; c < channels; ++c) {
                    const float* src = data + (o * channels + c) * inner;
                    for (int64_t i = 0; i < inner; ++i) channels_[c].add(src[i]);
                }
            }
        }
    }
    samples_ += batch_size;
    return Status();
}

TensorStats TensorStats::restore(std::string name, MinMax range, MinMax first_half, MinMax second_half,
                                 std::vector<MinMax> channels, Histogram histogram, int64_t samples,
                                 int64_t settled_at) {
    TensorStats stats(std::move(name), channels.empty() ? -1 : 1, samples);
    stats.range_ = range;
    stats.halves_[0] = first_half;
    stats.halves_[1] = second_half;
    stats.channels_ = std::move(channels);
    stats.histogram_ = std::move(histogram);
    stats.samples_ = samples;
    stats.settled_at_ = settled_at;
    stats.settle_reference_ = std::max(std::fabs(range.min), std::fabs(range.max));
    return stats;
}

TensorStats TensorStats::renamed(std::string name) const {
    TensorStats copy = *this;
    copy.name_ = std::move(name);
    return copy;
}

void TensorStats::merge(const TensorStats& other) {
    range_.merge(other.range_);
    halves_[0].merge(other.halves_[0]);
    halves_[1].merge(other.halves_[1]);
    if (channels_.empty())
        channels_ = other.channels_;
    else if (channels_.size() == other.channels_.size()) {
        for (size_t c = 0; c < channels_.size(); ++c) channels_[c].merge(other.channels_[c]);
    }
    histogram_.merge(other.histogram_);
    samples_ += other.samples_;
    settled_at_ = std::max(settled_at_, other.settled_at_);
    settle_reference_ = std::max(settle_reference_, other.settle_reference_);
}

}  // namespace pare
