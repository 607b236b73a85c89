// Metrics that compare a model's outputs with labels or with another model's outputs: top-k accuracy, top-1
// agreement, SQNR, cosine similarity, max abs error and KL divergence. Each is an accumulator fed batch by batch;
// sums run in double, in element order, so results are deterministic.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "core/status.h"
#include "core/tensor.h"

namespace pare {

/// Class scores of a batch: dim 0 is the sample, the remaining dims flattened are the classes.
struct ScoreRows {
    int64_t rows = 0;
    int64_t classes = 0;
    std::vector<double> values;  // rows * classes
};

/// Reads a float tensor of rank >= 2 as score rows; other tensors are kInvalidInput naming `what`.
Result<ScoreRows> score_rows(const Tensor& scores, const std::string& what);

/// The k best classes of one row, best first; equal scores rank the lower class index first.
std::vector<int64_t> top_k(const double* row, int64_t classes, int64_t k);

/// Index of the best class of every row (ties: the lower index).
std::vector<int64_t> argmax_rows(const ScoreRows& scores);

/// Top-1 and top-5 hits against labels. Models with fewer than 5 classes count top-5 over all their classes.
class AccuracyCounter {
  public:
    /// `labels` holds one label per row of `scores`. A label outside [0, classes) is kInvalidInput.
    Status add(const ScoreRows& scores, const int64_t* labels);
    int64_t samples() const { return samples_; }
    double top1() const { return samples_ ? static_cast<double>(top1_hits_) / samples_ : 0.0; }
    double top5() const { return samples_ ? static_cast<double>(top5_hits_) / samples_ : 0.0; }

  private:
    int64_t samples_ = 0, top1_hits_ = 0, top5_hits_ = 0;
};

/// Fraction of samples whose best class is the same in two models.
class AgreementCounter {
  public:
    /// Both must have the same rows and classes.
    Status add(const ScoreRows& reference, const ScoreRows& test);
    int64_t samples() const { return samples_; }
    double agreement() const { return samples_ ? static_cast<double>(agreed_) / samples_ : 0.0; }

  private:
    int64_t samples_ = 0, agreed_ = 0;
};

/// Error of a tensor against a reference tensor, over every element seen:
/// SQNR = 10 log10(sum ref^2 / sum (test - ref)^2), cosine = <ref, test> / (|ref| |test|), max |test - ref|.
class ErrorStats {
  public:
    /// Same shape required; any numeric dtype (compared as double).
    Status add(const Tensor& reference, const Tensor& test);
    int64_t elements() const { return elements_; }
    /// Empty when undefined: the tensors are identical (no noise) or the reference is all zeros.
    std::optional<double> sqnr_db() const;
    /// 1 when both are all zeros, 0 when only one is.
    double cosine() const;
    double max_abs_error() const { return max_abs_; }
    double mean_abs_error() const { return elements_ ? sum_abs_ / elements_ : 0.0; }

  private:
    template <typename T>
    void accumulate(const T* reference, const T* test, int64_t count);

    int64_t elements_ = 0;
    double signal_ = 0, noise_ = 0, dot_ = 0, test_energy_ = 0, max_abs_ = 0, sum_abs_ = 0;
};

/// Mean over samples of KL(softmax(reference) || softmax(test)), in nats, for logits rows.
class KlDivergence {
  public:
    Status add(const ScoreRows& reference, const ScoreRows& test);
    int64_t samples() const { return samples_; }
    double mean() const { return samples_ ? sum_ / samples_ : 0.0; }

  private:
    int64_t samples_ = 0;
    double sum_ = 0;
};

/// Timed runs summarized, in milliseconds. Percentiles use the nearest-rank method on the sorted times.
struct LatencySummary {
    int64_t runs = 0;
    double mean_ms = 0, p50_ms = 0, p90_ms = 0, min_ms = 0, max_ms = 0;
};

LatencySummary summarize_latency(std::vector<double> milliseconds);

}  // namespace pare
