#include "ops/cpu/dnnl_window.h"

#include <algorithm>
#include <string>

namespace pare {

namespace {

// Per-axis attribute with ONNX's default when absent; invalid_input when its length is wrong.
Result<std::vector<int64_t>> per_axis(const Node& node, const char* name, size_t count, int64_t fallback) {
    std::vector<int64_t> values = node.attr_ints(name);
    if (values.empty()) return std::vector<int64_t>(count, fallback);
    if (values.size() != count) {
        return invalid_input(node.describe() + ": attribute " + name + " has " + std::to_string(values.size()) +
                             " values, expected " + std::to_string(count));
    }
    return values;
}

struct Common {
    std::vector<int64_t> strides, dilations, pads_begin, pads_end, kernel;
    std::string auto_pad;
};

Result<Common> read_common(const Node& node, const Shape& input_spatial, const Shape& kernel_spatial) {
    const size_t rank = input_spatial.size();
    if (rank == 0 || kernel_spatial.size() != rank) {
        return invalid_input(node.describe() + ": kernel " + shape_to_string(kernel_spatial) +
                             " does not match the input's spatial dims " + shape_to_string(input_spatial));
    }
    Common c;
    c.kernel = kernel_spatial;
    const std::vector<int64_t> kernel_shape = node.attr_ints("kernel_shape");
    if (!kernel_shape.empty() && kernel_shape != c.kernel) {
        return invalid_input(node.describe() + ": kernel_shape does not match the weights " + shape_to_string(c.kernel));
    }
    PARE_ASSIGN_OR_RETURN(c.strides, per_axis(node, "strides", rank, 1));
    PARE_ASSIGN_OR_RETURN(c.dilations, per_axis(node, "dilations", rank, 1));
    PARE_ASSIGN_OR_RETURN(std::vector<int64_t> pads, per_axis(node, "pads", 2 * rank, 0));
    c.pads_begin.assign(pads.begin(), pads.begin() + rank);
    c.pads_end.assign(pads.begin() + rank, pads.end());
    for (size_t i = 0; i < rank; ++i) {
        if (c.strides[i] < 1 || c.dilations[i] < 1 || c.kernel[i] < 1 || c.pads_begin[i] < 0 || c.pads_end[i] < 0) {
            return invalid_input(node.describe() + ": non-positive kernel, stride or dilation, or negative pads");
        }
    }
    c.auto_pad = node.attr_string("auto_pad", "NOTSET");
    if (c.auto_pad != "NOTSET" && c.auto_pad != "SAME_UPPER" && c.auto_pad != "SAME_LOWER" && c.auto_pad != "VALID") {
        return invalid_input(node.describe() + ": unknown auto_pad '" + c.auto_pad + "'");
    }
    return c;
}

int64_t ceil_div(int64_t a, int64_t b) { return a >= 0 ? (a + b - 1) / b : -((-a) / b); }

}  // namespace

Result<DnnlWindow> dnnl_forward_window(const Node& node, const Shape& input_spatial, const Shape& kernel_spatial) {
    PARE_ASSIGN_OR_RETURN(Common c, read_common(node, input_spatial, kernel_spatial));
    const bool ceil_mode = node.attr_int("ceil_mode", 0) != 0;
    DnnlWindow w;
    for (size_t i = 0; i < input_spatial.size(); ++i) {
        const int64_t in = input_spatial[i], s = c.strides[i], span = (c.kernel[i] - 1) * c.dilations[i] + 1;
        int64_t begin = c.pads_begin[i], end = c.pads_end[i], out = 0;
        if (c.auto_pad == "SAME_UPPER" || c.auto_pad == "SAME_LOWER") {
            out = ceil_div(in, s);
            const int64_t total = std::max<int64_t>(0, (out - 1) * s + span - in);
            begin = c.auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
            end = total - begin;
        } else {
            if (c.auto_pad == "VALID") begin = end = 0;
            const int64_t room = in + begin + end - span;
            if (room < 0) {
                return invalid_input(node.describe() + ": the kernel is larger than the padded input " +
                                     shape_to_string(input_spatial));
            }
            out = room / s + 1;
            if (ceil_mode && c.auto_pad == "NOTSET") {
                out = ceil_div(room, s) + 1;
                if ((out - 1) * s >= in + begin) --out;  // a last window starting in the end padding is dropped
            }
        }
        const int64_t padding_r = std::max<int64_t>(end, (out - 1) * s + span - in - begin);
        w.padding_r_extended = w.padding_r_extended || padding_r > end;
        w.kernel.push_back(c.kernel[i]);
        w.strides.push_back(s);
        w.dilations.push_back(c.dilations[i] - 1);
        w.padding_l.push_back(begin);
        w.padding_r.push_back(padding_r);
        w.output.push_back(out);
    }
    return w;
}

Result<DnnlWindow> dnnl_transpose_window(const Node& node, const Shape& input_spatial, const Shape& kernel_spatial) {
    PARE_ASSIGN_OR_RETURN(Common c, read_common(node, input_spatial, kernel_spatial));
    const size_t rank = input_spatial.size();
    PARE_ASSIGN_OR_RETURN(std::vector<int64_t> output_padding, per_axis(node, "output_padding", rank, 0));
    std::vector<int64_t> wanted = node.attr_ints("output_shape");
    if (!wanted.empty()) {
        if (wanted.size() != rank && wanted.size() != rank + 2) {
            return invalid_input(node.describe() + ": output_shape has the wrong length");
        }
        wanted.erase(wanted.begin(), wanted.end() - rank);
    } else if (c.auto_pad == "SAME_UPPER" || c.auto_pad == "SAME_LOWER") {
        for (size_t i = 0; i < rank; ++i) wanted.push_back(input_spatial[i] * c.strides[i]);
    }
    DnnlWindow w;
    for (size_t i = 0; i < rank; ++i) {
        const int64_t span = (c.kernel[i] - 1) * c.dilations[i] + 1;
        const int64_t reach = c.strides[i] * (input_spatial[i] - 1) + output_padding[i] + span;
        int64_t begin = c.auto_pad == "VALID" ? 0 : c.pads_begin[i], end = c.auto_pad == "VALID" ? 0 : c.pads_end[i];
        if (!wanted.empty()) {
            const int64_t total = reach - wanted[i];
            if (total < 0) return unsupported("an output_shape beyond the kernel taps' reach");
            begin = c.auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
            end = total - begin;
        }
        // Output padding beyond the end padding is negative end padding to oneDNN.
        const int64_t padding_r = end - output_padding[i];
        const int64_t out = reach - begin - end;
        if (out <= 0) return invalid_input(node.describe() + ": the pads leave no output");
        w.kernel.push_back(c.kernel[i]);
        w.strides.push_back(c.strides[i]);
        w.dilations.push_back(c.dilations[i] - 1);
        w.padding_l.push_back(begin);
        w.padding_r.push_back(padding_r);
        w.output.push_back(out);
    }
    return w;
}

}  // namespace pare
