// Conv and ConvTranspose in any number of spatial dimensions, grouped (depthwise included), with strides, dilations,
// explicit or automatic padding and an optional bias. Conv is im2col followed by one matrix product per image and
// group; ConvTranspose is the adjoint: a matrix product into columns, then col2im scatters them into the output.
#include <algorithm>

#include "ops/conv_geometry.h"
#include "ops/kernel_util.h"
#include "ops/ref/compute_type.h"
#include "ops/ref/matrix_multiply.h"
#include "ops/ref/window.h"
#include "ops/register_kernels.h"
#include "ops/registry.h"

namespace pare {

namespace {

const std::vector<DType> kConvTypes = {DType::kF32, DType::kF64, DType::kF16, DType::kBF16};

// Shape checks common to both ops: X [N, C, spatial...], W with the same rank, optional bias [bias_size], one dtype.
Status check_conv_inputs(const Node& node, const std::vector<InputInfo>& inputs) {
    PARE_RETURN_IF_ERROR(check_input_count(node, inputs, 2, 3));
    PARE_RETURN_IF_ERROR(check_input_dtype(node, inputs, 0, kConvTypes));
    const Shape& x = inputs[0].shape;
    const Shape& w = inputs[1].shape;
    if (x.size() < 3 || w.size() != x.size()) {
        return invalid_input(node.describe() + ": expects X [N, C, spatial...] and weights of the same rank, got " +
                             shape_to_string(x) + " and " + shape_to_string(w));
    }
    const bool has_bias = inputs.size() > 2 && inputs[2].present;
    if (inputs[1].dtype != inputs[0].dtype || (has_bias && inputs[2].dtype != inputs[0].dtype)) {
        return invalid_input(node.describe() + ": X, W and B must share one dtype");
    }
    return Status();
}

Status check_bias(const Node& node, const std::vector<InputInfo>& inputs, int64_t channels) {
    if (inputs.size() > 2 && inputs[2].present && inputs[2].shape != Shape{channels}) {
        return invalid_input(node.describe() + ": bias shape " + shape_to_string(inputs[2].shape) + " is not [" +
                             std::to_string(channels) + "]");
    }
    return Status();
}

// Starts every output channel plane of `dst` (size [channels x plane]) at its bias, or zero.
template <class T>
void fill_bias(const Tensor& bias, int64_t channels, int64_t plane, T* dst) {
    for (int64_t m = 0; m < channels; ++m) {
        std::fill(dst + m * plane, dst + (m + 1) * plane, bias.defined() ? bias.data<T>()[m] : T(0));
    }
}

class ConvKernel : public Kernel {
  public:
    ConvKernel(const Node& node, WindowAttributes attributes)
        : node_(node), attributes_(std::move(attributes)), group_(node.attr_int("group", 1)) {}

    Status prepare(const std::vector<InputInfo>& inputs, std::vector<OutputInfo>& outputs) override {
        PARE_RETURN_IF_ERROR(check_conv_inputs(node_, inputs));
        const Shape& x = inputs[0].shape;
        const Shape& w = inputs[1].shape;
        if (group_ < 1 || x[1] % group_ != 0 || w[0] % group_ != 0 || w[1] * group_ != x[1]) {
            return invalid_input(node_.describe() + ": group " + std::to_string(group_) + " does not fit X " +
                                 shape_to_string(x) + " and W " + shape_to_string(w));
        }
        PARE_RETURN_IF_ERROR(check_bias(node_, inputs, w[0]));
        PARE_ASSIGN_OR_RETURN(geometry_, forward_window_geometry(node_, attributes_, Shape(x.begin() + 2, x.end()),
                                                                 Shape(w.begin() + 2, w.end())));
        offsets_ = tap_offset_table(geometry_);
        Shape out = {x[0], w[0]};
        out.insert(out.end(), geometry_.output.begin(), geometry_.output.end());
        outputs = {OutputInfo{inputs[0].dtype, out}};
        return Status();
    }

    Status run(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs) override {
        const Tensor x = widen(inputs[0]), w = widen(inputs[1]);
        const Tensor bias = inputs.size() > 2 ? widen(inputs[2]) : Tensor();
        Tensor dst = compute_buffer(outputs[0]);
        if (x.dtype() == DType::kF64)
            compute<double>(x, w, bias, dst);
        else
            compute<float>(x, w, bias, dst);
        narrow_into(dst, outputs[0]);
        return Status();
    }

  private:
    template <class T>
    void compute(const Tensor& x, const Tensor& w, const Tensor& bias, Tensor& dst) const {
        const int64_t batch = x.shape()[0], channels = x.shape()[1], out_channels = w.shape()[0];
        const int64_t group_channels = channels / group_, group_out_channels = out_channels / group_;
        const int64_t in_plane = shape_numel(geometry_.input), out_plane = shape_numel(geometry_.output);
        const int64_t taps = shape_numel(geometry_.kernel), row = group_channels * taps;
        // columns[p][c * taps + t]: input channel c under tap t of output position p; matches W's [c, taps] rows.
        std::vector<T> columns(static_cast<size_t>(out_plane * row));
        const T* src = x.data<T>();
        const T* weights = w.data<T>();
        T* out = dst.data<T>();
        fill_bias(bias, out_channels, out_plane, out);
        for (int64_t b = 1; b < batch; ++b)
            std::copy_n(out, out_channels * out_plane, out + b * out_channels * out_plane);
        for (int64_t n = 0; n < batch; ++n) {
            for (int64_t g = 0; g < group_; ++g) {
                const T* image = src + (n * channels + g * group_channels) * in_plane;
#pragma omp parallel for if (out_plane * row > 65536)
                for (int64_t p = 0; p < out_plane; ++p) {
                    T* column = columns.data() + p * row;
                    const int64_t* tap_offsets = offsets_.data() + p * taps;
                    for (int64_t c = 0; c < group_channels; ++c) {
                        for (int64_t t = 0; t < taps; ++t) {
                            column[c * taps + t] = tap_offsets[t] < 0 ? T(0) : image[c * in_plane + tap_offsets[t]];
                        }
                    }
                }
                T* dst_group = out + (n * out_channels + g * group_out_channels) * out_plane;
                reference_gemm<T>(false, true, group_out_channels, out_plane, row, 1.0,
                                  weights + g * group_out_channels * row, row, columns.data(), row, 1.0, dst_group,
                                  out_plane);
            }
        }
    }

    const Node& node_;
    WindowAttributes attributes_;
    int64_t group_;
    WindowGeometry geometry_;
    std::vector<int64_t> offsets_;  // tap_offset_table(geometry_)
};

class ConvTransposeKernel : public Kernel {
  public:
    ConvTransposeKernel(const Node& node, WindowAttributes attributes)
        : node_(node), attributes_(std::move(attributes)), group_(node.attr_int("group", 1)) {}

    Status prepare(const std::vector<InputInfo>& inputs, std::vector<OutputInfo>& outputs) override {
        PARE_RETURN_IF_ERROR(check_conv_inputs(node_, inputs));
        const Shape& x = inputs[0].shape;
        const Shape& w = inputs[1].shape;
        if (group_ < 1 || x[1] % group_ != 0 || w[0] != x[1]) {
            return invalid_input(node_.describe() + ": group " + std::to_string(group_) + " does not fit X " +
                                 shape_to_string(x) + " and W " + shape_to_string(w));
        }
        const int64_t out_channels = w[1] * group_;
        PARE_RETURN_IF_ERROR(check_bias(node_, inputs, out_channels));
        PARE_ASSIGN_OR_RETURN(geometry_, transpose_window_geometry(node_, attributes_, Shape(x.begin() + 2, x.end()),
                                                                   Shape(w.begin() + 2, w.end())));
        // ConvTranspose is the adjoint of the Conv that maps its output back to its input: the same taps with the
        // roles of input and output swapped. offsets_[p * taps + t]: where input position p sends tap t.
        WindowGeometry adjoint = geometry_;
        std::swap(adjoint.input, adjoint.output);
        offsets_ = tap_offset_table(adjoint);
        Shape out = {x[0], out_channels};
        out.insert(out.end(), geometry_.output.begin(), geometry_.output.end());
        outputs = {OutputInfo{inputs[0].dtype, out}};
        return Status();
    }

    Status run(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs) override {
        const Tensor x = widen(inputs[0]), w = widen(inputs[1]);
        const Tensor bias = inputs.size() > 2 ? widen(inputs[2]) : Tensor();
        Tensor dst = compute_buffer(outputs[0]);
        if (x.dtype() == DType::kF64)
            compute<double>(x, w, bias, dst);
        else
            compute<float>(x, w, bias, dst);
        narrow_into(dst, outputs[0]);
        return Status();
    }

  private:
    template <class T>
    void compute(const Tensor& x, const Tensor& w, const Tensor& bias, Tensor& dst) const {
        const int64_t batch = x.shape()[0], channels = x.shape()[1];
        const int64_t group_channels = channels / group_, group_out_channels = w.shape()[1];
        const int64_t out_channels = group_out_channels * group_;
        const int64_t in_plane = shape_numel(geometry_.input), out_plane = shape_numel(geometry_.output);
        const int64_t taps = shape_numel(geometry_.kernel), rows = group_out_channels * taps;
        std::vector<T> columns(static_cast<size_t>(rows * in_plane));  // [m * taps + t][p]
        const T* src = x.data<T>();
        const T* weights = w.data<T>();
        T* out = dst.data<T>();
        for (int64_t n = 0; n < batch; ++n) {
            for (int64_t g = 0; g < group_; ++g) {
                // columns = W_g^T * X_g, where W_g is [group_channels x rows] and X_g is [group_channels x in_plane].
                reference_gemm<T>(true, false, rows, in_plane, group_channels, 1.0, weights + g * group_channels * rows,
                                  rows, src + (n * channels + g * group_channels) * in_plane, in_plane, 0.0,
                                  columns.data(), in_plane);
#pragma omp parallel for if (rows * in_plane > 65536)
                for (int64_t m = 0; m < group_out_channels; ++m) {
                    const int64_t channel = g * group_out_channels + m;
                    std::vector<double> sums(static_cast<size_t>(out_plane),
                                             bias.defined() ? static_cast<double>(bias.data<T>()[channel]) : 0.0);
                    for (int64_t t = 0; t < taps; ++t) {
                        const T* column = columns.data() + (m * taps + t) * in_plane;
                        for (int64_t p = 0; p < in_plane; ++p) {
                            const int64_t offset = offsets_[p * taps + t];
                            if (offset >= 0) sums[offset] += column[p];
                        }
                    }
                    T* plane = out + (n * out_channels + channel) * out_plane;
                    for (int64_t o = 0; o < out_plane; ++o) plane[o] = static_cast<T>(sums[o]);
                }
            }
        }
    }

    const Node& node_;
    WindowAttributes attributes_;
    int64_t group_;
    WindowGeometry geometry_;
    std::vector<int64_t> offsets_;  // tap_offset_table of the adjoint geometry
};

template <class KernelType>
KernelFactory conv_factory() {
    return [](const KernelContext& context) -> Result<KernelPtr> {
        PARE_ASSIGN_OR_RETURN(WindowAttributes attributes, read_window_attributes(context.node));
        return KernelPtr(new KernelType(context.node, std::move(attributes)));
    };
}

}  // namespace

void register_conv_kernels(KernelRegistry& registry) {
    registry.add_reference("Conv", conv_factory<ConvKernel>());
    registry.add_reference("ConvTranspose", conv_factory<ConvTransposeKernel>());
}

}  // namespace pare
