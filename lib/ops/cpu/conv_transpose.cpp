// oneDNN deconvolution for float32 ConvTranspose. ONNX stores the weights as [C, M/group, k...] (input channels
// first); oneDNN wants [group, M/group, C/group, k...]: the weights are described with those strides and reordered
// once into the primitive's layout. Activations are reordered to and from the primitive's layout like Conv's.
#include "ops/cpu/dnnl_kernel.h"
#include "ops/cpu/dnnl_window.h"
#include "ops/kernel_util.h"
#include "ops/register_kernels.h"
#include "ops/registry.h"

namespace pare {

namespace {

using tag = dnnl::memory::format_tag;

class DnnlConvTranspose : public DnnlKernel {
public:
    using DnnlKernel::DnnlKernel;

protected:
    Status prepare_dnnl(const std::vector<InputInfo>& inputs, std::vector<OutputInfo>& outputs) override {
        const Node& n = node();
        PARE_RETURN_IF_ERROR(check_input_count(n, inputs, 2, 3));
        for (const auto& input : inputs) {
            if (input.present && input.dtype != DType::kF32) return unsupported("only float32 ConvTranspose");
        }
        const Shape& x = inputs[0].shape;
        const Shape& w = inputs[1].shape;
        if (x.size() < 3 || x.size() > 5 || w.size() != x.size()) {
            return unsupported("ConvTranspose of input " + shape_to_string(x) + " and weights " + shape_to_string(w));
        }
        const int64_t group = n.attr_int("group", 1), channels = x[1];
        if (group < 1 || w[0] != channels || channels % group != 0) {
            return invalid_input(n.describe() + ": input " + shape_to_string(x) + ", weights " + shape_to_string(w) +
                                 " and group " + std::to_string(group) + " do not match");
        }
        const int64_t filters = w[1] * group, per_group_in = channels / group, per_group_out = w[1];
        const Shape x_spatial(x.begin() + 2, x.end()), w_spatial(w.begin() + 2, w.end());
        PARE_ASSIGN_OR_RETURN(DnnlWindow window, dnnl_transpose_window(n, x_spatial, w_spatial));
        Shape y = {x[0], filters};
        y.insert(y.end(), window.output.begin(), window.output.end());
        outputs = {OutputInfo{DType::kF32, y}};
        has_bias_ = inputs.size() > 2 && inputs[2].present;
        if (has_bias_ && inputs[2].shape != Shape{filters}) {
            return invalid_input(n.describe() + ": bias " + shape_to_string(inputs[2].shape) + " for " +
                                 std::to_string(filters) + " output channels");
        }
        const int64_t taps = shape_numel(w_spatial);
        set_work(2.0 * static_cast<double>(shape_numel(x)) * static_cast<double>(per_group_out * taps),
                 4.0 * static_cast<double>(shape_numel(x) + shape_numel(y) + shape_numel(w)));

        // Weights [C, M/g, k...] seen as [g, M/g, C/g, k...].
        dnnl::memory::dims w_dims = {group, per_group_out, per_group_in};
        dnnl::memory::dims w_strides = {per_group_in * per_group_out * taps, taps, per_group_out * taps};
        const std::vector<int64_t> spatial_strides = shape_strides(w_spatial);
        w_dims.insert(w_dims.end(), w_spatial.begin(), w_spatial.end());
        w_strides.insert(w_strides.end(), spatial_strides.begin(), spatial_strides.end());
        const dnnl::memory::desc user_w(w_dims, dnnl::memory::data_type::f32, w_strides);
        const dnnl::memory::desc any_w(w_dims, dnnl::memory::data_type::f32, tag::any);
        const dnnl::memory::desc user_x = plain_desc(x, DType::kF32), user_y = plain_desc(y, DType::kF32);
        const dnnl::memory::desc any_x(dnnl_dims(x), dnnl::memory::data_type::f32, tag::any);
        const dnnl::memory::desc any_y(dnnl_dims(y), dnnl::memory::data_type::f32, tag::any);
        const dnnl::memory::desc bias = has_bias_ ? plain_desc({filters}, DType::kF32) : dnnl::memory::desc();
        const dnnl::deconvolution_forward::primitive_desc pd(
            dnnl::deconvolution_forward::desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::deconvolution_direct,
                                              any_x, any_w, bias, any_y, window.strides, window.dilations,
                                              window.padding_l, window.padding_r),
            dnnl_engine());
        step_ = DnnlStep(dnnl::deconvolution_forward(pd), {});
        weights_constant_ = inputs[1].value.has_value();
        if (weights_constant_) {
            step_.bind(DNNL_ARG_WEIGHTS, reorder_constant(*inputs[1].value, user_w, pd.weights_desc()));
        } else {
            weights_.bind(step_, DNNL_ARG_WEIGHTS, user_w, pd.weights_desc(), true);
        }
        if (has_bias_) step_.bind(DNNL_ARG_BIAS, dnnl::memory(bias, dnnl_engine(), DNNL_MEMORY_NONE));
        src_.bind(step_, DNNL_ARG_SRC, user_x, pd.src_desc(), true);
        dst_.bind(step_, DNNL_ARG_DST, user_y, pd.dst_desc(), false);
        return Status();
    }

    Status run_dnnl(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs) override {
        src_.set(step_, inputs[0].raw());
        if (!weights_constant_) weights_.set(step_, inputs[1].raw());
        if (has_bias_) step_.set_data(DNNL_ARG_BIAS, inputs[2].raw());
        dst_.set(step_, outputs[0].raw());
        step_.execute();
        dst_.finish(outputs[0].raw());
        return Status();
    }

private:
    bool has_bias_ = false;
    bool weights_constant_ = true;
    DnnlStep step_;
    DnnlArg src_, weights_, dst_;
};

}  // namespace

void register_onednn_conv_transpose_kernels(KernelRegistry& registry) {
    registry.add(KernelEntry{"", "ConvTranspose", "onednn", Backend::kCpu, 10,
                             [](const KernelContext& context) -> Result<KernelPtr> {
                                 return KernelPtr(new DnnlConvTranspose(context));
                             }});
}

}  // namespace pare
