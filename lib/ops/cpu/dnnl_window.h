// Sliding-window geometry (Conv, ConvTranspose, pooling) in oneDNN's terms: 0-based dilations and begin/end padding,
// resolved from the ONNX attributes (kernel_shape, strides, dilations, pads, auto_pad, ceil_mode, output_padding,
// output_shape) for one input shape.
#pragma once

#include <cstdint>
#include <vector>

#include <dnnl.hpp>

#include "core/status.h"
#include "core/tensor.h"
#include "graph/node.h"

namespace pare {

struct DnnlWindow {
    dnnl::memory::dims kernel;
    dnnl::memory::dims strides;
    dnnl::memory::dims dilations;  // oneDNN counts extra gaps: ONNX dilation d is d - 1 here
    dnnl::memory::dims padding_l;
    dnnl::memory::dims padding_r;  // may exceed the ONNX end padding (ceil_mode) so the output size comes out right
    Shape output;                  // spatial dims of the output
    bool padding_r_extended = false;  // ceil_mode added padding that ONNX does not count as padding
};

/// Geometry of Conv or a pool over `input_spatial` with a kernel of `kernel_spatial`.
Result<DnnlWindow> dnnl_forward_window(const Node& node, const Shape& input_spatial, const Shape& kernel_spatial);

/// Geometry of ConvTranspose; the end padding may be negative (output_padding beyond it), which oneDNN's
/// deconvolution accepts. Unsupported: an output_shape beyond the taps' reach.
Result<DnnlWindow> dnnl_transpose_window(const Node& node, const Shape& input_spatial, const Shape& kernel_spatial);

}  // namespace pare
