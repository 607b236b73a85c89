// Ways to turn a tensor's statistics into a quantization range. All four work from the same single pass
// (min/max and the histogram), so the method can be changed without running the data again.
#pragma once

#include <string>

#include "calibration/tensor_stats.h"
#include "core/status.h"

namespace pare {

enum class RangeMethod { kMinMax, kPercentile, kEntropy, kMse };

/// "minmax", "percentile", "entropy", "mse".
std::string range_method_name(RangeMethod method);
Result<RangeMethod> parse_range_method(const std::string& name);

struct Range {
    double lo = 0.0;
    double hi = 0.0;
};

/// A method's answer in both forms: symmetric [-t, t] and asymmetric [lo, hi].
struct MethodRange {
    Range symmetric;
    Range asymmetric;
};

struct RangeOptions {
    double percentile = 99.999;  // for kPercentile, in percent
    int bits = 8;                // target bit width for kEntropy and kMse
};

MethodRange compute_range(const MinMax& range, const Histogram& histogram, RangeMethod method,
                          const RangeOptions& options);

}  // namespace pare
