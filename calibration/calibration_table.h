// The calibration table: everything one calibration pass learned, saved as JSON (docs/formats.md) so that
// `pare quantize --table` can quantize without the data, with any range method and bit width.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "calibration/range_methods.h"
#include "calibration/tensor_stats.h"

namespace pare {

/// A tensor whose two halves of the data disagree on the range by more than this fraction has not settled.
constexpr double kUnsettledFraction = 0.05;

struct CalibrationTable {
    std::string model_path;
    std::string model_sha256;
    std::string dataset_description;
    std::string dataset_sha256;
    int64_t samples = 0;
    nlohmann::ordered_json config;  // the settings used (batch, seed, percentile, per_channel...)
    std::map<std::string, TensorStats> tensors;

    /// Range for one tensor by a method; kInvalidInput if the table has no such tensor.
    Result<MethodRange> range(const std::string& tensor, RangeMethod method, const RangeOptions& options) const;

    /// Constant tensors (min == max), and tensors whose halves disagree by more than kUnsettledFraction.
    std::vector<std::string> constant_tensors() const;
    std::vector<std::string> unsettled_tensors() const;
    /// Twice the largest settle point over all tensors, at least 64 and at most the samples seen (or more when
    /// the range was still moving at the end).
    int64_t recommended_samples() const;

    nlohmann::ordered_json to_json(const RangeOptions& options) const;
    static Result<CalibrationTable> from_json(const nlohmann::json& json);
};

/// Writes the table (atomically); reads it back checking the schema.
Status save_calibration_table(const CalibrationTable& table, const RangeOptions& options, const std::string& path);
Result<CalibrationTable> load_calibration_table(const std::string& path);

}  // namespace pare
