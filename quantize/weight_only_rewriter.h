// Weight-only quantization below 8 bits: the weights of Conv, Gemm and MatMul layers are stored as int4, or as codes
// into small tables (log, codebook, binary, ternary), and decoded back to float by standard ONNX ops in front of the
// layer; activations stay float.
//
// int4: symmetric block-wise INT4 (levels -8..7, no zero point) behind one DequantizeLinear with `block_size`
//   (opset 21). Blocks run along the layer's reduction axis (MatMul/Gemm: K; Conv: input channels x kernel,
//   flattened, with a Reshape back to the kernel's shape); block size 0 is one scale per output channel.
//   With `matmulnbits` and a power-of-two block size >= 16, a MatMul with a rank-2 weight, or a Gemm without transA,
//   with alpha 1 and a constant bias (or none), becomes ONNX Runtime's com.microsoft MatMulNBits instead
//   (quantize/matmul_nbits.h); other layers keep the DequantizeLinear form.
// log, codebook, binary, ternary: codes + table (quantize/coded_weight.h), decoded by Cast(codes -> int32) ->
//   Gather(shared table) -> Mul(per-channel scale), or by Cast -> GatherElements(per-channel tables) [-> Reshape].
//   Codes of 4 bits or fewer are UINT4 (opset 21), wider ones UINT8.
// int8 (the rung above every scheme, for the accuracy budget): symmetric int8 per output channel (levels -127..127,
//   no zero point) behind one DequantizeLinear with `axis` (opset 13).
// The model's ai.onnx opset is raised to 21 (13 for int8 layers alone) when the encoding needs it and the model
// allows it (quantize/opset_upgrade.h). docs/formats.md describes the encodings.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "calibration/layer_hessian.h"
#include "graph/graph.h"
#include "quantize/coded_weight.h"

namespace pare {

enum class WeightOnlyScheme { kInt4, kLog, kCodebook, kBinary, kTernary };

/// The precision of one layer: the scheme as asked, 8-bit weights, or float (left as it is).
/// The 8-bit rung is one form for every scheme, int8 per output channel behind a standard DequantizeLinear, rather
/// than each scheme at 8 bits: binary and ternary have no 8-bit form, log at 8 bits keeps the coarse relative grid
/// of powers of two near each channel's largest weights, and codebook at 8 bits costs a 256-centroid k-means per
/// layer; int8 DequantizeLinear loads in any ONNX runtime from opset 13 and GPTQ rounds onto its grid as onto int4's.
enum class WeightOnlyRung { kScheme, kInt8, kFloat };

struct WeightOnlySpec {
    WeightOnlyScheme scheme = WeightOnlyScheme::kInt4;
    int64_t block_size = 32;   // int4: elements per block along the reduction axis; 0 per output channel
    bool matmulnbits = false;  // int4: MatMul/Gemm layers as com.microsoft MatMulNBits where it can express them
    int bits = 4;              // log: bits per code, kLogMinBits .. kLogMaxBits; codebook: 2 .. 8
    CodebookTables codebook = CodebookTables::kScaled;  // codebook: its tables (quantize/coded_weight.h)
    std::set<std::string> excluded_nodes;               // node names left in float
    /// Layers at another precision than the scheme's, by node name (the accuracy budget's fallbacks); kFloat is
    /// the same as excluding the node. A weight shared by layers is encoded once, at the first one's precision.
    std::map<std::string, WeightOnlyRung> rungs;
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
    int64_t bytes_before = 0;        // the float weight
    int64_t bytes_after = 0;         // codes, scales, tables and shapes
    bool matmulnbits = false;        // written as com.microsoft MatMulNBits
    bool int8 = false;               // written as 8-bit weights (WeightOnlyRung::kInt8), not in the scheme
    double weight_sqnr_db = 0.0;     // decoded weight against the float one (infinity when exact)
    bool gptq = false;               // rounded by GPTQ; then the output-error proxies trace((W - Wq) H (W - Wq)^T):
    double rtn_output_error = 0.0;   // of rounding to nearest
    double gptq_output_error = 0.0;  // of the GPTQ rounding written
};

/// Rewrites every Conv, Gemm and MatMul of the main graph whose weight (input 1) is a constant float32/float16/
/// bfloat16 tensor, that is not excluded and whose weight has the layout the scheme needs (MatMul: rank 2).
/// Returns the layers rewritten in graph order (empty when none qualifies: the model is then unchanged);
/// unsupported() when the model's opset cannot be raised to what the encoding needs.
Result<std::vector<WeightOnlyLayer>> rewrite_weight_only(Model& model, const WeightOnlySpec& spec);

}  // namespace pare
