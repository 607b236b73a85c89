// Rewrites a float graph into the portable QDQ form: QuantizeLinear -> DequantizeLinear pairs on activations,
// integer weights behind DequantizeLinear, int32 biases with scale = input scale x weight scale. The layout follows
// the rules ONNX Runtime's and TensorRT's QDQ fusions expect, so those runtimes (and pare's engine) run the
// quantized layers as integer kernels.
#pragma once

#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "calibration/layer_hessian.h"
#include "calibration/range_methods.h"
#include "graph/graph.h"
#include "quantize/quant_params.h"
#include "report/metrics.h"

namespace pare {

struct QdqSpec {
    DType activation_dtype = DType::kU8;
    bool activation_symmetric = false;
    DType weight_dtype = DType::kI8;
    bool weight_per_channel = true;
    std::set<std::string> excluded_nodes;  // node names left in float
    /// Domain of the QuantizeLinear/DequantizeLinear nodes: "" (ai.onnx), or "com.microsoft" for 16-bit
    /// activations in models below opset 21, which ONNX Runtime's contrib ops cover.
    std::string qdq_domain;
    /// Per-layer activation dtype (node name -> dtype), for models that mix precisions: the layer's activation
    /// inputs and the tensor carrying its output get this dtype instead of activation_dtype (a tensor shared by
    /// layers of different widths takes the widest). 16-bit activations below opset 21 use com.microsoft
    /// QuantizeLinear/DequantizeLinear; the other Q/DQ nodes keep qdq_domain.
    std::map<std::string, DType> activation_overrides;
    /// GPTQ rounding of the weights (quantize/gptq.h) of the layers found here, keyed by the node's first output;
    /// the others, and every layer when null, round to nearest. Scales come from the float weight either way.
    const LayerHessians* hessians = nullptr;
};

/// Range of an activation tensor, from calibration. Returns false when the tensor has no statistics.
using RangeLookup = std::function<bool(const std::string& tensor, Range& range)>;

/// What was done to one compute layer.
struct QuantizedLayer {
    std::string node;
    std::string op_type;
    std::string weight;  // the float weight's name ("" for activation x activation MatMul)
    int64_t weight_elements = 0;
    std::vector<QuantParams> weight_params;
    ErrorStats weight_error;  // the float weight against its dequantized integers (computed offline)
    std::string input;        // quantized activation input
    QuantParams input_params;
    std::string node_output;  // the layer's own output tensor in the float model
    std::string output;       // quantized output tensor ("" when the output stays float)
    QuantParams output_params;
    std::string absorbed_activation;  // "Relu" when a following Relu/Clip was folded into the output quantizer
    bool gptq = false;                // weight rounded by GPTQ; then the proxies trace((W - Wq) H (W - Wq)^T):
    double rtn_output_error = 0.0;    // of rounding to nearest
    double gptq_output_error = 0.0;   // of the GPTQ rounding written
};

/// Quantizes every Conv, ConvTranspose, Gemm and MatMul of the main graph that is not excluded and whose
/// activations have ranges. `opset` is the model's ai.onnx opset (per-channel needs 13). Returns the layers
/// quantized, in graph order.
Result<std::vector<QuantizedLayer>> rewrite_to_qdq(Graph& graph, int64_t opset, const QdqSpec& spec,
                                                   const RangeLookup& ranges);

}  // namespace pare
