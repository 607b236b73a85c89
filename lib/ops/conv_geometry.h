// Sliding-window geometry shared by Conv, ConvTranspose and the pooling ops, in every backend: the attributes that
// place a window (kernel_shape, strides, dilations, pads, auto_pad, ceil_mode, output_padding, output_shape) and the
// output size and padding they resolve to for a given input. One definition, so the reference and oneDNN kernels
// agree on ONNX's rules.
#pragma once

#include <cstdint>
#include <vector>

#include "core/status.h"
#include "core/tensor.h"
#include "graph/node.h"

namespace pare {

enum class AutoPad { kNotSet, kSameUpper, kSameLower, kValid };

/// A node's window attributes as written, before they meet an input shape. Empty vectors mean "not given".
struct WindowAttributes {
    std::vector<int64_t> kernel_shape;
    std::vector<int64_t> strides;
    std::vector<int64_t> dilations;
    std::vector<int64_t> pads;  // [x1_begin, x2_begin, ..., x1_end, x2_end, ...]
    AutoPad auto_pad = AutoPad::kNotSet;
    bool ceil_mode = false;               // pools only
    std::vector<int64_t> output_padding;  // ConvTranspose only
    std::vector<int64_t> output_shape;    // ConvTranspose only (spatial dims, or N, C and the spatial dims)
};

/// Reads the window attributes of a Conv, ConvTranspose or pooling node; invalid_input for an unknown auto_pad.
Result<WindowAttributes> read_window_attributes(const Node& node);

/// A window resolved against one input, per spatial axis. Input position (along one axis) of kernel tap k for output
/// position o: o * strides - pads_begin + k * dilations.
struct WindowGeometry {
    std::vector<int64_t> input;   // spatial dims of the op's input
    std::vector<int64_t> output;  // spatial dims of the op's output
    std::vector<int64_t> kernel;
    std::vector<int64_t> strides;
    std::vector<int64_t> dilations;
    std::vector<int64_t> pads_begin;
    std::vector<int64_t> pads_end;
    std::vector<int64_t> output_padding;  // ConvTranspose: extra output rows at the end (all zeros otherwise)

    size_t rank() const { return input.size(); }
    /// Extent of the dilated kernel along an axis: (kernel - 1) * dilation + 1.
    int64_t dilated_kernel(size_t axis) const { return (kernel[axis] - 1) * dilations[axis] + 1; }
};

/// Geometry of a forward window op (Conv, MaxPool, AveragePool, LpPool). `input_spatial` are the input's spatial dims,
/// `kernel_spatial` the kernel (the weight's spatial dims for Conv; kernel_shape for pools). With explicit pads the
/// output is floor((in + pads - dilated_kernel) / stride) + 1, or ceil(...) + 1 with ceil_mode, dropping a last window
/// that would start past the input and begin padding; SAME_UPPER/SAME_LOWER give ceil(in / stride) with the odd pad at
/// the end/beginning; VALID gives no padding. Fails (naming the node and shapes) on a malformed configuration.
Result<WindowGeometry> forward_window_geometry(const Node& node, const WindowAttributes& attributes,
                                               const Shape& input_spatial, const Shape& kernel_spatial);

/// Geometry of ConvTranspose: output = stride * (in - 1) + output_padding + dilated_kernel - pads_begin - pads_end,
/// unless output_shape is given (or auto_pad is SAME_*, which asks for in * stride): then the pads are derived from
/// the total padding, the odd one at the end for SAME_UPPER and at the beginning otherwise (the ONNX spec's
/// equations). An output_shape larger than the taps reach is expressed as extra output_padding, never negative pads.
Result<WindowGeometry> transpose_window_geometry(const Node& node, const WindowAttributes& attributes,
                                                 const Shape& input_spatial, const Shape& kernel_spatial);

}  // namespace pare
