#include "ops/cpu/dnnl_int8.h"

namespace pare {

namespace {

bool is_int8(DType dtype) { return dtype == DType::kU8 || dtype == DType::kI8; }

dnnl::memory zero_point_memory(int32_t value) {
    dnnl::memory memory(dnnl::memory::desc({1}, dnnl::memory::data_type::s32, dnnl::memory::format_tag::x),
                        dnnl_engine());
    *static_cast<int32_t*>(memory.get_data_handle()) = value;
    return memory;
}

}  // namespace

Result<DnnlInt8Params> read_int8_params(const Node& node, const std::vector<InputInfo>& inputs, int channel_axis) {
    if (inputs.size() < 8) return invalid_input(node.describe() + " needs 8 inputs");
    for (int i : {1, 2, 3, 4, 5, 6, 7}) {
        if (!inputs[i].present || !inputs[i].value) return unsupported("quantization parameters that are not constant");
    }
    for (int i : {1, 4, 6}) {
        if (inputs[i].dtype != DType::kF32) return unsupported("scales that are not float32");
    }
    if (!is_int8(inputs[0].dtype) || !is_int8(inputs[3].dtype) || !is_int8(inputs[7].dtype)) {
        return unsupported("types other than int8 and uint8");
    }
    if (inputs[1].value->numel() != 1 || inputs[2].value->numel() != 1 || inputs[6].value->numel() != 1 ||
        inputs[7].value->numel() != 1) {
        return unsupported("x or y quantized per axis");
    }
    DnnlInt8Params p;
    p.x_zero = static_cast<int32_t>(inputs[2].value->element_as_double(0));
    p.y_zero = static_cast<int32_t>(inputs[7].value->element_as_double(0));
    p.y_scale = inputs[6].value->data<float>()[0];
    p.y_type = inputs[7].dtype;
    const float x_scale = inputs[1].value->data<float>()[0];

    const Tensor& w = *inputs[3].value;
    const Shape& shape = w.shape();
    if (channel_axis >= w.rank()) return invalid_input(node.describe() + ": weights " + shape_to_string(shape));
    const int64_t channels = shape[channel_axis];
    const int64_t outer = shape_numel(Shape(shape.begin(), shape.begin() + channel_axis));
    const int64_t inner = shape_numel(Shape(shape.begin() + channel_axis + 1, shape.end()));
    const Tensor& w_scale = *inputs[4].value;
    const Tensor& w_zero = *inputs[5].value;
    for (const Tensor* t : {&w_scale, &w_zero}) {
        if (t->numel() != 1 && t->numel() != channels) {
            return invalid_input(node.describe() + ": weight scale or zero point of " + shape_to_string(t->shape()) +
                                 " for " + std::to_string(channels) + " channels");
        }
    }
    for (int64_t c = 0; c < w_scale.numel(); ++c) {
        p.scales.push_back(x_scale * w_scale.data<float>()[c] / p.y_scale);  // the reference's multiplier, same order
    }
    p.weights = Tensor(DType::kI8, shape);
    int8_t* dst = p.weights.data<int8_t>();
    for (int64_t o = 0; o < outer; ++o) {
        for (int64_t c = 0; c < channels; ++c) {
            const double zero = w_zero.element_as_double(w_zero.numel() == 1 ? 0 : c);
            for (int64_t i = 0; i < inner; ++i) {
                const int64_t index = (o * channels + c) * inner + i;
                const double centered = w.element_as_double(index) - zero;
                if (centered < -128 || centered > 127) return unsupported("weights minus zero point leave int8");
                dst[index] = static_cast<int8_t>(centered);
            }
        }
    }
    return p;
}

Status set_int8_attr(const DnnlInt8Params& params, const Activation& activation, int channel_mask,
                     dnnl::primitive_attr& attr) {
    attr.set_output_scales(params.scales.size() == 1 ? 0 : channel_mask, params.scales);
    if (params.x_zero != 0) attr.set_zero_points(DNNL_ARG_SRC, 0, {DNNL_RUNTIME_S32_VAL});
    if (params.y_zero != 0) attr.set_zero_points(DNNL_ARG_DST, 0, {DNNL_RUNTIME_S32_VAL});
    dnnl::post_ops ops;
    switch (activation.kind) {
        case ActivationKind::kNone: break;
        case ActivationKind::kRelu: ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f); break;
        case ActivationKind::kClip:
            ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_clip, activation.alpha / params.y_scale,
                               activation.beta / params.y_scale);
            break;
        default: return unsupported("a quantized activation other than Relu and Clip");
    }
    attr.set_post_ops(ops);
    return Status();
}

void bind_int8_zero_points(const DnnlInt8Params& params, DnnlStep& step) {
    if (params.x_zero != 0) step.bind(DNNL_ARG_ATTR_ZERO_POINTS | DNNL_ARG_SRC, zero_point_memory(params.x_zero));
    if (params.y_zero != 0) step.bind(DNNL_ARG_ATTR_ZERO_POINTS | DNNL_ARG_DST, zero_point_memory(params.y_zero));
}

}  // namespace pare
