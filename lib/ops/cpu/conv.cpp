// oneDNN convolution for Conv and QLinearConv, ai.onnx and pare's private extensions (fused activation, added input Z,
// channels-last data). Weights are reordered once into the layout the primitive asks for. Channels-first activations are reordered in and
// out of the primitive's own layout around each run: oneDNN's channels-first convolution is an im2col + GEMM that
// measured 2-30x slower than its channels-last kernels plus both reorders on the sample models' layers
// (docs/engine_layouts.md); the channels_last pass removes most of those reorders.
#include "graph/fused_ops.h"
#include "ops/cpu/dnnl_int8.h"
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

// Conv (float32) and QLinearConv (int8) share everything but the element types and the attributes.
class DnnlConv : public DnnlKernel {
public:
    DnnlConv(const KernelContext& context, bool quantized, Activation activation, bool channels_last, int added)
        : DnnlKernel(context), quantized_(quantized), activation_(activation), channels_last_(channels_last),
          added_(added), w_input_(quantized ? 3 : 1), bias_input_(quantized ? 8 : 2) {}

protected:
    Status prepare_dnnl(const std::vector<InputInfo>& inputs, std::vector<OutputInfo>& outputs) override {
        const Node& n = node();
        const int max_inputs = quantized_ ? 9 : added_ >= 0 ? added_ + 1 : 3;
        PARE_RETURN_IF_ERROR(check_input_count(n, inputs, quantized_ ? 8 : 2, max_inputs));
        DnnlInt8Params int8;
        if (quantized_) {
            PARE_ASSIGN_OR_RETURN(int8, read_int8_params(n, inputs, 0));
        } else {
            for (const auto& input : inputs) {
                if (input.present && input.dtype != DType::kF32) return unsupported("only float32 convolution");
            }
        }
        const Shape& stored_x = inputs[0].shape;
        const Shape& w_shape = inputs[w_input_].shape;
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
        const DType x_type = inputs[0].dtype, y_type = quantized_ ? int8.y_type : DType::kF32;
        outputs = {OutputInfo{y_type, stored_y}};

        has_bias_ = static_cast<int>(inputs.size()) > bias_input_ && inputs[bias_input_].present;
        if (has_bias_ && inputs[bias_input_].shape != Shape{filters}) {
            return invalid_input(n.describe() + ": bias " + shape_to_string(inputs[bias_input_].shape) + " for " +
                                 std::to_string(filters) + " filters");
        }
        if (has_bias_ && inputs[bias_input_].dtype != (quantized_ ? DType::kI32 : DType::kF32)) {
            return invalid_input(n.describe() + ": bias of type " + dtype_name(inputs[bias_input_].dtype));
        }
        has_added_ = added_ >= 0 && static_cast<int>(inputs.size()) > added_ && inputs[added_].present;
        if (has_added_ && inputs[added_].shape != stored_y) return unsupported("the added input broadcasts");

        set_work(2.0 * static_cast<double>(shape_numel(y)) * static_cast<double>(shape_numel(w_shape) / filters),
                 static_cast<double>(dtype_storage_bytes(x_type, shape_numel(x)) +
                                     dtype_storage_bytes(y_type, shape_numel(y)) + shape_numel(w_shape)));
        const dnnl::memory::desc user_x = user_desc(x, x_type), user_y = user_desc(y, y_type);
        const dnnl::memory::desc any_x(dnnl_dims(x), dnnl_data_type(x_type), tag::any);
        const dnnl::memory::desc any_y(dnnl_dims(y), dnnl_data_type(y_type), tag::any);
        Shape w_grouped = w_shape;
        if (group > 1) {
            w_grouped[0] = filters / group;
            w_grouped.insert(w_grouped.begin(), group);
        }
        const DType w_type = quantized_ ? DType::kI8 : DType::kF32;
        const dnnl::memory::desc user_w = plain_desc(w_grouped, w_type);
        const dnnl::memory::desc any_w(dnnl_dims(w_grouped), dnnl_data_type(w_type), tag::any);
        const dnnl::memory::desc bias_desc =
            has_bias_ ? plain_desc({filters}, quantized_ ? DType::kI32 : DType::kF32) : dnnl::memory::desc();

        dnnl::primitive_attr attr;
        if (quantized_) {
            PARE_RETURN_IF_ERROR(set_int8_attr(int8, activation_, 1 << 1, attr));
        } else {
            dnnl::post_ops ops;
            if (has_added_) ops.append_binary(dnnl::algorithm::binary_add, user_y);
            if (!append_activation(ops, activation_)) return unsupported("activation has no oneDNN post-op");
            attr.set_post_ops(ops);
        }
        const dnnl::convolution_forward::desc desc(
            dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct, channels_last_ ? user_x : any_x,
            any_w, bias_desc, channels_last_ ? user_y : any_y, window.strides, window.dilations, window.padding_l,
            window.padding_r);
        const dnnl::convolution_forward::primitive_desc pd = pick_convolution(desc, attr);

        step_ = DnnlStep(dnnl::convolution_forward(pd), {});
        weights_constant_ = quantized_ || inputs[w_input_].value.has_value();
        if (quantized_) {
            step_.bind(DNNL_ARG_WEIGHTS, reorder_constant(int8.weights, user_w, pd.weights_desc()));
            bind_int8_zero_points(int8, step_);
        } else if (weights_constant_) {
            step_.bind(DNNL_ARG_WEIGHTS, reorder_constant(*inputs[w_input_].value, user_w, pd.weights_desc()));
        } else {
            weights_.bind(step_, DNNL_ARG_WEIGHTS, user_w, pd.weights_desc(), true);
        }
        if (has_bias_) step_.bind(DNNL_ARG_BIAS, dnnl::memory(bias_desc, dnnl_engine(), DNNL_MEMORY_NONE));
        if (has_added_) step_.bind(kAddedArg, dnnl::memory(user_y, dnnl_engine(), DNNL_MEMORY_NONE));
        src_.bind(step_, DNNL_ARG_SRC, user_x, pd.src_desc(), true);
        dst_.bind(step_, DNNL_ARG_DST, user_y, pd.dst_desc(), false);
        return Status();
    }

    Status run_dnnl(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs) override {
        src_.set(step_, inputs[0].raw());
        if (!weights_constant_) weights_.set(step_, inputs[w_input_].raw());
        if (has_bias_) step_.set_data(DNNL_ARG_BIAS, inputs[bias_input_].raw());
        if (has_added_) step_.set_data(kAddedArg, inputs[added_].raw());
        dst_.set(step_, outputs[0].raw());
        step_.execute();
        dst_.finish(outputs[0].raw());
        return Status();
    }

private:
    static constexpr int kAddedArg = DNNL_ARG_ATTR_MULTIPLE_POST_OP(0) | DNNL_ARG_SRC_1;

    dnnl::memory::desc user_desc(const Shape& logical, DType dtype) const {
        return channels_last_ ? channels_last_desc(logical, dtype) : plain_desc(logical, dtype);
    }

    bool quantized_;
    Activation activation_;
    bool channels_last_;
    int added_;
    int w_input_;
    int bias_input_;
    bool has_bias_ = false;
    bool has_added_ = false;
    DnnlStep step_;
    DnnlArg src_, weights_, dst_;
    bool weights_constant_ = true;
};

Result<KernelPtr> create_conv(const KernelContext& context) {
    const Node& node = context.node;
    const bool quantized = node.op_type() == "QLinearConv";
    Activation activation;
    bool channels_last = false;
    int added = -1;
    if (is_pare_node(node)) {
        PARE_ASSIGN_OR_RETURN(activation, activation_of_private(node));
        channels_last = is_channels_last(node);
        added = private_added_input(node.op_type());
    }
    dnnl::post_ops probe;
    if (!quantized && !append_activation(probe, activation)) return unsupported("activation has no oneDNN post-op");
    return KernelPtr(new DnnlConv(context, quantized, activation, channels_last, added));
}

}  // namespace

void register_onednn_conv_kernels(KernelRegistry& registry) {
    for (const char* domain : {"", kPareDomain}) {
        for (const char* op : {"Conv", "QLinearConv"}) {
            registry.add(KernelEntry{domain, op, "onednn", Backend::kCpu, 10, create_conv});
        }
    }
}

}  // namespace pare
