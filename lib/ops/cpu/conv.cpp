// oneDNN convolution for ai.onnx Conv and pare's private Conv (fused activation, added input Z, channels-last data).
// Weights are reordered once into the layout the primitive asks for. Channels-first activations are reordered in and
// out of the primitive's own layout around each run: oneDNN's channels-first convolution is an im2col + GEMM that
// measured 2-30x slower than its channels-last kernels plus both reorders on the sample models' layers
// (docs/engine_layouts.md); the channels_last pass removes most of those reorders.
#include "graph/fused_ops.h"
#include "ops/cpu/dnnl_kernel.h"
#include "ops/cpu/dnnl_window.h"
#include "ops/kernel_util.h"
#include "ops/register_kernels.h"
#include "ops/registry.h"

namespace pare {

namespace {

using tag = dnnl::memory::format_tag;

// oneDNN 2.6 lists its brgemm-based convolutions first, but on this project's machines (AVX-512) its direct JIT
// kernels (jit, jit_dw, jit_1x1) measured up to 40% faster at batch 64 on the sample models' layers, and within 15%
// either way at batch 1 (docs/engine_layouts.md): take the first AVX-512 direct JIT kernel that accepts the
// problem, else oneDNN's first choice. Deterministic: the choice depends on the problem only, never on timing.
dnnl::convolution_forward::primitive_desc pick_convolution(const dnnl::convolution_forward::desc& desc,
                                                           const dnnl::primitive_attr& attr) {
    dnnl::convolution_forward::primitive_desc walker(desc, attr, dnnl_engine());
    do {
        const std::string impl = walker.impl_info_str();
        if (impl.rfind("jit", 0) == 0 && impl.find("avx512") != std::string::npos) return walker;
    } while (walker.next_impl());
    return dnnl::convolution_forward::primitive_desc(desc, attr, dnnl_engine());
}

class DnnlConv : public DnnlKernel {
public:
    DnnlConv(const KernelContext& context, Activation activation, bool channels_last, int added)
        : DnnlKernel(context), activation_(activation), channels_last_(channels_last), added_(added) {}

protected:
    Status prepare_dnnl(const std::vector<InputInfo>& inputs, std::vector<OutputInfo>& outputs) override {
        const Node& n = node();
        PARE_RETURN_IF_ERROR(check_input_count(n, inputs, 2, added_ >= 0 ? added_ + 1 : 3));
        for (size_t i = 0; i < inputs.size(); ++i) {
            if (inputs[i].present && inputs[i].dtype != DType::kF32) return unsupported("only float32 convolution");
        }
        const Shape& stored_x = inputs[0].shape;
        const Shape& w_shape = inputs[1].shape;
        if (stored_x.size() < 3 || stored_x.size() > 5 || w_shape.size() != stored_x.size()) {
            return stored_x.size() == w_shape.size() ? unsupported("only 1-D, 2-D and 3-D convolutions")
                                                     : invalid_input(n.describe() + ": input " + shape_to_string(stored_x) +
                                                                     " and weights " + shape_to_string(w_shape) +
                                                                     " have different ranks");
        }
        const Shape x = channels_last_ ? channels_first_shape(stored_x) : stored_x;
        const int64_t group = n.attr_int("group", 1), channels = x[1], filters = w_shape[0];
        if (group < 1 || channels % group != 0 || w_shape[1] * group != channels || filters % group != 0) {
            return invalid_input(n.describe() + ": input " + shape_to_string(x) + ", weights " +
                                 shape_to_string(w_shape) + " and group " + std::to_string(group) + " do not match");
        }
        const Shape x_spatial(x.begin() + 2, x.end()), w_spatial(w_shape.begin() + 2, w_shape.end());
        PARE_ASSIGN_OR_RETURN(DnnlWindow window, dnnl_forward_window(n, x_spatial, w_spatial));
        Shape y = {x[0], filters};
        y.insert(y.end(), window.output.begin(), window.output.end());
        const Shape stored_y = channels_last_ ? channels_last_shape(y) : y;
        outputs = {OutputInfo{DType::kF32, stored_y}};

        const bool has_bias = inputs.size() > 2 && inputs[2].present;
        if (has_bias && inputs[2].shape != Shape{filters}) {
            return invalid_input(n.describe() + ": bias " + shape_to_string(inputs[2].shape) + " for " +
                                 std::to_string(filters) + " filters");
        }
        has_added_ = added_ >= 0 && static_cast<int>(inputs.size()) > added_ && inputs[added_].present;
        if (has_added_ && inputs[added_].shape != stored_y) return unsupported("the added input broadcasts");

        set_work(2.0 * static_cast<double>(shape_numel(y)) * static_cast<double>(shape_numel(w_shape) / filters),
                 4.0 * static_cast<double>(shape_numel(x) + shape_numel(y) + shape_numel(w_shape)));
        const dnnl::memory::desc user_x = user_desc(x), user_y = user_desc(y);
        const dnnl::memory::desc any_x(dnnl_dims(x), dnnl::memory::data_type::f32, tag::any);
        const dnnl::memory::desc any_y(dnnl_dims(y), dnnl::memory::data_type::f32, tag::any);
        Shape w_grouped = w_shape;
        if (group > 1) {
            w_grouped[0] = filters / group;
            w_grouped.insert(w_grouped.begin(), group);
        }
        const dnnl::memory::desc user_w = plain_desc(w_grouped, DType::kF32);
        const dnnl::memory::desc any_w(dnnl_dims(w_grouped), dnnl::memory::data_type::f32, tag::any);
        const dnnl::memory::desc bias_desc = has_bias ? plain_desc({filters}, DType::kF32) : dnnl::memory::desc();

        dnnl::post_ops ops;
        if (has_added_) ops.append_binary(dnnl::algorithm::binary_add, user_y);
        if (!append_activation(ops, activation_)) return unsupported("activation has no oneDNN post-op");
        dnnl::primitive_attr attr;
        attr.set_post_ops(ops);
        const dnnl::convolution_forward::desc desc(
            dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct, channels_last_ ? user_x : any_x,
            any_w, bias_desc, channels_last_ ? user_y : any_y, window.strides, window.dilations, window.padding_l,
            window.padding_r);
        const dnnl::convolution_forward::primitive_desc pd = pick_convolution(desc, attr);

        step_ = DnnlStep(dnnl::convolution_forward(pd), {});
        if (inputs[1].value) {
            step_.bind(DNNL_ARG_WEIGHTS, reorder_constant(*inputs[1].value, user_w, pd.weights_desc()));
            weights_constant_ = true;
        } else {
            weights_.bind(step_, DNNL_ARG_WEIGHTS, user_w, pd.weights_desc(), true);
            weights_constant_ = false;
        }
        if (has_bias) step_.bind(DNNL_ARG_BIAS, dnnl::memory(bias_desc, dnnl_engine(), DNNL_MEMORY_NONE));
        if (has_added_) {
            step_.bind(DNNL_ARG_ATTR_MULTIPLE_POST_OP(0) | DNNL_ARG_SRC_1,
                       dnnl::memory(user_y, dnnl_engine(), DNNL_MEMORY_NONE));
        }
        src_.bind(step_, DNNL_ARG_SRC, user_x, pd.src_desc(), true);
        dst_.bind(step_, DNNL_ARG_DST, user_y, pd.dst_desc(), false);
        return Status();
    }

    Status run_dnnl(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs) override {
        src_.set(step_, inputs[0].raw());
        if (!weights_constant_) weights_.set(step_, inputs[1].raw());
        if (inputs.size() > 2 && inputs[2].defined()) step_.set_data(DNNL_ARG_BIAS, inputs[2].raw());
        if (has_added_) step_.set_data(DNNL_ARG_ATTR_MULTIPLE_POST_OP(0) | DNNL_ARG_SRC_1, inputs[added_].raw());
        dst_.set(step_, outputs[0].raw());
        step_.execute();
        dst_.finish(outputs[0].raw());
        return Status();
    }

private:
    dnnl::memory::desc user_desc(const Shape& logical) const {
        return channels_last_ ? channels_last_desc(logical, DType::kF32) : plain_desc(logical, DType::kF32);
    }

    Activation activation_;
    bool channels_last_;
    int added_;
    bool has_added_ = false;
    DnnlStep step_;
    DnnlArg src_, weights_, dst_;
    bool weights_constant_ = true;
};

Result<KernelPtr> create_conv(const KernelContext& context) {
    const Node& node = context.node;
    Activation activation;
    bool channels_last = false;
    int added = -1;
    if (is_pare_node(node)) {
        PARE_ASSIGN_OR_RETURN(activation, activation_of_private(node));
        channels_last = is_channels_last(node);
        added = private_added_input("Conv");
    }
    dnnl::post_ops probe;
    if (!append_activation(probe, activation)) return unsupported("activation has no oneDNN post-op");
    return KernelPtr(new DnnlConv(context, activation, channels_last, added));
}

}  // namespace

void register_onednn_conv_kernels(KernelRegistry& registry) {
    registry.add(KernelEntry{"", "Conv", "onednn", Backend::kCpu, 10, create_conv});
    registry.add(KernelEntry{kPareDomain, "Conv", "onednn", Backend::kCpu, 10, create_conv});
}

}  // namespace pare
