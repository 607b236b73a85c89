// Element-wise maps whose output's extremes follow from their input's: calibration takes a row's extremes of such a
// value from its input's instead of scanning it again (TensorStats::add_mapped).
#pragma once

#include <map>
#include <optional>
#include <string>

#include "calibration/tensor_stats.h"
#include "graph/graph.h"

namespace pare {

/// y = f(x) element by element, for an f that float arithmetic keeps monotone: min(max(x, lo), hi) (Relu, Clip), and
/// x + c, x * c, x / c and c - x for a constant c (IEEE rounding is monotone; a negative factor or divisor, and
/// c - x, swap the ends).
struct MonotoneMap {
    enum class Kind { kClamp, kAdd, kMul, kDiv, kSubtractFrom };
    std::string input;  // x
    Kind kind = Kind::kClamp;
    float a = 0.0f, b = 0.0f;  // kClamp: lo and hi; the others: c in a

    /// The extremes of y over a row whose extremes of x are `row`, computed in float as the kernels compute y;
    /// nullopt when one is not finite (an overflow, which only a scan can place).
    std::optional<MinMax> apply(const MinMax& row) const;
};

/// The float values of `graph` computed by a MonotoneMap from another value: the outputs of Relu, of Clip with
/// constant bounds, and of Add, Sub, Mul and Div with a float32 scalar constant (Div only as x / c, c non-zero;
/// Mul by a non-zero c).
std::map<std::string, MonotoneMap> monotone_values(const Graph& graph);

}  // namespace pare
