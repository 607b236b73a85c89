#include "ops/conv_geometry.h"

#include <algorithm>
#include <string>

namespace pare {

namespace {

std::string ints_to_string(const std::vector<int64_t>& values) {
    std::string text = "[";
    for (size_t i = 0; i < values.size(); ++i) text += (i ? "," : "") + std::to_string(values[i]);
    return text + "]";
}

// ceil(a / b) for b > 0 and any sign of a.
int64_t ceil_div(int64_t a, int64_t b) {
    return a >= 0 ? (a + b - 1) / b : -((-a) / b);
}

// Fills the per-axis vectors of `geometry` from the attributes, with ONNX's defaults, and checks their lengths and
// signs. Pads are left as written (zeros when absent); callers resolve auto_pad.
Status resolve_common(const Node& node, const WindowAttributes& attributes, const Shape& input_spatial,
                      const Shape& kernel_spatial, WindowGeometry& geometry) {
    const size_t rank = input_spatial.size();
    auto fail = [&](const std::string& what) {
        return invalid_input(node.describe() + ": " + what + " (input spatial dims " + shape_to_string(input_spatial) +
                             ", kernel " + shape_to_string(kernel_spatial) + ")");
    };
    if (rank == 0) return fail("needs at least one spatial dimension");
    if (kernel_spatial.size() != rank) return fail("kernel rank does not match the input's spatial rank");
    if (!attributes.kernel_shape.empty() && attributes.kernel_shape != kernel_spatial) {
        return fail("kernel_shape " + ints_to_string(attributes.kernel_shape) + " does not match the weights");
    }
    auto per_axis = [&](const std::vector<int64_t>& given, size_t count, int64_t fallback, const char* name,
                        int64_t minimum, std::vector<int64_t>& out) -> Status {
        if (given.empty()) {
            out.assign(count, fallback);
        } else if (given.size() != count) {
            return fail(std::string(name) + " " + ints_to_string(given) + " has the wrong length");
        } else {
            out = given;
        }
        for (int64_t v : out) {
            if (v < minimum) return fail(std::string(name) + " " + ints_to_string(given) + " out of range");
        }
        return Status();
    };
    geometry.input = input_spatial;
    geometry.kernel = kernel_spatial;
    for (int64_t k : kernel_spatial) {
        if (k < 1) return fail("kernel dims must be positive");
    }
    for (int64_t d : input_spatial) {
        if (d < 0) return fail("negative input dimension");
    }
    PARE_RETURN_IF_ERROR(per_axis(attributes.strides, rank, 1, "strides", 1, geometry.strides));
    PARE_RETURN_IF_ERROR(per_axis(attributes.dilations, rank, 1, "dilations", 1, geometry.dilations));
    PARE_RETURN_IF_ERROR(per_axis(attributes.output_padding, rank, 0, "output_padding", 0, geometry.output_padding));
    std::vector<int64_t> pads;
    PARE_RETURN_IF_ERROR(per_axis(attributes.pads, 2 * rank, 0, "pads", 0, pads));
    geometry.pads_begin.assign(pads.begin(), pads.begin() + rank);
    geometry.pads_end.assign(pads.begin() + rank, pads.end());
    return Status();
}

}  // namespace

Result<WindowAttributes> read_window_attributes(const Node& node) {
    WindowAttributes attributes;
    attributes.kernel_shape = node.attr_ints("kernel_shape");
    attributes.strides = node.attr_ints("strides");
    attributes.dilations = node.attr_ints("dilations");
    attributes.pads = node.attr_ints("pads");
    attributes.ceil_mode = node.attr_int("ceil_mode", 0) != 0;
    attributes.output_padding = node.attr_ints("output_padding");
    attributes.output_shape = node.attr_ints("output_shape");
    const std::string auto_pad = node.attr_string("auto_pad", "NOTSET");
    if (auto_pad == "NOTSET")
        attributes.auto_pad = AutoPad::kNotSet;
    else if (auto_pad == "SAME_UPPER")
        attributes.auto_pad = AutoPad::kSameUpper;
    else if (auto_pad == "SAME_LOWER")
        attributes.auto_pad = AutoPad::kSameLower;
    else if (auto_pad == "VALID")
        attributes.auto_pad = AutoPad::kValid;
    else
        return invalid_input(node.describe() + ": unknown auto_pad '" + auto_pad + "'");
    return attributes;
}

Result<WindowGeometry> forward_window_geometry(const Node& node, const WindowAttributes& attributes,
                                               const Shape& input_spatial, const Shape& kernel_spatial) {
    WindowGeometry g;
    PARE_RETURN_IF_ERROR(resolve_common(node, attributes, input_spatial, kernel_spatial, g));
    g.output_padding.assign(g.rank(), 0);
    g.output.resize(g.rank());
    for (size_t i = 0; i < g.rank(); ++i) {
        const int64_t in = g.input[i], stride = g.strides[i], span = g.dilated_kernel(i);
        switch (attributes.auto_pad) {
            case AutoPad::kSameUpper:
            case AutoPad::kSameLower: {
                g.output[i] = ceil_div(in, stride);
                const int64_t total = std::max<int64_t>(0, (g.output[i] - 1) * stride + span - in);
                const int64_t small = total / 2;
                g.pads_begin[i] = attributes.auto_pad == AutoPad::kSameUpper ? small : total - small;
                g.pads_end[i] = total - g.pads_begin[i];
                continue;
            }
            case AutoPad::kValid:
                g.pads_begin[i] = g.pads_end[i] = 0;
                break;
            case AutoPad::kNotSet:
                break;
        }
        const int64_t room = in + g.pads_begin[i] + g.pads_end[i] - span;
        if (room < 0) {
            return invalid_input(node.describe() + ": the dilated kernel (" + std::to_string(span) +
                                 ") is larger than the padded input along spatial axis " + std::to_string(i) +
                                 " (input spatial dims " + shape_to_string(input_spatial) + ")");
        }
        if (attributes.ceil_mode && attributes.auto_pad == AutoPad::kNotSet) {
            g.output[i] = ceil_div(room, stride) + 1;
            // A last window that would start in the end padding covers no input: PyTorch and ONNX drop it.
            if ((g.output[i] - 1) * stride >= in + g.pads_begin[i]) --g.output[i];
        } else {
            g.output[i] = room / stride + 1;
        }
    }
    return g;
}

Result<WindowGeometry> transpose_window_geometry(const Node& node, const WindowAttributes& attributes,
                                                 const Shape& input_spatial, const Shape& kernel_spatial) {
    WindowGeometry g;
    PARE_RETURN_IF_ERROR(resolve_common(node, attributes, input_spatial, kernel_spatial, g));
    const size_t rank = g.rank();
    std::vector<int64_t> wanted;  // the requested output size, when there is one
    if (!attributes.output_shape.empty()) {
        const auto& shape = attributes.output_shape;
        if (shape.size() != rank && shape.size() != rank + 2) {
            return invalid_input(node.describe() + ": output_shape " + ints_to_string(shape) +
                                 " does not match the input's spatial rank " + std::to_string(rank));
        }
        wanted.assign(shape.end() - rank, shape.end());
    } else if (attributes.auto_pad == AutoPad::kSameUpper || attributes.auto_pad == AutoPad::kSameLower) {
        for (size_t i = 0; i < rank; ++i) wanted.push_back(g.input[i] * g.strides[i]);
    }
    if (attributes.auto_pad == AutoPad::kValid) {
        std::fill(g.pads_begin.begin(), g.pads_begin.end(), 0);
        std::fill(g.pads_end.begin(), g.pads_end.end(), 0);
    }
    g.output.resize(rank);
    for (size_t i = 0; i < rank; ++i) {
        const int64_t reach = g.strides[i] * (g.input[i] - 1) + g.output_padding[i] + g.dilated_kernel(i);
        if (!wanted.empty()) {
            if (wanted[i] < 0) return invalid_input(node.describe() + ": negative output_shape");
            const int64_t total = reach - wanted[i];
            if (total >= 0) {
                const int64_t small = total / 2;
                g.pads_begin[i] = attributes.auto_pad == AutoPad::kSameUpper ? small : total - small;
                g.pads_end[i] = total - g.pads_begin[i];
            } else {
                // Larger than the taps reach: the extra positions at the end only receive the bias.
                g.pads_begin[i] = g.pads_end[i] = 0;
                g.output_padding[i] -= total;
            }
            g.output[i] = wanted[i];
        } else {
            g.output[i] = reach - g.pads_begin[i] - g.pads_end[i];
            if (g.output[i] < 0) {
                return invalid_input(node.describe() + ": pads " + ints_to_string(attributes.pads) +
                                     " leave no output (input spatial dims " + shape_to_string(input_spatial) + ")");
            }
        }
    }
    return g;
}

}  // namespace pare
