// Metrics against values worked out by hand.
#include <doctest/doctest.h>

#include <cmath>

#include "report/metrics.h"

using namespace pare;

namespace {

ScoreRows rows_of(const std::vector<float>& values, Shape shape) {
    return score_rows(tensor_from_vector(values, std::move(shape)), "scores").value();
}

}  // namespace

TEST_CASE("top_k: best first, ties to the lower index, NaN never wins") {
    const double row[] = {0.1, 0.7, 0.7, NAN, 0.2};
    CHECK(top_k(row, 5, 3) == std::vector<int64_t>{1, 2, 4});
    CHECK(top_k(row, 5, 9).size() == 5);
    CHECK(top_k(row, 5, 9).back() == 3);
}

TEST_CASE("score_rows: dim 0 is the sample, the rest are classes, and non-float or rank-1 tensors are refused") {
    const ScoreRows rows = rows_of({1, 2, 3, 4, 5, 6, 7, 8}, {2, 2, 2});
    CHECK(rows.rows == 2);
    CHECK(rows.classes == 4);
    CHECK(score_rows(tensor_from_vector<float>({1, 2}, {2}), "y").status().code() == ErrorCode::kInvalidInput);
    CHECK(score_rows(tensor_from_vector<int64_t>({1, 2}, {1, 2}), "y").status().code() == ErrorCode::kInvalidInput);
}

TEST_CASE("accuracy: top-1 and top-5 counts") {
    // Six classes; sample 0 is right at top-1, sample 1 only within top-5, sample 2 ranks its label last.
    const ScoreRows scores = rows_of({9, 1, 2, 3, 4, 5,  //
                                      0, 1, 2, 3, 4, 5,  //
                                      6, 5, 4, 3, 2, 1},
                                     {3, 6});
    const int64_t labels[] = {0, 1, 5};
    AccuracyCounter accuracy;
    REQUIRE(accuracy.add(scores, labels).ok());
    CHECK(accuracy.samples() == 3);
    CHECK(accuracy.top1() == doctest::Approx(1.0 / 3));
    CHECK(accuracy.top5() == doctest::Approx(2.0 / 3));
    const int64_t bad[] = {0, 6, 1};
    CHECK(accuracy.add(scores, bad).code() == ErrorCode::kInvalidInput);
    CHECK(accuracy.samples() == 3);  // a rejected batch counts nothing
}

TEST_CASE("agreement: fraction of equal argmax") {
    AgreementCounter agreement;
    REQUIRE(agreement.add(rows_of({1, 0, 0, 1, 5, 4}, {3, 2}), rows_of({2, 1, 1, 0, 3, 4}, {3, 2})).ok());
    CHECK(agreement.agreement() == doctest::Approx(1.0 / 3));
    CHECK(agreement.add(rows_of({1, 0}, {1, 2}), rows_of({1, 0, 0}, {1, 3})).code() == ErrorCode::kInvalidInput);
}

TEST_CASE("error stats: SQNR, cosine, max and mean abs error") {
    // ref (1, 2, 3), test (1, 2, 4): signal 14, noise 1, dot 17, |test|^2 21.
    ErrorStats stats;
    REQUIRE(stats.add(tensor_from_vector<float>({1, 2, 3}, {3}), tensor_from_vector<float>({1, 2, 4}, {3})).ok());
    CHECK(*stats.sqnr_db() == doctest::Approx(10 * std::log10(14.0)));
    CHECK(stats.cosine() == doctest::Approx(17 / std::sqrt(14.0 * 21.0)));
    CHECK(stats.max_abs_error() == 1.0);
    CHECK(stats.mean_abs_error() == doctest::Approx(1.0 / 3));
    // A second batch accumulates: ref (0, -2), test (1, -2): signal 18, noise 2.
    REQUIRE(stats.add(tensor_from_vector<double>({0, -2}, {2}), tensor_from_vector<double>({1, -2}, {2})).ok());
    CHECK(*stats.sqnr_db() == doctest::Approx(10 * std::log10(9.0)));
    CHECK(stats.elements() == 5);
    CHECK(stats.add(tensor_from_vector<float>({1}, {1}), tensor_from_vector<float>({1, 2}, {2})).code() ==
          ErrorCode::kInvalidInput);

    ErrorStats identical;
    REQUIRE(identical.add(tensor_from_vector<float>({1, -1}, {2}), tensor_from_vector<float>({1, -1}, {2})).ok());
    CHECK(!identical.sqnr_db().has_value());
    CHECK(identical.cosine() == doctest::Approx(1.0));
    CHECK(identical.max_abs_error() == 0.0);

    // |v|^2 summed in another order than <v, v>: the cosine stays within [-1, 1].
    ErrorStats rounding;
    const Tensor v = tensor_from_vector<float>({0.1f, 0.7f, 1e-3f, 3.3f, -2.9f, 0.33f}, {6});
    REQUIRE(rounding.add(v, v).ok());
    CHECK(rounding.cosine() <= 1.0);

    ErrorStats nan;
    REQUIRE(nan.add(tensor_from_vector<float>({1, 2, 3}, {3}), tensor_from_vector<float>({NAN, 2, 30}, {3})).ok());
    CHECK(std::isnan(nan.max_abs_error()));
}

TEST_CASE("KL divergence of softmax distributions") {
    // softmax(0, 0) = (1/2, 1/2); softmax(0, ln 3) = (1/4, 3/4): KL = 1/2 ln 2 + 1/2 ln(2/3) = 1/2 ln(4/3).
    KlDivergence kl;
    REQUIRE(kl.add(rows_of({0, 0}, {1, 2}), rows_of({0, static_cast<float>(std::log(3.0))}, {1, 2})).ok());
    CHECK(kl.mean() == doctest::Approx(0.5 * std::log(4.0 / 3.0)).epsilon(1e-6));
    // Identical logits (shifted: softmax is shift-invariant) add 0; the mean halves.
    REQUIRE(kl.add(rows_of({1, 2}, {1, 2}), rows_of({101, 102}, {1, 2})).ok());
    CHECK(kl.mean() == doctest::Approx(0.25 * std::log(4.0 / 3.0)).epsilon(1e-6));
}

TEST_CASE("latency summary: nearest-rank percentiles") {
    const LatencySummary s = summarize_latency({5, 1, 4, 2, 3, 6, 7, 8, 9, 10});
    CHECK(s.runs == 10);
    CHECK(s.mean_ms == doctest::Approx(5.5));
    CHECK(s.p50_ms == 5);
    CHECK(s.p90_ms == 9);
    CHECK(s.min_ms == 1);
    CHECK(s.max_ms == 10);
    CHECK(summarize_latency({}).runs == 0);
    CHECK(summarize_latency({3}).p90_ms == 3);
}
