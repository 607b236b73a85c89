// Sliding-window geometry (Conv, ConvTranspose, pooling) in oneDNN's terms: the shared ONNX geometry
// (ops/conv_geometry.h) with 0-based dilations and the end padding oneDNN's output-size formula needs.
#pragma once

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
    dnnl::memory::dims padding_r;  // Conv and pools: may exceed ONNX's end padding (ceil_mode); ConvTranspose: may be
                                   // negative (output_padding)
    Shape output;                  // spatial dims of the output
    bool padding_r_extended = false;  // ceil_mode added end padding that ONNX does not count as padding
};

/// Geometry of Conv or a pool over `input_spatial` with a kernel of `kernel_spatial`.
Result<DnnlWindow> dnnl_forward_window(const Node& node, const Shape& input_spatial, const Shape& kernel_spatial);

/// Geometry of ConvTranspose.
Result<DnnlWindow> dnnl_transpose_window(const Node& node, const Shape& input_spatial, const Shape& kernel_spatial);

}  // namespace pare
