// GPTQ: against round-to-nearest and a brute-force optimum on small layers with correlated inputs, its determinism,
// and the input Hessians it is given (Conv im2col, MatMul and Gemm rows) against hand-built computations.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <random>

#include "calibration/layer_hessian.h"
#include "model_builder.h"
#include "quantize/gptq.h"
#include "quantize/gptq_weight.h"

using namespace pare;

namespace {

// n input vectors of k strongly correlated features: one shared factor plus a little noise each, as neighbouring
// pixels or channels are. Row-major [n, k].
std::vector<double> correlated_inputs(int64_t n, int64_t k, uint32_t seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<double> normal(0.0, 1.0);
    std::vector<double> x(static_cast<size_t>(n * k));
    for (int64_t v = 0; v < n; ++v) {
        const double shared = normal(rng);
        for (int64_t c = 0; c < k; ++c) x[v * k + c] = shared + 0.1 * normal(rng);
    }
    return x;
}

std::vector<double> hessian_of(const std::vector<double>& x, int64_t n, int64_t k) {
    std::vector<double> h(static_cast<size_t>(k * k), 0.0);
    for (int64_t v = 0; v < n; ++v) {
        for (int64_t i = 0; i < k; ++i) {
            for (int64_t j = 0; j < k; ++j) h[i * k + j] += 2.0 / n * x[v * k + i] * x[v * k + j];
        }
    }
    return h;
}

WeightMatrix random_weight(int64_t rows, int64_t cols, uint32_t seed) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<double> uniform(-1.0, 1.0);
    WeightMatrix w{rows, cols, std::vector<double>(static_cast<size_t>(rows * cols))};
    for (double& v : w.values) v = uniform(rng);
    return w;
}

// ||X W^T - X Wq^T||^2: the squared error of the layer's outputs on the inputs themselves.
double output_sq_error(const std::vector<double>& x, int64_t n, const WeightMatrix& w, const WeightMatrix& q) {
    double total = 0.0;
    for (int64_t v = 0; v < n; ++v) {
        for (int64_t r = 0; r < w.rows; ++r) {
            double d = 0.0;
            for (int64_t c = 0; c < w.cols; ++c) d += x[v * w.cols + c] * (w.at(r, c) - q.at(r, c));
            total += d * d;
        }
    }
    return total;
}

// Symmetric grid of `levels` = [lo, hi] with one scale per row (its largest magnitude over hi).
struct RowGrid {
    std::vector<double> scales;
    int64_t lo, hi;
    RowGrid(const WeightMatrix& w, int64_t lo_, int64_t hi_) : lo(lo_), hi(hi_) {
        for (int64_t r = 0; r < w.rows; ++r) {
            double largest = 0.0;
            for (int64_t c = 0; c < w.cols; ++c) largest = std::max(largest, std::fabs(w.at(r, c)));
            scales.push_back(largest / static_cast<double>(hi));
        }
    }
    double decode(int64_t r, double value) const {
        const double q =
            std::clamp(std::nearbyint(value / scales[r]), static_cast<double>(lo), static_cast<double>(hi));
        return q * scales[r];
    }
    ColumnRounding rounding() const {
        return [this](int64_t, const double* values, double* rounded) {
            for (size_t r = 0; r < scales.size(); ++r) rounded[r] = decode(static_cast<int64_t>(r), values[r]);
        };
    }
};

}  // namespace

TEST_CASE("GPTQ beats round-to-nearest on a layer with correlated inputs, and is deterministic") {
    const int64_t n = 256, k = 16, rows = 8;
    const std::vector<double> x = correlated_inputs(n, k, 7);
    const std::vector<double> h = hessian_of(x, n, k);
    const WeightMatrix w = random_weight(rows, k, 11);
    const RowGrid grid(w, -8, 7);  // 4 bits
    auto gptq = gptq_round(w, h, grid.rounding());
    REQUIRE(gptq.ok());
    const WeightMatrix rtn = round_to_nearest(w, grid.rounding());
    for (int64_t r = 0; r < rows; ++r) {  // every value lies on the grid
        for (int64_t c = 0; c < k; ++c) CHECK(grid.decode(r, gptq->at(r, c)) == gptq->at(r, c));
    }
    const double gptq_error = output_sq_error(x, n, w, *gptq), rtn_error = output_sq_error(x, n, w, rtn);
    CHECK(gptq_error < 0.5 * rtn_error);
    // The proxy is the same quantity, times 2/n.
    CHECK(output_error(w, *gptq, h) == doctest::Approx(2.0 / n * gptq_error).epsilon(1e-9));
    auto again = gptq_round(w, h, grid.rounding());
    REQUIRE(again.ok());
    CHECK(again->values == gptq->values);
}

TEST_CASE("GPTQ on a tiny layer: no worse than round-to-nearest and within 1.25x of the brute-force optimum") {
    // 5 columns on a 3-bit grid: all 8^5 codes of each row are enumerated for the least output error.
    const int64_t n = 64, k = 5, rows = 6;
    const std::vector<double> x = correlated_inputs(n, k, 3);
    const std::vector<double> h = hessian_of(x, n, k);
    const WeightMatrix w = random_weight(rows, k, 5);
    const RowGrid grid(w, -4, 3);
    auto gptq = gptq_round(w, h, grid.rounding());
    REQUIRE(gptq.ok());
    const WeightMatrix rtn = round_to_nearest(w, grid.rounding());
    double optimum = 0.0;
    for (int64_t r = 0; r < rows; ++r) {
        double best = std::numeric_limits<double>::infinity();
        std::vector<double> e(k);
        for (int64_t code = 0; code < (int64_t(1) << (3 * k)); ++code) {
            for (int64_t c = 0; c < k; ++c)
                e[c] = w.at(r, c) - grid.scales[r] * static_cast<double>(((code >> (3 * c)) & 7) - 4);
            double error = 0.0;
            for (int64_t i = 0; i < k; ++i) {
                for (int64_t j = 0; j < k; ++j) error += e[i] * h[i * k + j] * e[j];
            }
            best = std::min(best, error);
        }
        optimum += best;
    }
    const double gptq_error = output_error(w, *gptq, h), rtn_error = output_error(w, rtn, h);
    MESSAGE("optimum " << optimum << ", GPTQ " << gptq_error << ", RTN " << rtn_error);
    CHECK(gptq_error <= rtn_error);
    CHECK(gptq_error <= 1.25 * optimum);
    CHECK(gptq_error >= optimum * (1 - 1e-12));
}

TEST_CASE("GPTQ rounds the columns of dead inputs (H_ii = 0) to nearest and leaves the others' errors to them") {
    const int64_t n = 64, k = 4, rows = 3;
    std::vector<double> x = correlated_inputs(n, k, 9);
    for (int64_t v = 0; v < n; ++v) x[v * k + 2] = 0.0;  // input 2 is never nonzero
    const std::vector<double> h = hessian_of(x, n, k);
    const WeightMatrix w = random_weight(rows, k, 13);
    const RowGrid grid(w, -8, 7);
    auto gptq = gptq_round(w, h, grid.rounding());
    REQUIRE(gptq.ok());
    for (int64_t r = 0; r < rows; ++r) CHECK(gptq->at(r, 2) == grid.decode(r, w.at(r, 2)));
    CHECK(gptq_round(w, std::vector<double>(5, 0.0), grid.rounding()).status().code() == ErrorCode::kInvalidInput);
}

TEST_CASE("gptq_weight maps a [K, N] MatMul weight and a grouped Conv weight to per-group GPTQ runs") {
    // MatMul [K=16, N=8]: channels on axis 1.
    const int64_t n = 128, k = 16, channels = 8;
    const std::vector<double> x = correlated_inputs(n, k, 21);
    LayerHessian hessian;
    hessian.cols = k;
    hessian.vectors = n;
    hessian.sums.push_back(hessian_of(x, n, k));
    for (double& v : hessian.sums[0]) v *= n / 2.0;  // sums, not 2/n sums
    const WeightMatrix w = random_weight(channels, k, 17);
    std::vector<float> kn(static_cast<size_t>(k * channels));
    for (int64_t r = 0; r < channels; ++r) {
        for (int64_t c = 0; c < k; ++c) kn[c * channels + r] = static_cast<float>(w.at(r, c));
    }
    const Tensor weight = tensor_from_vector<float>(kn, {k, channels});
    const ElementRounding round = [](int64_t, double v) { return std::clamp(std::nearbyint(v * 4), -8.0, 7.0) / 4; };
    auto result = gptq_weight(weight, 1, hessian, round);
    REQUIRE(result.ok());
    CHECK(result->gptq_error < result->rtn_error);
    for (size_t i = 0; i < kn.size(); ++i) CHECK(round(0, result->values[i]) == result->values[i]);
    // The same weight seen as a Conv [O=8, C/group=8, 1, 1] with two groups needs two Hessians of 8 columns.
    CHECK(gptq_weight(weight.reshaped({channels, k, 1, 1}), 0, hessian, round).ok());
    LayerHessian grouped{8, n, {std::vector<double>(64, 0.0), std::vector<double>(64, 0.0)}};
    for (int64_t i = 0; i < 8; ++i) grouped.sums[0][i * 9] = grouped.sums[1][i * 9] = 1.0;
    const std::vector<float> conv_values(kn.begin(), kn.begin() + channels * 8);
    const Tensor conv = tensor_from_vector<float>(conv_values, {channels, 8, 1, 1});
    auto per_group = gptq_weight(conv, 0, grouped, round);
    REQUIRE(per_group.ok());
    // Identity Hessians: nothing to spread the error over, so GPTQ is round-to-nearest.
    REQUIRE(per_group->values.size() == conv_values.size());
    for (size_t i = 0; i < conv_values.size(); ++i) CHECK(per_group->values[i] == round(0, conv_values[i]));
    CHECK(gptq_weight(conv, 0, hessian, round).status().code() == ErrorCode::kInvalidInput);
}

TEST_CASE("The input Hessian of a grouped, strided, padded Conv is that of its im2col patches") {
    // x [2, 4, 5, 5], weight [4, 2, 3, 3] in 2 groups, stride 2, pads 1, dilation 1 -> output 3x3.
    const int64_t batch = 2, channels = 4, size = 5, groups = 2, cg = 2, out = 3;
    std::vector<float> values(static_cast<size_t>(batch * channels * size * size));
    for (size_t i = 0; i < values.size(); ++i) values[i] = static_cast<float>((i * 37 % 23) - 11) / 7.0f;
    const Tensor input = tensor_from_vector<float>(values, {batch, channels, size, size});
    pare::Node conv = pare_test::make_node("Conv", {"x", "w"}, {"y"});
    conv.set_attr_int("group", groups);
    conv.set_attr_ints("strides", {2, 2});
    conv.set_attr_ints("pads", {1, 1, 1, 1});
    LayerHessian hessian;
    REQUIRE(accumulate_layer_hessian(conv, {4, cg, 3, 3}, input, hessian).ok());
    REQUIRE(hessian.sums.size() == 2);
    CHECK(hessian.cols == cg * 9);
    CHECK(hessian.vectors == batch * out * out);
    for (int64_t g = 0; g < groups; ++g) {
        std::vector<double> expected(static_cast<size_t>(18 * 18), 0.0);
        for (int64_t n = 0; n < batch; ++n) {
            for (int64_t oh = 0; oh < out; ++oh) {
                for (int64_t ow = 0; ow < out; ++ow) {
                    std::vector<double> patch(18, 0.0);
                    for (int64_t c = 0; c < cg; ++c) {
                        for (int64_t kh = 0; kh < 3; ++kh) {
                            for (int64_t kw = 0; kw < 3; ++kw) {
                                const int64_t ih = oh * 2 - 1 + kh, iw = ow * 2 - 1 + kw;
                                if (ih < 0 || ih >= size || iw < 0 || iw >= size) continue;
                                patch[c * 9 + kh * 3 + kw] =
                                    values[((n * channels + g * cg + c) * size + ih) * size + iw];
                            }
                        }
                    }
                    for (int64_t i = 0; i < 18; ++i) {
                        for (int64_t j = 0; j < 18; ++j) expected[i * 18 + j] += patch[i] * patch[j];
                    }
                }
            }
        }
        for (size_t i = 0; i < expected.size(); ++i) CHECK(hessian.sums[g][i] == doctest::Approx(expected[i]));
    }
    const std::vector<double> h = hessian.hessian(1);
    CHECK(h[0] == doctest::Approx(2.0 / 18 * hessian.sums[1][0]));
    // A wrong channel count is refused, naming the node.
    LayerHessian other;
    CHECK(accumulate_layer_hessian(conv, {4, 3, 3, 3}, input, other).code() == ErrorCode::kInvalidInput);
}

TEST_CASE("The input Hessian of MatMul flattens leading dims, and Gemm with transA reads columns") {
    const Tensor x = tensor_from_vector<float>({1, 2, 3, 4, 5, 6}, {1, 2, 3});  // two rows of K = 3
    LayerHessian matmul;
    REQUIRE(accumulate_layer_hessian(pare_test::make_node("MatMul", {"x", "w"}, {"y"}), {3, 2}, x, matmul).ok());
    CHECK(matmul.vectors == 2);
    CHECK(matmul.sums[0] == std::vector<double>{17, 22, 27, 22, 29, 36, 27, 36, 45});
    pare::Node gemm = pare_test::make_node("Gemm", {"a", "w"}, {"y"});
    gemm.set_attr_int("transA", 1);
    gemm.set_attr_int("transB", 1);
    LayerHessian transposed;  // A [K=2, M=3]: vectors are its columns (1, 4), (2, 5), (3, 6)
    REQUIRE(accumulate_layer_hessian(gemm, {5, 2}, x.reshaped({2, 3}), transposed).ok());
    CHECK(transposed.vectors == 3);
    CHECK(transposed.sums[0] == std::vector<double>{14, 32, 32, 77});
    LayerHessian bad;
    CHECK(accumulate_layer_hessian(gemm, {5, 3}, x.reshaped({2, 3}), bad).code() == ErrorCode::kInvalidInput);
}
