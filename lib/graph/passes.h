// Graph passes run when a session compiles: rewrites that keep results equal (up to float rounding) and make them
// faster. Values in `keep` (graph outputs, observed values) are never removed or fused away.
#pragma once

#include <map>
#include <set>
#include <string>

#include "graph/graph.h"

namespace pare {

/// Kept values whose consumer (a statistics observer) does not care about element order: they may stay in the
/// channels-last form only, instead of being transposed back for it.
struct LayoutFreeValues {
    std::set<std::string> names;                    // a subset of the kept values
    std::map<std::string, std::string> nhwc_names;  // filled in: those left NHWC only -> their NHWC value's name
};

/// Runs every pass in order.
void optimize_graph(Graph& graph, const std::set<std::string>& keep, bool keep_all,
                    LayoutFreeValues* layout_free = nullptr);

/// Removes Identity and inference-mode Dropout nodes, reading their input directly. Returns nodes removed.
int remove_identities(Graph& graph, const std::set<std::string>& keep);

/// Removes nodes none of whose outputs reach a graph output, then initializers nothing reads (those listed as graph
/// inputs leave the input list too). Returns nodes removed.
int remove_dead_nodes(Graph& graph);
/// Rewrites the Erf spelling of GELU (x / sqrt(2) -> Erf -> + 1 -> * x -> * 0.5) into a Gelu node. Returns rewrites.
int fuse_gelu(Graph& graph, const std::set<std::string>& keep);

/// Folds inference BatchNormalization into the preceding Conv or Gemm (constant parameters). Returns folds.
int fold_batch_norm(Graph& graph, const std::set<std::string>& keep);

/// Moves per-tensor QuantizeLinear nodes above the MaxPool / Flatten / Reshape / Transpose / Squeeze / Unsqueeze they
/// follow (exact: those ops commute with monotonic quantization). Returns moves.
int hoist_quantize(Graph& graph, const std::set<std::string>& keep);

/// Rewrites QDQ-quantized Conv, Gemm and MatMul (DequantizeLinear inputs, QuantizeLinear output, optional bias and
/// Relu/Clip) into QLinearConv / QLinearMatMul or their private extensions. With `private_ops` false only what
/// standard ONNX expresses is rewritten (no activation; no bias on a product), for models written to files.
/// Returns rewrites.
int fuse_qdq(Graph& graph, const std::set<std::string>& keep, bool private_ops = true);

/// Runs MaxPool and data movement (Flatten, Reshape, Transpose, Squeeze, Unsqueeze, Concat) on quantized tensors
/// when DequantizeLinear and QuantizeLinear with equal per-tensor parameters surround them. Returns rewrites.
int run_quantized_data_ops(Graph& graph, const std::set<std::string>& keep);

/// Merges bias and residual Adds and a following activation into Conv, Gemm and MatMul, which become pare's private
/// ops (graph/fused_ops.h). Returns nodes merged.
int fuse_activation(Graph& graph, const std::set<std::string>& keep);

/// Switches regions of 2-D convolutions, pools and the element-wise ops between them to channels-last data, with
/// Transposes at the borders. Returns nodes converted.
int convert_to_channels_last(Graph& graph, const std::set<std::string>& keep, LayoutFreeValues* layout_free = nullptr);

/// The rewrites every compression command applies to the float model before it calibrates or rewrites it, so
/// that their tensor names agree: Identity/Dropout removal, BatchNormalization folded into Conv/Gemm (the folded
/// layer takes the normalization's output name), dead nodes removed. Only standard ONNX ops result.
int simplify_for_compression(Graph& graph);

}  // namespace pare
