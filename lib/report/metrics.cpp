#include "report/metrics.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace pare {

namespace {

Status check_same_layout(const ScoreRows& reference, const ScoreRows& test) {
    if (reference.rows != test.rows || reference.classes != test.classes) {
        return invalid_input("cannot compare scores of " + std::to_string(reference.rows) + "x" +
                             std::to_string(reference.classes) + " with " + std::to_string(test.rows) + "x" +
                             std::to_string(test.classes));
    }
    return Status();
}

// log(softmax(row)) computed as row - max - log(sum(exp(row - max))).
std::vector<double> log_softmax(const double* row, int64_t classes) {
    const double max = *std::max_element(row, row + classes);
    double sum = 0;
    for (int64_t c = 0; c < classes; ++c) sum += std::exp(row[c] - max);
    const double log_sum = std::log(sum);
    std::vector<double> result(static_cast<size_t>(classes));
    for (int64_t c = 0; c < classes; ++c) result[c] = row[c] - max - log_sum;
    return result;
}

}  // namespace

Result<ScoreRows> score_rows(const Tensor& scores, const std::string& what) {
    if (!dtype_is_float(scores.dtype()) || scores.rank() < 2 || scores.dim(0) <= 0 || scores.numel() == 0) {
        return invalid_input(what + " is " + dtype_name(scores.dtype()) + " " + shape_to_string(scores.shape()) +
                             ": class scores must be a float tensor [samples, classes...]");
    }
    ScoreRows rows;
    rows.rows = scores.dim(0);
    rows.classes = scores.numel() / rows.rows;
    const Tensor values = scores.dtype() == DType::kF64 ? scores : scores.cast(DType::kF64);
    const double* src = values.data<double>();
    rows.values.assign(src, src + values.numel());
    return rows;
}

std::vector<int64_t> top_k(const double* row, int64_t classes, int64_t k) {
    std::vector<int64_t> order(static_cast<size_t>(classes));
    std::iota(order.begin(), order.end(), 0);
    k = std::min(k, classes);
    // NaN scores rank last so they never win.
    auto better = [row](int64_t a, int64_t b) {
        const bool a_nan = std::isnan(row[a]), b_nan = std::isnan(row[b]);
        if (a_nan != b_nan) return b_nan;
        if (!a_nan && row[a] != row[b]) return row[a] > row[b];
        return a < b;
    };
    std::partial_sort(order.begin(), order.begin() + k, order.end(), better);
    order.resize(static_cast<size_t>(k));
    return order;
}

std::vector<int64_t> argmax_rows(const ScoreRows& scores) {
    std::vector<int64_t> best(static_cast<size_t>(scores.rows));
    for (int64_t r = 0; r < scores.rows; ++r) best[r] = top_k(&scores.values[r * scores.classes], scores.classes, 1)[0];
    return best;
}

Status AccuracyCounter::add(const ScoreRows& scores, const int64_t* labels) {
    for (int64_t r = 0; r < scores.rows; ++r) {
        if (labels[r] < 0 || labels[r] >= scores.classes) {
            return invalid_input("label " + std::to_string(labels[r]) + " of sample " + std::to_string(samples_ + r) +
                                 " is outside the model's " + std::to_string(scores.classes) + " classes");
        }
    }
    for (int64_t r = 0; r < scores.rows; ++r) {
        const std::vector<int64_t> best = top_k(&scores.values[r * scores.classes], scores.classes, 5);
        top1_hits_ += best[0] == labels[r];
        top5_hits_ += std::find(best.begin(), best.end(), labels[r]) != best.end();
    }
    samples_ += scores.rows;
    return Status();
}

Status AgreementCounter::add(const ScoreRows& reference, const ScoreRows& test) {
    PARE_RETURN_IF_ERROR(check_same_layout(reference, test));
    const std::vector<int64_t> a = argmax_rows(reference), b = argmax_rows(test);
    for (size_t i = 0; i < a.size(); ++i) agreed_ += a[i] == b[i];
    samples_ += reference.rows;
    return Status();
}

template <typename T>
void ErrorStats::accumulate(const T* reference, const T* test, int64_t count) {
    for (int64_t i = 0; i < count; ++i) {
        const double r = reference[i], t = test[i];
        const double error = t - r;
        signal_ += r * r;
        noise_ += error * error;
        dot_ += r * t;
        test_energy_ += t * t;
        // A NaN error is the maximum and stays so.
        const double magnitude = std::fabs(error);
        if (!std::isnan(max_abs_) && (std::isnan(magnitude) || magnitude > max_abs_)) max_abs_ = magnitude;
        sum_abs_ += magnitude;
    }
    elements_ += count;
}

Status ErrorStats::add(const Tensor& reference, const Tensor& test) {
    if (reference.shape() != test.shape()) {
        return invalid_input("cannot compare shape " + shape_to_string(test.shape()) + " with reference shape " +
                             shape_to_string(reference.shape()));
    }
    // float32 pairs (every activation of a float model) are read in place: the per-layer comparison of a quantized
    // model runs this on every intermediate tensor, and a double copy of each dominated `pare quantize` time.
    if (reference.dtype() == DType::kF32 && test.dtype() == DType::kF32) {
        accumulate(reference.data<float>(), test.data<float>(), reference.numel());
        return Status();
    }
    const Tensor ref = reference.dtype() == DType::kF64 ? reference : reference.cast(DType::kF64);
    const Tensor got = test.dtype() == DType::kF64 ? test : test.cast(DType::kF64);
    accumulate(ref.data<double>(), got.data<double>(), ref.numel());
    return Status();
}

std::optional<double> ErrorStats::sqnr_db() const {
    if (!(noise_ > 0) || !(signal_ > 0)) return std::nullopt;
    return 10.0 * std::log10(signal_ / noise_);
}

double ErrorStats::cosine() const {
    if (signal_ == 0 && test_energy_ == 0) return 1.0;
    if (signal_ == 0 || test_energy_ == 0) return 0.0;
    // Rounding can carry the quotient of identical tensors just past 1.
    return std::clamp(dot_ / (std::sqrt(signal_) * std::sqrt(test_energy_)), -1.0, 1.0);
}

Status KlDivergence::add(const ScoreRows& reference, const ScoreRows& test) {
    PARE_RETURN_IF_ERROR(check_same_layout(reference, test));
    for (int64_t r = 0; r < reference.rows; ++r) {
        const std::vector<double> p = log_softmax(&reference.values[r * reference.classes], reference.classes);
        const std::vector<double> q = log_softmax(&test.values[r * test.classes], test.classes);
        double kl = 0;
        for (int64_t c = 0; c < reference.classes; ++c) kl += std::exp(p[c]) * (p[c] - q[c]);
        sum_ += kl;
    }
    samples_ += reference.rows;
    return Status();
}

LatencySummary summarize_latency(std::vector<double> milliseconds) {
    LatencySummary summary;
    if (milliseconds.empty()) return summary;
    std::sort(milliseconds.begin(), milliseconds.end());
    const size_t n = milliseconds.size();
    auto percentile = [&](double p) {
        const size_t rank = static_cast<size_t>(std::ceil(p * static_cast<double>(n)));
        return milliseconds[std::max<size_t>(rank, 1) - 1];
    };
    summary.runs = static_cast<int64_t>(n);
    summary.mean_ms = std::accumulate(milliseconds.begin(), milliseconds.end(), 0.0) / static_cast<double>(n);
    summary.p50_ms = percentile(0.5);
    summary.p90_ms = percentile(0.9);
    summary.min_ms = milliseconds.front();
    summary.max_ms = milliseconds.back();
    return summary;
}

}  // namespace pare
