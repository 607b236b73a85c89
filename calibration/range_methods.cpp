#include "calibration/range_methods.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <memory>
#include <vector>

#include "core/vector_math.h"

namespace pare {

namespace {

constexpr int kHalf = Histogram::kBins / 2;

// Histogram of |x|: bin k covers [k w, (k + 1) w).
std::vector<double> magnitude_histogram(const Histogram& histogram) {
    std::vector<double> magnitude(kHalf, 0.0);
    const auto& counts = histogram.counts();
    for (int k = 0; k < kHalf; ++k) {
        magnitude[k] = static_cast<double>(counts[kHalf + k]) + static_cast<double>(counts[kHalf - 1 - k]);
    }
    return magnitude;
}

// The value below which `fraction` of the mass lies, interpolated inside the crossing bin.
double quantile(const std::vector<double>& counts, double first_edge, double width, double fraction) {
    double total = 0.0;
    for (double c : counts) total += c;
    const double target = fraction * total;
    double cumulative = 0.0;
    for (size_t i = 0; i < counts.size(); ++i) {
        if (cumulative + counts[i] >= target && counts[i] > 0) {
            const double inside = (target - cumulative) / counts[i];
            return first_edge + (static_cast<double>(i) + inside) * width;
        }
        cumulative += counts[i];
    }
    return first_edge + static_cast<double>(counts.size()) * width;
}

Range symmetric_of(double t) { return Range{-t, t}; }

// Clips an asymmetric range to a symmetric threshold without leaving the data's own range.
Range clip_to(const MinMax& range, double t) { return Range{std::max(range.min, -t), std::min(range.max, t)}; }

// KL divergence between the magnitude histogram clipped at bin i (outliers added to bin i - 1) and its quantization
// to `levels` levels, as TensorRT computes it: the unclipped bins are merged into `levels` groups (the remainder joins
// the last), each group's mass spread evenly over its bins where the reference is non-zero; in both distributions
// zero bins get a small epsilon taken evenly from the non-zero ones (as TensorRT and MXNet do), then both are
// normalized. Expanded so that a candidate costs one logarithm per non-zero bin and O(1) per group: with P and Q the
// smoothed masses over their totals,
//   D = sum_k P_k log(P_k / Q_k) = (sum_{r_k>0} (r_k - t) log(r_k - t) - sum_g S_g log q_g) / Z_P + log(Z_Q / Z_P),
// t being the epsilon taken from each non-zero reference bin, q_g a group's smoothed value and S_g its smoothed
// reference mass; the zero bins' terms cancel.
class ClippedDivergence {
public:
    explicit ClippedDivergence(const std::vector<double>& magnitude)
        : magnitude_(magnitude),
          mass_(magnitude.size() + 1, 0.0),
          nonzero_(magnitude.size() + 1, 0),
          plain_entropy_(magnitude.size() + 1, 0.0),
          smoothed_(magnitude.size()),
          logs_(magnitude.size()) {
        for (size_t k = 0; k < magnitude.size(); ++k) smoothed_[k] = magnitude[k] > 0 ? magnitude[k] : 1.0;
        vector_log(smoothed_.data(), logs_.data(), static_cast<int64_t>(magnitude.size()));
        for (size_t k = 0; k < magnitude.size(); ++k) {
            mass_[k + 1] = mass_[k] + magnitude[k];
            nonzero_[k + 1] = nonzero_[k] + (magnitude[k] > 0);
            plain_entropy_[k + 1] = plain_entropy_[k] + (magnitude[k] > 0 ? magnitude[k] * logs_[k] : 0.0);
        }
    }

    double operator()(int i, int levels) const {
        const double total = mass_.back();
        const double last = magnitude_[i - 1] + (total - mass_[i]);  // the clipped reference's last bin
        const int64_t nonzeros = nonzero_[i - 1] + (last > 0);
        const double taken = smoothing_share(i - nonzeros, nonzeros);
        // Groups: each one's mass (of the unclipped histogram), non-zero reference bins and smoothed reference mass.
        const int merged = i / levels;
        groups_.resize(static_cast<size_t>(levels));
        int64_t quantized_nonzeros = 0;
        double quantized_total = 0.0;
        for (int level = 0; level < levels; ++level) {
            const Group& g = groups_[level] = group(level, merged, levels, i, last);
            if (g.nonzeros > 0 && g.mass > 0) quantized_nonzeros += g.nonzeros, quantized_total += g.mass;
        }
        if (quantized_total <= 0) return INFINITY;
        const double quantized_taken = smoothing_share(i - quantized_nonzeros, quantized_nonzeros);
        double sum = 0.0;
        for (const Group& g : groups_) {
            if (g.nonzeros == 0) continue;
            const double value = g.mass > 0 ? g.mass / g.nonzeros - quantized_taken : kEpsilon;
            sum -= (g.reference_mass - g.nonzeros * taken) * std::log(value);
        }
        sum += smoothed_entropy_sum(i, last, taken);
        return sum / total + std::log(quantized_total / total);
    }

private:
    static constexpr double kEpsilon = 1e-4;

    // sum (r_k - t) log(r_k - t) over the clipped reference's non-zero bins. Without smoothing (t = 0) that is a
    // prefix sum; otherwise the logarithms are taken a vector at a time (the bulk of the entropy method's cost).
    double smoothed_entropy_sum(int i, double last, double taken) const {
        const double last_term = last > 0 ? (last - taken) * std::log(last - taken) : 0.0;
        if (taken == 0) return plain_entropy_[i - 1] + last_term;
        for (int k = 0; k < i - 1; ++k) smoothed_[k] = magnitude_[k] > 0 ? magnitude_[k] - taken : 1.0;  // log 1 = 0
        vector_log(smoothed_.data(), logs_.data(), i - 1);
        double sum = 0.0;
        for (int k = 0; k < i - 1; ++k) sum += magnitude_[k] > 0 ? smoothed_[k] * logs_[k] : 0.0;
        return sum + last_term;
    }

    struct Group {
        double mass, reference_mass;
        int64_t nonzeros;
    };

    // The epsilon each non-zero bin gives up so that every zero bin holds kEpsilon (none without zero bins).
    static double smoothing_share(int64_t zeros, int64_t nonzeros) {
        return zeros > 0 && nonzeros > 0 ? kEpsilon * static_cast<double>(zeros) / static_cast<double>(nonzeros) : 0.0;
    }

    Group group(int level, int merged, int levels, int i, double last) const {
        const int begin = level * merged, end = level == levels - 1 ? i : begin + merged;
        Group g{mass_[end] - mass_[begin], mass_[end] - mass_[begin], nonzero_[end] - nonzero_[begin]};
        if (end == i) {  // holds the last bin, whose reference has the clipped outliers added
            g.reference_mass += last - magnitude_[i - 1];
            g.nonzeros += (last > 0) - (magnitude_[i - 1] > 0);
        }
        return g;
    }

    const std::vector<double>& magnitude_;
    std::vector<double> mass_;                     // prefix sums of the magnitude histogram
    std::vector<int64_t> nonzero_;                 // prefix counts of its non-zero bins
    std::vector<double> plain_entropy_;            // prefix sums of m log m
    mutable std::vector<double> smoothed_, logs_;  // scratch
    mutable std::vector<Group> groups_;            // scratch: this candidate's groups
};

// TensorRT's entropy calibration over |x|: the threshold whose quantized distribution loses the least information
// (KL divergence) against the clipped reference distribution. Thresholds are tried every kEntropyStride bins, then
// every bin around the best of those: the divergence varies slowly with the threshold, and trying every one of the
// 2048 costs O(bins^2) per tensor, which dominated calibration time on models with many small tensors.
double entropy_threshold(const Histogram& histogram, int bits) {
    constexpr int kEntropyStride = 16;
    std::vector<double> magnitude = magnitude_histogram(histogram);
    // The bin at zero holds every exact zero a ReLU produced, often most of the mass: left in, it makes thresholds
    // that represent the few levels near zero exactly look best, clipping the range that carries the signal.
    // NVIDIA's pytorch-quantization drops it the same way.
    magnitude[0] = magnitude[1];
    const int levels = 1 << (bits - 1);
    int last_used = 0;
    for (int k = 0; k < kHalf; ++k) {
        if (magnitude[k] > 0) last_used = k + 1;
    }
    if (last_used <= levels) return last_used * histogram.bin_width();
    double best_divergence = INFINITY;
    int best = last_used;
    const ClippedDivergence clipped_divergence(magnitude);
    auto try_threshold = [&](int i) {
        const double divergence = clipped_divergence(i, levels);
        if (divergence < best_divergence || (divergence == best_divergence && i < best)) {
            best_divergence = divergence;
            best = i;
        }
    };
    for (int i = levels; i <= last_used; i += kEntropyStride) try_threshold(i);
    try_threshold(last_used);
    const int coarse = best;
    for (int i = std::max(levels, coarse - kEntropyStride + 1); i <= std::min(last_used, coarse + kEntropyStride - 1);
         ++i) {
        if (i != coarse) try_threshold(i);
    }
    return best * histogram.bin_width();
}

// The histogram's bins as point masses at their centers, with prefix sums of count, count x center and
// count x center^2, so that the squared distance of every mass below (or above) a point is a few operations.
class MassPrefix {
public:
    explicit MassPrefix(const Histogram& histogram) : width_(histogram.bin_width()) {
        const auto& counts = histogram.counts();
        for (int b = 0; b < Histogram::kBins; ++b) {
            const double c = static_cast<double>(counts[b]), x = center(b);
            count_[b + 1] = count_[b] + c;
            first_[b + 1] = first_[b] + c * x;
            second_[b + 1] = second_[b] + c * x * x;
        }
    }

    /// Expected squared error of quantizing the masses to `steps` uniform steps over [lo, hi]: clipping error
    /// outside, step^2 / 12 rounding noise inside.
    double expected_error(double lo, double hi, int steps) const {
        const double step = (hi - lo) / steps;
        const int below = first_center_at_or_above(lo), above = first_center_above(hi);
        constexpr int kEnd = Histogram::kBins;
        const double left = lo * lo * count_[below] - 2 * lo * first_[below] + second_[below];
        const double right = hi * hi * (count_[kEnd] - count_[above]) - 2 * hi * (first_[kEnd] - first_[above]) +
                             (second_[kEnd] - second_[above]);
        return left + right + (count_[above] - count_[below]) * step * step / 12.0;
    }

private:
    double center(int b) const { return (b - Histogram::kBins / 2 + 0.5) * width_; }
    int first_center_at_or_above(double x) const {
        return std::clamp(static_cast<int>(std::ceil(x / width_ - 0.5)) + Histogram::kBins / 2, 0, Histogram::kBins);
    }
    int first_center_above(double x) const {
        return std::clamp(static_cast<int>(std::floor(x / width_ - 0.5)) + 1 + Histogram::kBins / 2, 0,
                          Histogram::kBins);
    }

    double width_;
    std::array<double, Histogram::kBins + 1> count_{}, first_{}, second_{};
};

// The scaling of the min/max range (by 1/200 steps from 1% to 100%) with the least expected error.
Range mse_range(const MassPrefix& mass, Range full, int steps) {
    Range best = full;
    double best_error = INFINITY;
    for (int i = 200; i >= 2; --i) {
        const double alpha = i / 200.0;
        const Range candidate{full.lo * alpha, full.hi * alpha};
        if (candidate.hi <= candidate.lo) continue;
        const double error = mass.expected_error(candidate.lo, candidate.hi, steps);
        if (error < best_error) {
            best_error = error;
            best = candidate;
        }
    }
    return best;
}

}  // namespace

std::string range_method_name(RangeMethod method) {
    switch (method) {
        case RangeMethod::kMinMax:
            return "minmax";
        case RangeMethod::kPercentile:
            return "percentile";
        case RangeMethod::kEntropy:
            return "entropy";
        case RangeMethod::kMse:
            return "mse";
    }
    return "?";
}

Result<RangeMethod> parse_range_method(const std::string& name) {
    for (RangeMethod method :
         {RangeMethod::kMinMax, RangeMethod::kPercentile, RangeMethod::kEntropy, RangeMethod::kMse}) {
        if (range_method_name(method) == name) return method;
    }
    return usage_error("unknown calibration method '" + name + "' (minmax, percentile, entropy, mse)");
}

MethodRange compute_range(const MinMax& range, const Histogram& histogram, RangeMethod method,
                          const RangeOptions& options) {
    if (range.empty()) return MethodRange{};
    const double max_abs = std::max(std::fabs(range.min), std::fabs(range.max));
    MethodRange result;
    switch (method) {
        case RangeMethod::kMinMax:
            result.symmetric = symmetric_of(max_abs);
            result.asymmetric = Range{range.min, range.max};
            break;
        case RangeMethod::kPercentile: {
            const double fraction = options.percentile / 100.0;
            const double t =
                std::min(max_abs, quantile(magnitude_histogram(histogram), 0.0, histogram.bin_width(), fraction));
            std::vector<double> counts(histogram.counts().begin(), histogram.counts().end());
            const double lo = quantile(counts, -histogram.range(), histogram.bin_width(), 1.0 - fraction);
            const double hi = quantile(counts, -histogram.range(), histogram.bin_width(), fraction);
            result.symmetric = symmetric_of(t);
            result.asymmetric = Range{std::max(range.min, lo), std::min(range.max, hi)};
            break;
        }
        case RangeMethod::kEntropy: {
            const double t = std::min(max_abs, entropy_threshold(histogram, options.bits));
            result.symmetric = symmetric_of(t);
            result.asymmetric = clip_to(range, t);
            break;
        }
        case RangeMethod::kMse: {
            const int symmetric_steps = (1 << options.bits) - 2;  // e.g. [-127, 127]
            const int asymmetric_steps = (1 << options.bits) - 1;
            const auto mass = std::make_unique<MassPrefix>(histogram);  // 100 KB: not on the stack
            result.symmetric = mse_range(*mass, symmetric_of(max_abs), symmetric_steps);
            result.asymmetric = mse_range(*mass, Range{range.min, range.max}, asymmetric_steps);
            break;
        }
    }
    return result;
}

}  // namespace pare
