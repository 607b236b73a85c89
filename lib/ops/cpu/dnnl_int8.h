// What QLinearConv and QLinearMatMul share on oneDNN: constant quantization parameters turned into oneDNN's terms.
// oneDNN computes dst = saturate(round(post_ops(scale[c] * (acc + bias[c]))) + dst_zero_point), with acc summed over
// (src - src_zero_point) * weights and weights s8 without a zero point, so:
//   - the weights become w - w_zero_point in s8 (refused if that leaves the s8 range);
//   - scale[c] = x_scale * w_scale[c] / y_scale, the multiplier of the reference kernels, in float;
//   - the int32 bias is already in accumulator units; Relu and Clip apply in units of y_scale.
// The reference rounds acc * multiplier in double, oneDNN in float, so results agree to within one unit of y.
#pragma once

#include <vector>

#include "graph/fused_ops.h"
#include "ops/cpu/dnnl_util.h"
#include "ops/kernel.h"

namespace pare {

struct DnnlInt8Params {
    int32_t x_zero = 0;
    int32_t y_zero = 0;
    float y_scale = 1.0f;
    DType y_type = DType::kU8;
    std::vector<float> scales;  // one, or one per output channel
    Tensor weights;             // s8, the weights' shape
};

/// Reads inputs 1, 2 (x), 3, 4, 5 (w), 6, 7 (y) of QLinearConv / QLinearMatMul, all constant. The weights' output
/// channel is axis `channel_axis` of w, whose dims are viewed as [outer, channels, inner].
Result<DnnlInt8Params> read_int8_params(const Node& node, const std::vector<InputInfo>& inputs, int channel_axis);

/// Output scales, zero points (bound at run time through `step`) and the activation as post-ops. `channel_mask` is
/// the oneDNN mask of the output channel axis of dst.
Status set_int8_attr(const DnnlInt8Params& params, const Activation& activation, int channel_mask,
                     dnnl::primitive_attr& attr);
/// Binds the zero points declared by set_int8_attr.
void bind_int8_zero_points(const DnnlInt8Params& params, DnnlStep& step);

}  // namespace pare
