#include "ops/cpu/dnnl_util.h"

namespace pare {

using dt = dnnl::memory::data_type;

const dnnl::engine& dnnl_engine() {
    static const dnnl::engine engine(dnnl::engine::kind::cpu, 0);
    return engine;
}

dnnl::stream& dnnl_stream() {
    thread_local dnnl::stream stream(dnnl_engine());
    return stream;
}

dt dnnl_data_type(DType dtype) {
    switch (dtype) {
        case DType::kF32: return dt::f32;
        case DType::kF16: return dt::f16;
        case DType::kBF16: return dt::bf16;
        case DType::kI32: return dt::s32;
        case DType::kI8: return dt::s8;
        case DType::kU8: return dt::u8;
        default: return dt::undef;
    }
}

dnnl::memory::dims dnnl_dims(const Shape& shape) {
    if (shape.empty()) return {1};
    return dnnl::memory::dims(shape.begin(), shape.end());
}

dnnl::memory::desc plain_desc(const Shape& shape, DType dtype) {
    const dnnl::memory::dims dims = dnnl_dims(shape);
    const std::vector<int64_t> strides = shape_strides(shape.empty() ? Shape{1} : shape);
    return dnnl::memory::desc(dims, dnnl_data_type(dtype), dnnl::memory::dims(strides.begin(), strides.end()));
}

dnnl::memory::desc channels_last_desc(const Shape& shape, DType dtype) {
    // Strides of the N, spatial..., C order, mapped back to the logical N, C, spatial... axes.
    const size_t rank = shape.size();
    dnnl::memory::dims strides(rank);
    int64_t stride = 1;
    strides[1] = stride;
    stride *= shape[1];
    for (size_t a = rank; a-- > 2;) {
        strides[a] = stride;
        stride *= shape[a];
    }
    strides[0] = stride;
    return dnnl::memory::desc(dnnl_dims(shape), dnnl_data_type(dtype), strides);
}

dnnl::memory wrap_tensor(const Tensor& tensor, const dnnl::memory::desc& desc) {
    return dnnl::memory(desc, dnnl_engine(), const_cast<void*>(tensor.raw()));
}

dnnl::memory reorder_constant(const Tensor& tensor, const dnnl::memory::desc& from, const dnnl::memory::desc& to) {
    dnnl::memory src = wrap_tensor(tensor, from);
    dnnl::memory dst(to, dnnl_engine());
    dnnl::reorder(src, dst).execute(dnnl_stream(), src, dst);
    dnnl_stream().wait();
    return dst;
}

bool append_activation(dnnl::post_ops& ops, const Activation& activation) {
    using alg = dnnl::algorithm;
    switch (activation.kind) {
        case ActivationKind::kNone: return true;
        case ActivationKind::kRelu: ops.append_eltwise(1.0f, alg::eltwise_relu, 0.0f, 0.0f); return true;
        case ActivationKind::kLeakyRelu: ops.append_eltwise(1.0f, alg::eltwise_relu, activation.alpha, 0.0f); return true;
        case ActivationKind::kClip: ops.append_eltwise(1.0f, alg::eltwise_clip, activation.alpha, activation.beta); return true;
        case ActivationKind::kSigmoid: ops.append_eltwise(1.0f, alg::eltwise_logistic, 0.0f, 0.0f); return true;
        case ActivationKind::kTanh: ops.append_eltwise(1.0f, alg::eltwise_tanh, 0.0f, 0.0f); return true;
        case ActivationKind::kHardSigmoid:
            ops.append_eltwise(1.0f, alg::eltwise_linear, activation.alpha, activation.beta);
            ops.append_eltwise(1.0f, alg::eltwise_clip, 0.0f, 1.0f);
            return true;
        case ActivationKind::kHardSwish: ops.append_eltwise(1.0f, alg::eltwise_hardswish, 0.0f, 0.0f); return true;
        case ActivationKind::kGelu: ops.append_eltwise(1.0f, alg::eltwise_gelu_erf, 0.0f, 0.0f); return true;
        case ActivationKind::kGeluTanh: ops.append_eltwise(1.0f, alg::eltwise_gelu_tanh, 0.0f, 0.0f); return true;
    }
    return false;
}

DnnlStep DnnlStep::src_to_dst(dnnl::primitive primitive, const dnnl::memory::desc& src, const dnnl::memory::desc& dst) {
    DnnlStep step(std::move(primitive), {});
    step.bind(DNNL_ARG_SRC, dnnl::memory(src, dnnl_engine(), DNNL_MEMORY_NONE));
    step.bind(DNNL_ARG_DST, dnnl::memory(dst, dnnl_engine(), DNNL_MEMORY_NONE));
    return step;
}

void DnnlStep::run_src_to_dst(const void* src, void* dst) {
    set_data(DNNL_ARG_SRC, src);
    set_data(DNNL_ARG_DST, dst);
    execute();
}

void DnnlStep::execute() { primitive_.execute(dnnl_stream(), args_); }

DnnlReorder::DnnlReorder(const dnnl::memory::desc& from, const dnnl::memory::desc& to) {
    dnnl::memory src(from, dnnl_engine(), DNNL_MEMORY_NONE), dst(to, dnnl_engine(), DNNL_MEMORY_NONE);
    step_ = DnnlStep(dnnl::reorder(src, dst), {{DNNL_ARG_FROM, src}, {DNNL_ARG_TO, dst}});
}

void DnnlReorder::run(const void* src, void* dst) {
    step_.set_data(DNNL_ARG_FROM, src);
    step_.set_data(DNNL_ARG_TO, dst);
    step_.execute();
}

void DnnlArg::bind(DnnlStep& step, int arg, const dnnl::memory::desc& user, const dnnl::memory::desc& primitive,
                   bool input) {
    arg_ = arg;
    input_ = input;
    if (user == primitive) {
        reorder_ = DnnlReorder();
        buffer_ = dnnl::memory();
        step.bind(arg, dnnl::memory(primitive, dnnl_engine(), DNNL_MEMORY_NONE));
        return;
    }
    reorder_ = input ? DnnlReorder(user, primitive) : DnnlReorder(primitive, user);
    buffer_ = dnnl::memory(primitive, dnnl_engine());
    step.bind(arg, buffer_);
}

void DnnlArg::set(DnnlStep& step, const void* data) {
    if (!reorder_.defined()) {
        step.set_data(arg_, data);
    } else if (input_) {
        reorder_.run(data, buffer_.get_data_handle());
    }
}

void DnnlArg::finish(void* data) {
    if (reorder_.defined() && !input_) reorder_.run(buffer_.get_data_handle(), data);
}

}  // namespace pare
