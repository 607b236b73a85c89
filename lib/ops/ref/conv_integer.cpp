// ConvInteger and QLinearConv: N-D grouped convolution of 8-bit integers with int32 accumulation, computed on
// centered int32 copies (x - x_zero_point) and (w - w_zero_point[m]), so padding contributes a true zero. The weight
// zero point and QLinearConv's weight scale are per tensor or per output channel; the input and output ones are per
// tensor. QLinearConv adds its int32 bias to the accumulator and requantizes with
// (x_scale * w_scale[m]) / y_scale. The window (pads, strides, dilations, auto_pad) is the shared ops/conv_geometry.h.
#include <string>

#include "ops/conv_geometry.h"
#include "ops/kernel_util.h"
#include "ops/quantize_math.h"
#include "ops/ref/quant_common.h"
#include "ops/ref/window.h"
#include "ops/register_kernels.h"
#include "ops/registry.h"

namespace pare {

namespace {

// A convolution resolved against its input: x [batch, in_channels, input...], w [out_channels,
// in_channels / group, kernel...], y [batch, out_channels, output...], with the window from the shared geometry.
struct ConvShape {
    int64_t batch = 0, in_channels = 0, out_channels = 0, group = 1;
    WindowGeometry window;
    std::vector<int64_t> tap_offsets;  // tap_offset_table(window)
    Shape out;
};

Result<ConvShape> conv_shape(const Node& node, const Shape& x, const Shape& w) {
    if (x.size() < 3 || w.size() != x.size()) {
        return invalid_input(node.describe() + ": convolution needs input and weights of equal rank >= 3 (input " +
                             shape_to_string(x) + ", weights " + shape_to_string(w) + ")");
    }
    ConvShape shape;
    shape.batch = x[0];
    shape.in_channels = x[1];
    shape.out_channels = w[0];
    shape.group = node.attr_int("group", 1);
    if (shape.group < 1 || shape.in_channels != w[1] * shape.group || shape.out_channels % shape.group != 0) {
        return invalid_input(node.describe() + ": group " + std::to_string(shape.group) + " does not fit input " +
                             shape_to_string(x) + " and weights " + shape_to_string(w));
    }
    PARE_ASSIGN_OR_RETURN(const WindowAttributes attributes, read_window_attributes(node));
    PARE_ASSIGN_OR_RETURN(shape.window, forward_window_geometry(node, attributes, Shape(x.begin() + 2, x.end()),
                                                                Shape(w.begin() + 2, w.end())));
    shape.tap_offsets = tap_offset_table(shape.window);
    shape.out = {shape.batch, shape.out_channels};
    shape.out.insert(shape.out.end(), shape.window.output.begin(), shape.window.output.end());
    return shape;
}

// acc[n, m, p] = bias[m] + sum over the input channels c of m's group and the taps t inside the input of
// x[n, c, tap t of window p] * w[m, c, t].
std::vector<int64_t> integer_conv(const std::vector<int32_t>& x, const std::vector<int32_t>& w, const Tensor& bias,
                                  const ConvShape& g) {
    const int64_t in_plane = shape_numel(g.window.input), out_plane = shape_numel(g.window.output);
    const int64_t taps = shape_numel(g.window.kernel);
    const int64_t group_in = g.in_channels / g.group, group_out = g.out_channels / g.group;
    std::vector<int64_t> acc(static_cast<size_t>(g.batch * g.out_channels * out_plane));
#pragma omp parallel for if (static_cast <int64_t>(acc.size()) * group_in * taps > 262144)
    for (int64_t plane = 0; plane < g.batch * g.out_channels; ++plane) {
        const int64_t n = plane / g.out_channels, m = plane % g.out_channels;
        const int32_t* image = x.data() + (n * g.in_channels + (m / group_out) * group_in) * in_plane;
        const int32_t* filter = w.data() + m * group_in * taps;
        const int64_t start = bias.defined() ? read_quantized(bias, m) : 0;
        for (int64_t p = 0; p < out_plane; ++p) {
            const int64_t* offsets = g.tap_offsets.data() + p * taps;
            int64_t sum = start;
            for (int64_t c = 0; c < group_in; ++c) {
                for (int64_t t = 0; t < taps; ++t) {
                    if (offsets[t] >= 0)
                        sum += static_cast<int64_t>(image[c * in_plane + offsets[t]]) * filter[c * taps + t];
                }
            }
            acc[plane * out_plane + p] = sum;
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
        PARE_ASSIGN_OR_RETURN(shape_, conv_shape(node_, inputs[0].shape, inputs[1].shape));
        PARE_RETURN_IF_ERROR(check_zero_points(inputs, 0, 2, 1, 3, shape_.out_channels, node_));
        outputs = {OutputInfo{DType::kI32, shape_.out}};
        return Status();
    }

    Status run(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs) override {
        std::vector<int32_t> x, w;
        centered_operands(inputs[0], optional_input(inputs, 2), inputs[1], optional_input(inputs, 3), x, w);
        const std::vector<int64_t> acc = integer_conv(x, w, Tensor(), shape_);
        int32_t* dst = outputs[0].data<int32_t>();
        for (size_t i = 0; i < acc.size(); ++i) dst[i] = wrap_int32(acc[i]);
        return Status();
    }

  private:
    const Node& node_;
    ConvShape shape_;
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
        PARE_ASSIGN_OR_RETURN(shape_, conv_shape(node_, inputs[0].shape, inputs[3].shape));
        PARE_RETURN_IF_ERROR(check_zero_points(inputs, 0, 2, 3, 5, shape_.out_channels, node_));
        PARE_RETURN_IF_ERROR(check_per_channel(inputs, 4, shape_.out_channels, node_, "weight scale"));
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
            if (inputs[8].shape != Shape{shape_.out_channels}) {
                return invalid_input(node_.describe() + ": bias shape " + shape_to_string(inputs[8].shape) +
                                     " is not [" + std::to_string(shape_.out_channels) + "]");
            }
        }
        outputs = {OutputInfo{dtype, shape_.out}};
        return Status();
    }

    Status run(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs) override {
        std::vector<int32_t> x, w;
        centered_operands(inputs[0], inputs[2], inputs[3], inputs[5], x, w);
        const std::vector<double> w_scale = per_channel(inputs[4], shape_.out_channels);
        const float x_scale = static_cast<float>(inputs[1].element_as_double(0));
        const float y_scale = static_cast<float>(inputs[6].element_as_double(0));
        const int64_t y_zero_point = read_quantized(inputs[7], 0);
        const std::vector<int64_t> acc = integer_conv(x, w, optional_input(inputs, 8), shape_);
        Tensor& dst = outputs[0];
        const QuantRange range = quant_range(dst.dtype());
        const int64_t plane = shape_numel(shape_.window.output);
        for (int64_t i = 0; i < static_cast<int64_t>(acc.size()); ++i) {
            const int64_t m = (i / plane) % shape_.out_channels;
            const float multiplier = requantize_multiplier(x_scale, static_cast<float>(w_scale[m]), y_scale);
            // The accumulator wraps in 32 bits, as the spec allows.
            const int64_t wrapped = wrap_int32(acc[i]);
            write_quantized(dst, i, requantize(wrapped, multiplier, y_zero_point, range));
        }
        return Status();
    }

  private:
    const Node& node_;
    ConvShape shape_;
};

}  // namespace

void register_integer_conv_kernels(KernelRegistry& registry) {
    add_node_kernel<ConvIntegerKernel>(registry, "ConvInteger");
    add_node_kernel<QLinearConvKernel>(registry, "QLinearConv");
}

}  // namespace pare
