// Weight-only quantization below 8 bits: the weights of Conv, Gemm and MatMul layers are stored in 4-bit or
// logarithmic codes and decoded back to float by standard ONNX ops in front of the layer; activations stay float.
//
// int4: symmetric block-wise INT4 (levels -8..7, no zero point) behind one DequantizeLinear with `block_size`
//   (opset 21). Blocks run along the layer's reduction axis (MatMul/Gemm: K; Conv: input channels x kernel,
//   flattened, with a Reshape back to the kernel's shape); block size 0 is one scale per output channel.
// log:  sign + power-of-two exponent codes (quantize/log_quant.h) with one scale per output channel, decoded by
//   Cast(codes -> int32) -> Gather(codebook) -> Mul(scale). Codes of 4 bits or fewer are UINT4 (opset 21),
//   wider ones UINT8.
// The model's ai.onnx opset is raised to 21 when the encoding needs it and the model allows it
// (quantize/opset_upgrade.h). docs/formats.md describes both encodings.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "calibration/layer_hessian.h"
#include "graph/graph.h"

namespace pare {

enum class WeightOnlyScheme { kInt4, kLog };

struct WeightOnlySpec {
    WeightOnlyScheme scheme = WeightOnlyScheme::kInt4;
    int64_t block_size = 32;               // int4: elements per block along the reduction axis; 0 per output channel
    int bits = 4;                          // log: bits per code, kLogMinBits .. kLogMaxBits
    std::set<std::string> excluded_nodes;  // node names left in float
    /// GPTQ rounding (quantize/gptq.h) for the layers found here, keyed by the node's first output; the others,
    /// and every layer when null, round to nearest. Scales are chosen from the float weight either way.
    const LayerHessians* hessians = nullptr;
};

/// What was done to one layer's weight.
struct WeightOnlyLayer {
    std::string node;
    std::string op_type;
    std::string output;  // the layer's first output (its name is unchanged by the rewrite)
    std::string weight;
    int64_t weight_elements = 0;
    int64_t bytes_before = 0;     // the float weight
    int64_t bytes_after = 0;      // codes, scales and (log) the codebook and shapes
    double weight_sqnr_db = 0.0;  // decoded weight against the float one (infinity when exact)
    bool gptq = false;            // rounded by GPTQ; then the output-error proxies trace((W - Wq) H (W - Wq)^T):
    double rtn_output_error = 0.0;   // of rounding to nearest
    double gptq_output_error = 0.0;  // of the GPTQ rounding written
};

/// Rewrites every Conv, Gemm and MatMul of the main graph whose weight (input 1) is a constant float32/float16/
/// bfloat16 tensor, that is not excluded and whose weight has the layout the scheme needs (MatMul: rank 2).
/// Returns the layers rewritten in graph order (empty when none qualifies: the model is then unchanged);
/// unsupported() when the model's opset cannot be raised to what the encoding needs.
Result<std::vector<WeightOnlyLayer>> rewrite_weight_only(Model& model, const WeightOnlySpec& spec);

}  // namespace pare
