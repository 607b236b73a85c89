// GPTQ (Frantar et al. 2022, "GPTQ: Accurate Post-Training Quantization for Generative Pre-trained Transformers"):
// rounds a layer's weight one column (input feature) at a time and spreads each column's rounding error over the
// columns not yet rounded, in the direction the layer's input Hessian H = 2/n sum x x^T says the output cares
// least about. The grid itself (scales, codes) is the caller's: a ColumnRounding rounds one column of values onto
// it, so int8 per channel, int4 per block and the power-of-two log grid all plug in. Scales must be fixed before
// the call (from the original weight): with act-order the columns are visited out of order, and a block's scale
// must not depend on which of its columns were already rounded ("static groups").
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "core/status.h"

namespace pare {

/// Rounds column `col` (its index in the caller's weight, whatever order GPTQ visits it in) of a weight with
/// `rows` rows: values[r] is the value to round for row r, rounded[r] receives the decoded grid value.
using ColumnRounding = std::function<void(int64_t col, const double* values, double* rounded)>;

struct GptqOptions {
    double damping = 0.01;  // fraction of the mean diagonal of H added to its diagonal
    bool act_order = true;  // visit columns by decreasing H_ii (the most active inputs first)
    int64_t block = 128;    // columns per lazy batch update
};

/// A weight of `rows` x `cols` values, row-major (row = output channel, col = reduction index).
struct WeightMatrix {
    int64_t rows = 0, cols = 0;
    std::vector<double> values;
    double& at(int64_t r, int64_t c) { return values[static_cast<size_t>(r * cols + c)]; }
    double at(int64_t r, int64_t c) const { return values[static_cast<size_t>(r * cols + c)]; }
};

/// The GPTQ rounding of `weight` with input Hessian `hessian` (cols x cols, row-major, symmetric positive
/// semi-definite). Columns whose H_ii is 0 (inputs never nonzero in the calibration data) are rounded to nearest:
/// unlike the paper they are not zeroed, since an input that was zero on the calibration data need not be zero
/// later. invalid_input() for mismatched sizes, or when H stays indefinite after raising the damping a hundredfold.
Result<WeightMatrix> gptq_round(const WeightMatrix& weight, const std::vector<double>& hessian,
                                const ColumnRounding& round, const GptqOptions& options = {});

/// Round-to-nearest of every column, for comparison.
WeightMatrix round_to_nearest(const WeightMatrix& weight, const ColumnRounding& round);

/// The output-error proxy trace((W - Wq) H (W - Wq)^T): the summed squared error of the layer's outputs on the
/// calibration inputs, times 2/n.
double output_error(const WeightMatrix& weight, const WeightMatrix& rounded, const std::vector<double>& hessian);

}  // namespace pare
