#include "quantize/gptq.h"

#include <Eigen/Cholesky>
#include <Eigen/Core>
#include <algorithm>
#include <numeric>
#include <string>

namespace pare {

namespace {

using Matrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::ColMajor>;
using RowMatrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// The upper Cholesky factor U of H^-1 (H^-1 = U^T U) after damping H. Its row i holds how the error of column i
// spreads over the later columns. Damping grows tenfold on failure (twice), as a nearly singular H needs.
Result<Matrix> inverse_cholesky_upper(Matrix h, double damping) {
    const int64_t n = h.rows();
    const double mean_diagonal = h.diagonal().mean();
    double damp = damping * (mean_diagonal > 0 ? mean_diagonal : 1.0);
    for (int attempt = 0; attempt < 3; ++attempt, damp *= 10) {
        Matrix damped = h;
        damped.diagonal().array() += damp;
        Eigen::LLT<Matrix> factor(damped);
        if (factor.info() != Eigen::Success) continue;
        const Matrix inverse = factor.solve(Matrix::Identity(n, n));
        Eigen::LLT<Matrix> inverse_factor((inverse + inverse.transpose()) * 0.5);
        if (inverse_factor.info() != Eigen::Success) continue;
        return Matrix(inverse_factor.matrixU());
    }
    return invalid_input("GPTQ: the Hessian of " + std::to_string(n) + " columns stays indefinite after damping");
}

}  // namespace

WeightMatrix round_to_nearest(const WeightMatrix& weight, const ColumnRounding& round) {
    WeightMatrix rounded = weight;
    std::vector<double> column(static_cast<size_t>(weight.rows)), out(column.size());
    for (int64_t c = 0; c < weight.cols; ++c) {
        for (int64_t r = 0; r < weight.rows; ++r) column[r] = weight.at(r, c);
        round(c, column.data(), out.data());
        for (int64_t r = 0; r < weight.rows; ++r) rounded.at(r, c) = out[r];
    }
    return rounded;
}

Result<WeightMatrix> gptq_round(const WeightMatrix& weight, const std::vector<double>& hessian,
                                const ColumnRounding& round, const GptqOptions& options) {
    const int64_t rows = weight.rows, cols = weight.cols;
    if (static_cast<int64_t>(weight.values.size()) != rows * cols ||
        static_cast<int64_t>(hessian.size()) != cols * cols) {
        return invalid_input("GPTQ: a weight of " + std::to_string(rows) + "x" + std::to_string(cols) +
                             " needs a Hessian of " + std::to_string(cols) + "x" + std::to_string(cols));
    }
    if (rows == 0 || cols == 0) return weight;
    Matrix h = Eigen::Map<const RowMatrix>(hessian.data(), cols, cols);
    // Dead inputs: a unit diagonal decouples them (their row of U is zero off the diagonal), so they round alone.
    for (int64_t c = 0; c < cols; ++c) {
        if (h(c, c) == 0.0) h(c, c) = 1.0;
    }
    // Visit order: decreasing H_ii with act-order (stable, so ties keep the original order and the run is
    // deterministic).
    std::vector<int64_t> order(static_cast<size_t>(cols));
    std::iota(order.begin(), order.end(), 0);
    if (options.act_order) {
        std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return h(a, a) > h(b, b); });
    }
    Matrix permuted_h(cols, cols);
    Matrix w(rows, cols);  // columns in visit order
    for (int64_t j = 0; j < cols; ++j) {
        for (int64_t i = 0; i < cols; ++i) permuted_h(i, j) = h(order[i], order[j]);
        for (int64_t r = 0; r < rows; ++r) w(r, j) = weight.at(r, order[j]);
    }
    PARE_ASSIGN_OR_RETURN(const Matrix u, inverse_cholesky_upper(std::move(permuted_h), options.damping));

    Matrix q(rows, cols);
    std::vector<double> column(static_cast<size_t>(rows)), rounded(column.size());
    const int64_t block = std::max<int64_t>(1, options.block);
    for (int64_t start = 0; start < cols; start += block) {
        const int64_t count = std::min(block, cols - start);
        Matrix errors(rows, count);
        for (int64_t i = 0; i < count; ++i) {
            const int64_t j = start + i;
            for (int64_t r = 0; r < rows; ++r) column[r] = w(r, j);
            round(order[j], column.data(), rounded.data());
            const double d = u(j, j);
            for (int64_t r = 0; r < rows; ++r) {
                q(r, j) = rounded[r];
                errors(r, i) = (column[r] - rounded[r]) / d;
            }
            // Within the block, right away: the next column must see this one's error.
            w.block(0, j + 1, rows, count - i - 1).noalias() -= errors.col(i) * u.block(j, j + 1, 1, count - i - 1);
        }
        // The columns after the block, in one product.
        const int64_t rest = cols - start - count;
        if (rest > 0) w.rightCols(rest).noalias() -= errors * u.block(start, start + count, count, rest);
    }
    WeightMatrix result = weight;
    for (int64_t j = 0; j < cols; ++j) {
        for (int64_t r = 0; r < rows; ++r) result.at(r, order[j]) = q(r, j);
    }
    return result;
}

double output_error(const WeightMatrix& weight, const WeightMatrix& rounded, const std::vector<double>& hessian) {
    const int64_t rows = weight.rows, cols = weight.cols;
    const Eigen::Map<const RowMatrix> h(hessian.data(), cols, cols);
    RowMatrix e = Eigen::Map<const RowMatrix>(weight.values.data(), rows, cols) -
                  Eigen::Map<const RowMatrix>(rounded.values.data(), rows, cols);
    return (e * h).cwiseProduct(e).sum();
}

}  // namespace pare
