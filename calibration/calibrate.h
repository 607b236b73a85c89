// One pass of calibration data through the engine, collecting TensorStats of every float activation through
// session observers. Memory is fixed per tensor and per batch: it does not grow with the number of samples.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "calibration/calibration_table.h"
#include "data/dataset.h"
#include "exec/session.h"

namespace pare {

struct CalibrateConfig {
    int64_t batch = 64;
    bool per_channel = false;  // also min/max per channel (axis 1)
    /// Tensors whose per-channel min/max is kept along their last axis instead (SmoothQuant's activation maxima,
    /// one entry per channel whatever the number of samples).
    std::set<std::string> last_axis_channels;
};

/// The values calibration observes: graph inputs and every node output of the main graph, in graph order.
/// Non-float values among them are skipped when they are seen.
std::vector<std::string> activation_names(const Graph& graph);

/// Values that hold exactly the values of another (outputs of Reshape, Transpose, Squeeze... ), mapped to the
/// value first computed: they share its statistics, which are collected once.
std::map<std::string, std::string> value_copies(const Graph& graph);

/// Runs every sample of `dataset` (in its order) through `model` and returns the statistics. The table's model
/// and dataset fields are left for the caller.
Result<CalibrationTable> calibrate(const Model& model, Dataset& dataset, const SessionOptions& options,
                                   const CalibrateConfig& config);

}  // namespace pare
