// Timing a model on one batch, as `pare bench` does, and two models side by side, as `pare quantize` reports them.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "report/model_runner.h"

namespace pare {

/// Milliseconds of each of `repeat` runs of `inputs`, after `warmup` untimed runs; `after_run` (if set) is called
/// after every run (progress bars).
Result<std::vector<double>> time_runs(Session& session, const std::vector<Tensor>& inputs, int64_t warmup,
                                      int64_t repeat, const std::function<void()>& after_run = {});

/// Latency of two models on the same batch, without observers, their runs alternating so that whatever else the
/// machine does slows both alike. Returns the report's latency section: `after`'s summary, `before`'s under
/// "reference", and the medians as before_ms / after_ms.
Result<nlohmann::ordered_json> compare_latency(ModelRunner& before, ModelRunner& after,
                                               const std::vector<Tensor>& inputs, int64_t warmup, int64_t repeat);

}  // namespace pare
