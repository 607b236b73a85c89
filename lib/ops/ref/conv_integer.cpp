// ConvInteger and QLinearConv: N-D grouped convolution of 8-bit integers with int32 accumulation, computed on
// centered int32 copies (x - x_zero_point) and (w - w_zero_point[m]), so padding contributes a true zero. The weight
// zero point and QLinearConv's weight scale are per tensor or per output channel; the input and output ones are per
// tensor. QLinearConv adds its int32 bias to the accumulator and requantizes with
// (x_scale * w_scale[m]) / y_scale.
//
// The output geometry (auto_pad, pads, strides, dilations) is computed here because the shared float Conv geometry
// helper is not on main yet; conv_output_geometry() is the one place to switch over to it.
#include <string>

#include "ops/kernel_util.h"
#include "ops/quantize_math.h"
#include "ops/register_kernels.h"
#include "ops/ref/quant_common.h"
#include "ops/registry.h"

namespace pare {

namespace {

struct ConvGeometry {
    int64_t batch = 0, in_channels = 0, out_channels = 0, group = 1;
    Shape in_spatial, kernel, out_spatial;
    std::vector<int64_t> strides, dilations, pads_begin;
    Shape out;
};

// Output shape and leading pads of a Conv node for input x [N, C, D1...] and weights w [M, C/group, k1...].
Result<ConvGeometry> conv_output_geometry(const Node& node, const Shape& x, const Shape& w) {
    const std::string shapes = " (input " + shape_to_string(x) + ", weights " + shape_to_string(w) + ")";
    if (x.size() < 3 || w.size() != x.size()) {
        return invalid_input(node.describe() + ": convolution needs input and weights of equal rank >= 3" + shapes);
    }
    const size_t dims = x.size() - 2;
    ConvGeometry g;
    g.batch = x[0];
    g.in_channels = x[1];
    g.out_channels = w[0];
    g.group = node.attr_int("group", 1);
    if (g.group < 1 || g.in_channels != w[1] * g.group || g.out_channels % g.group != 0) {
        return invalid_input(node.describe() + ": channels do not match group " + std::to_string(g.group) + shapes);
    }
    g.in_spatial.assign(x.begin() + 2, x.end());
    g.kernel.assign(w.begin() + 2, w.end());
    const std::vector<int64_t> kernel_attr = node.attr_ints("kernel_shape");
    if (!kernel_attr.empty() && kernel_attr != g.kernel) {
        return invalid_input(node.describe() + ": kernel_shape attribute differs from the weights" + shapes);
    }
    g.strides = node.attr_ints("strides");
    g.dilations = node.attr_ints("dilations");
    std::vector<int64_t> pads = node.attr_ints("pads");
    if (g.strides.empty()) g.strides.assign(dims, 1);
    if (g.dilations.empty()) g.dilations.assign(dims, 1);
    if (pads.empty()) pads.assign(2 * dims, 0);
    if (g.strides.size() != dims || g.dilations.size() != dims || pads.size() != 2 * dims) {
        return invalid_input(node.describe() + ": strides, dilations or pads do not match " + std::to_string(dims) +
                             " spatial dimensions");
    }
    const std::string auto_pad = node.attr_string("auto_pad", "NOTSET");
    g.out = {g.batch, g.out_channels};
    for (size_t d = 0; d < dims; ++d) {
        if (g.strides[d] < 1 || g.dilations[d] < 1 || pads[d] < 0 || pads[d + dims] < 0) {
            return invalid_input(node.describe() + ": strides and dilations must be >= 1 and pads >= 0");
        }
        const int64_t extent = (g.kernel[d] - 1) * g.dilations[d] + 1;
        int64_t begin = pads[d], end = pads[d + dims], out = 0;
        if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
            out = (g.in_spatial[d] + g.strides[d] - 1) / g.strides[d];
            const int64_t total = std::max<int64_t>(0, (out - 1) * g.strides[d] + extent - g.in_spatial[d]);
            begin = auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
        } else {
            if (auto_pad == "VALID") begin = end = 0;
            else if (auto_pad != "NOTSET") return invalid_input(node.describe() + ": auto_pad '" + auto_pad + "'");
            const int64_t span = g.in_spatial[d] + begin + end - extent;
            if (span < 0) return invalid_input(node.describe() + ": kernel larger than the padded input" + shapes);
            out = span / g.strides[d] + 1;
        }
        g.pads_begin.push_back(begin);
        g.out_spatial.push_back(out);
        g.out.push_back(out);
    }
    return g;
}

// acc[n, m, out...] = bias[m] + sum over c in m's group and kernel positions of x[n, c, in...] * w[m, c, k...].
std::vector<int64_t> integer_conv(const std::vector<int32_t>& x, const std::vector<int32_t>& w, const Tensor& bias,
                                  const ConvGeometry& g) {
    const size_t dims = g.kernel.size();
    const int64_t in_size = shape_numel(g.in_spatial), out_size = shape_numel(g.out_spatial);
    const int64_t kernel_size = shape_numel(g.kernel);
    const int64_t group_in = g.in_channels / g.group, group_out = g.out_channels / g.group;
    const std::vector<int64_t> in_strides = shape_strides(g.in_spatial);
    // Kernel positions as per-dimension offsets (with dilation) from the window origin.
    std::vector<std::vector<int64_t>> taps(static_cast<size_t>(kernel_size), std::vector<int64_t>(dims));
    for (int64_t t = 0; t < kernel_size; ++t) {
        int64_t rest = t;
        for (int64_t d = static_cast<int64_t>(dims) - 1; d >= 0; --d) {
            taps[t][d] = (rest % g.kernel[d]) * g.dilations[d];
            rest /= g.kernel[d];
        }
    }
    std::vector<int64_t> acc(static_cast<size_t>(g.batch * g.out_channels * out_size));
#pragma omp parallel for if (static_cast<int64_t>(acc.size()) * group_in * kernel_size > 262144)
    for (int64_t plane = 0; plane < g.batch * g.out_channels; ++plane) {
        const int64_t n = plane / g.out_channels, m = plane % g.out_channels, group = m / group_out;
        const int64_t start = bias.defined() ? read_quantized(bias, m) : 0;
        std::vector<int64_t> origin(dims);
        for (int64_t o = 0; o < out_size; ++o) {
            int64_t rest = o;
            for (int64_t d = static_cast<int64_t>(dims) - 1; d >= 0; --d) {
                origin[d] = (rest % g.out_spatial[d]) * g.strides[d] - g.pads_begin[d];
                rest /= g.out_spatial[d];
            }
            int64_t sum = start;
            for (int64_t t = 0; t < kernel_size; ++t) {
                int64_t offset = 0;
                bool inside = true;
                for (size_t d = 0; d < dims && inside; ++d) {
                    const int64_t pos = origin[d] + taps[t][d];
                    inside = pos >= 0 && pos < g.in_spatial[d];
                    offset += pos * in_strides[d];
                }
                if (!inside) continue;
                for (int64_t c = 0; c < group_in; ++c) {
                    const int64_t channel = group * group_in + c;
                    sum += static_cast<int64_t>(x[(n * g.in_channels + channel) * in_size + offset]) *
                           w[(m * group_in + c) * kernel_size + t];
                }
            }
            acc[plane * out_size + o] = sum;
        }
    }
    return acc;
}

// Checks that an optional per-tensor or per-output-channel parameter (weight zero point or scale) is a single
// value or a 1-D tensor of `channels` values.
Status check_per_channel(const std::vector<InputInfo>& inputs, size_t index, int64_t channels, const Node& node,
                         const std::string& what) {
    if (index >= inputs.size() || !inputs[index].present) return Status();
    const Shape& shape = inputs[index].shape;
    if (shape_numel(shape) == 1 || shape == Shape{channels}) return Status();
    return invalid_input(node.describe() + ": " + what + " of shape " + shape_to_string(shape) +
                         " is neither per tensor nor per output channel (" + std::to_string(channels) + ")");
}

// Checks the zero points of x (per tensor) and w (per tensor or output channel): present ones share their input's
// dtype.
Status check_zero_points(const std::vector<InputInfo>& inputs, size_t x, size_t x_zero_point, size_t w,
                         size_t w_zero_point, int64_t channels, const Node& node) {
    for (auto [value, zero_point] : {std::make_pair(x, x_zero_point), std::make_pair(w, w_zero_point)}) {
        if (zero_point < inputs.size() && inputs[zero_point].present &&
            inputs[zero_point].dtype != inputs[value].dtype) {
            return invalid_input(node.describe() + ": zero point is " + dtype_name(inputs[zero_point].dtype) +
                                 " but its input is " + dtype_name(inputs[value].dtype));
        }
    }
    if (x_zero_point < inputs.size() && inputs[x_zero_point].present && shape_numel(inputs[x_zero_point].shape) != 1) {
        return unsupported(node.describe() + ": input zero point of shape " +
                           shape_to_string(inputs[x_zero_point].shape) + " (only per tensor)");
    }
    return check_per_channel(inputs, w_zero_point, channels, node, "weight zero point");
}

// A per-tensor or per-output-channel parameter (checked by check_per_channel) as one value per channel.
std::vector<double> per_channel(const Tensor& param, int64_t channels) {
    std::vector<double> values(static_cast<size_t>(channels));
    for (int64_t m = 0; m < channels; ++m) values[m] = param.element_as_double(param.numel() == 1 ? 0 : m);
    return values;
}

// x - x_zero_point (per tensor) and w - w_zero_point (per tensor or per output channel) as int32; undefined zero
// points are 0.
void centered_operands(const Tensor& x, const Tensor& x_zero_point, const Tensor& w, const Tensor& w_zero_point,
                       std::vector<int32_t>& x_centered, std::vector<int32_t>& w_centered) {
    const int64_t x_zp = x_zero_point.defined() ? read_quantized(x_zero_point, 0) : 0;
    x_centered.resize(static_cast<size_t>(x.numel()));
    for (int64_t i = 0; i < x.numel(); ++i) x_centered[i] = static_cast<int32_t>(read_quantized(x, i) - x_zp);
    const int64_t channels = w.dim(0), per_channel_count = w.numel() / std::max<int64_t>(channels, 1);
    const std::vector<double> w_zp =
        w_zero_point.defined() ? per_channel(w_zero_point, channels) : std::vector<double>(channels, 0.0);
    w_centered.resize(static_cast<size_t>(w.numel()));
    for (int64_t i = 0; i < w.numel(); ++i) {
        w_centered[i] = static_cast<int32_t>(read_quantized(w, i) - static_cast<int64_t>(w_zp[i / per_channel_count]));
    }
}

// Inputs: x, w, x_zero_point (optional), w_zero_point (optional).
class ConvIntegerKernel : public Kernel {
public:
    explicit ConvIntegerKernel(const Node& node) : node_(node) {}

    Status prepare(const std::vector<InputInfo>& inputs, std::vector<OutputInfo>& outputs) override {
        PARE_RETURN_IF_ERROR(check_input_count(node_, inputs, 2, 4));
        PARE_RETURN_IF_ERROR(check_input_dtype(node_, inputs, 0, int8_dtypes()));
        PARE_RETURN_IF_ERROR(check_input_dtype(node_, inputs, 1, int8_dtypes()));
        PARE_ASSIGN_OR_RETURN(geometry_, conv_output_geometry(node_, inputs[0].shape, inputs[1].shape));
        PARE_RETURN_IF_ERROR(check_zero_points(inputs, 0, 2, 1, 3, geometry_.out_channels, node_));
        outputs = {OutputInfo{DType::kI32, geometry_.out}};
        return Status();
    }

    Status run(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs) override {
        std::vector<int32_t> x, w;
        centered_operands(inputs[0], optional_input(inputs, 2), inputs[1], optional_input(inputs, 3), x, w);
        const std::vector<int64_t> acc = integer_conv(x, w, Tensor(), geometry_);
        int32_t* dst = outputs[0].data<int32_t>();
        for (size_t i = 0; i < acc.size(); ++i) dst[i] = wrap_int32(acc[i]);
        return Status();
    }

private:
    const Node& node_;
    ConvGeometry geometry_;
};

// Inputs: x, x_scale, x_zero_point, w, w_scale, w_zero_point, y_scale, y_zero_point, B (optional int32 bias).
class QLinearConvKernel : public Kernel {
public:
    explicit QLinearConvKernel(const Node& node) : node_(node) {}

    Status prepare(const std::vector<InputInfo>& inputs, std::vector<OutputInfo>& outputs) override {
        PARE_RETURN_IF_ERROR(check_input_count(node_, inputs, 8, 9));
        PARE_RETURN_IF_ERROR(check_input_dtype(node_, inputs, 0, int8_dtypes()));
        PARE_RETURN_IF_ERROR(check_input_dtype(node_, inputs, 3, int8_dtypes()));
        for (int i : {1, 4, 6}) PARE_RETURN_IF_ERROR(check_input_dtype(node_, inputs, i, scale_dtypes()));
        PARE_ASSIGN_OR_RETURN(geometry_, conv_output_geometry(node_, inputs[0].shape, inputs[3].shape));
        PARE_RETURN_IF_ERROR(check_zero_points(inputs, 0, 2, 3, 5, geometry_.out_channels, node_));
        PARE_RETURN_IF_ERROR(check_per_channel(inputs, 4, geometry_.out_channels, node_, "weight scale"));
        if (shape_numel(inputs[1].shape) != 1 || shape_numel(inputs[6].shape) != 1 ||
            shape_numel(inputs[7].shape) != 1) {
            return unsupported(node_.describe() + ": input and output scales and zero points must be per tensor");
        }
        const DType dtype = inputs[7].dtype;
        if (dtype != DType::kU8 && dtype != DType::kI8) {
            return unsupported(node_.describe() + ": output dtype " + dtype_name(dtype));
        }
        if (inputs.size() > 8 && inputs[8].present) {
            PARE_RETURN_IF_ERROR(check_input_dtype(node_, inputs, 8, {DType::kI32}));
            if (inputs[8].shape != Shape{geometry_.out_channels}) {
                return invalid_input(node_.describe() + ": bias shape " + shape_to_string(inputs[8].shape) +
                                     " is not [" + std::to_string(geometry_.out_channels) + "]");
            }
        }
        outputs = {OutputInfo{dtype, geometry_.out}};
        return Status();
    }

    Status run(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs) override {
        std::vector<int32_t> x, w;
        centered_operands(inputs[0], inputs[2], inputs[3], inputs[5], x, w);
        const std::vector<double> w_scale = per_channel(inputs[4], geometry_.out_channels);
        const float x_scale = static_cast<float>(inputs[1].element_as_double(0));
        const float y_scale = static_cast<float>(inputs[6].element_as_double(0));
        const int64_t y_zero_point = read_quantized(inputs[7], 0);
        const std::vector<int64_t> acc = integer_conv(x, w, optional_input(inputs, 8), geometry_);
        Tensor& dst = outputs[0];
        const QuantRange range = quant_range(dst.dtype());
        const int64_t plane = shape_numel(geometry_.out_spatial);
        for (int64_t i = 0; i < static_cast<int64_t>(acc.size()); ++i) {
            const int64_t m = (i / plane) % geometry_.out_channels;
            const float multiplier = requantize_multiplier(x_scale, static_cast<float>(w_scale[m]), y_scale);
            // The accumulator wraps in 32 bits, as the spec allows.
            const int64_t wrapped = wrap_int32(acc[i]);
            write_quantized(dst, i, requantize(wrapped, multiplier, y_zero_point, range));
        }
        return Status();
    }

private:
    const Node& node_;
    ConvGeometry geometry_;
};

}  // namespace

void register_integer_conv_kernels(KernelRegistry& registry) {
    add_node_kernel<ConvIntegerKernel>(registry, "ConvInteger");
    add_node_kernel<QLinearConvKernel>(registry, "QLinearConv");
}

}  // namespace pare
