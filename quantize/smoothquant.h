// SmoothQuant (Xiao et al. 2022): activations with outlier channels are hard to quantize per tensor, weights are
// easy. Per input channel j of a MatMul/Gemm, s_j = max|X_j|^alpha / max|W_j|^(1 - alpha); X is divided by s and
// row j of the weight multiplied by s_j, which moves the difficulty from the activation to the weight and leaves
// the float function unchanged. A graph transform of the float model, from calibrated per-channel maxima.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "graph/graph.h"

namespace pare {

/// Per-channel max |x| along the last axis of an activation, by activation name.
using ChannelMaxima = std::map<std::string, std::vector<double>>;

/// Activations SmoothQuant can smooth: input A of a MatMul with a float32 2-D initializer weight, or of a Gemm with
/// transA = 0 and a float32 initializer B, that layer being the weight's only reader. Their per-channel maxima
/// along the last axis are what smooth_quant needs.
std::set<std::string> smoothable_activations(const Graph& graph);

struct SmoothQuantResult {
    int activations = 0;  // activations smoothed
    int layers = 0;       // MatMul/Gemm whose weight rows were scaled
    int folded = 0;       // activations whose 1/s went into the producer (LayerNormalization, MatMul/Gemm, Add)
    int inserted = 0;     // activations that got a Mul by 1/s
};

/// Smooths every smoothable activation that has maxima in `maxima` (one per channel of the last axis) with strength
/// `alpha` in [0, 1]. The 1/s goes into the producer when it is a LayerNormalization over the last axis, a
/// MatMul/Gemm with a private constant weight (and bias), or an Add of a private constant to such a product (also
/// through a Relu, which commutes with a positive scale), and
/// every reader of the activation is smoothed; otherwise a Mul by 1/s is inserted for the smoothed readers.
SmoothQuantResult smooth_quant(Graph& graph, double alpha, const ChannelMaxima& maxima);

}  // namespace pare
