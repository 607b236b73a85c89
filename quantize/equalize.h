// Cross-layer equalization (Nagel et al. 2019, "Data-Free Quantization Through Weight Equalization and Bias
// Correction"): for two consecutive convolutions, output channel i of the first is divided by s_i and the matching
// input channel of the second multiplied by s_i, with s_i = sqrt(r1_i / r2_i) (r = max |w| of the channel), so that
// both weights' per-channel ranges become sqrt(r1_i r2_i). The float function is unchanged because what lies between
// them is positively homogeneous (Relu, nothing). A pure graph transform of the float model, before calibration.
#pragma once

#include "graph/graph.h"

namespace pare {

struct EqualizeResult {
    int pairs = 0;         // conv pairs equalized
    int bounded = 0;       // of them, pairs whose Relu6-style Clip became Relu -> Min(per-channel bound)
    int iterations = 0;    // sweeps over all pairs until the scales settled (or the cap)
    double deviation = 0;  // largest |s_i - 1| of the last sweep: how far from converged the cap left it
};

/// Equalizes every pair Conv -> (Relu | Clip(min 0) | nothing) -> Conv of the main graph, depthwise and grouped
/// convolutions included, sweeping over the pairs until every scale is within `tolerance` of 1 or `max_iterations`
/// sweeps. A pair is skipped when a weight or bias is not a float32 initializer read by that conv alone, when a
/// value between the two convs has another reader or is a graph output, or when the channel counts disagree.
/// A Clip with a finite upper bound (Relu6) is not positively homogeneous: it is rewritten as Relu followed by Min
/// with a per-channel bound, which scales with the channel and keeps the function exact.
EqualizeResult equalize_cross_layer(Graph& graph, int max_iterations = 100, double tolerance = 1e-4);

}  // namespace pare
