// The input Hessians GPTQ needs: for a Conv, Gemm or MatMul with a constant weight, H = 2/n sum x x^T over the n
// vectors its weight is multiplied with (MatMul/Gemm: the rows of the input, every leading dim flattened; Conv: the
// im2col patch of every output position, one Hessian per group). Collected in one streamed pass of calibration data
// through the engine's observers: only the [K, K] sums (float64, in sample order) are kept, so memory does not grow
// with the data and the result is the same on every run.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "exec/session.h"
#include "graph/graph.h"

namespace pare {

/// The Hessian of one layer's input, per group (Conv groups; 1 otherwise).
struct LayerHessian {
    int64_t cols = 0;                       // reduction length of one group: K, or C/group x kernel elements
    int64_t vectors = 0;                    // input vectors accumulated (n)
    std::vector<std::vector<double>> sums;  // per group: sum x x^T, cols x cols row-major

    /// 2/n sum x x^T of group g (zero when nothing was accumulated).
    std::vector<double> hessian(size_t group) const;
};

/// Hessians of several layers, keyed by each node's first output.
using LayerHessians = std::map<std::string, LayerHessian>;

/// True for the layers this file collects a Hessian for: Conv (weight rank >= 3), Gemm and MatMul (weight rank 2).
bool has_layer_hessian(const Node& node, const Shape& weight_shape);

/// Adds the vectors of one batch of `input` (the value read by `node`, whose weight has `weight_shape`) to `into`.
/// invalid_input() naming the node when the shapes do not fit.
Status accumulate_layer_hessian(const Node& node, const Shape& weight_shape, const Tensor& input, LayerHessian& into);

/// A layer to collect for: the node's first output and the shape of its weight (input 1).
struct HessianLayer {
    std::string output;
    Shape weight_shape;
};

/// Runs `dataset` through `model` in batches of `batch` and returns the Hessian of each of `layers` (keyed by the
/// node's first output), as accumulate_layer_hessian() builds it.
Result<LayerHessians> collect_layer_hessians(const Model& model, const std::vector<HessianLayer>& layers,
                                             Dataset& dataset, const SessionOptions& options, int64_t batch);

}  // namespace pare
