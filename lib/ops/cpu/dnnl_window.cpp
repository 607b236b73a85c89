#include "ops/cpu/dnnl_window.h"

#include <algorithm>

#include "ops/conv_geometry.h"

namespace pare {

namespace {

DnnlWindow common(const WindowGeometry& g) {
    DnnlWindow w;
    for (size_t i = 0; i < g.rank(); ++i) {
        w.kernel.push_back(g.kernel[i]);
        w.strides.push_back(g.strides[i]);
        w.dilations.push_back(g.dilations[i] - 1);
        w.padding_l.push_back(g.pads_begin[i]);
    }
    w.output = g.output;
    return w;
}

}  // namespace

Result<DnnlWindow> dnnl_forward_window(const Node& node, const Shape& input_spatial, const Shape& kernel_spatial) {
    PARE_ASSIGN_OR_RETURN(const WindowAttributes attributes, read_window_attributes(node));
    PARE_ASSIGN_OR_RETURN(const WindowGeometry g,
                          forward_window_geometry(node, attributes, input_spatial, kernel_spatial));
    DnnlWindow w = common(g);
    for (size_t i = 0; i < g.rank(); ++i) {
        // oneDNN derives the output size with floor division: with ceil_mode the last window needs more end padding.
        const int64_t needed = (g.output[i] - 1) * g.strides[i] + g.dilated_kernel(i) - g.input[i] - g.pads_begin[i];
        w.padding_r.push_back(std::max(g.pads_end[i], needed));
        w.padding_r_extended = w.padding_r_extended || needed > g.pads_end[i];
    }
    return w;
}

Result<DnnlWindow> dnnl_transpose_window(const Node& node, const Shape& input_spatial, const Shape& kernel_spatial) {
    PARE_ASSIGN_OR_RETURN(const WindowAttributes attributes, read_window_attributes(node));
    PARE_ASSIGN_OR_RETURN(const WindowGeometry g,
                          transpose_window_geometry(node, attributes, input_spatial, kernel_spatial));
    DnnlWindow w = common(g);
    // oneDNN: out = (in - 1) * stride + dilated kernel - padding_l - padding_r, so output padding is negative end
    // padding.
    for (size_t i = 0; i < g.rank(); ++i) w.padding_r.push_back(g.pads_end[i] - g.output_padding[i]);
    return w;
}

}  // namespace pare
