// Reference kernels of pare's private ops (graph/fused_ops.h): the base op's reference kernel on channels-first
// data, then the added input and the activation, so a rewritten node gives the result of the nodes it replaced.
#include <algorithm>
#include <cstring>
#include <memory>

#include "graph/fused_ops.h"
#include "ops/activation.h"
#include "ops/kernel_util.h"
#include "ops/ref/compute_type.h"
#include "ops/register_kernels.h"
#include "ops/registry.h"

namespace pare {

namespace {

// Copies src (channels-first [N, C, S] when to_last, else [N, S, C]) into dst in the other order.
void move_channels(const Tensor& src, Tensor& dst, bool to_last) {
    const Shape& shape = to_last ? src.shape() : dst.shape();  // the channels-first shape
    const int64_t n = shape[0], c = shape[1], s = shape_numel(shape) / std::max<int64_t>(1, n * c);
    const size_t bytes = dtype_storage_bytes(src.dtype(), 1);
    const char* from = static_cast<const char*>(src.raw());
    char* to = static_cast<char*>(dst.raw());
    for (int64_t b = 0; b < n; ++b) {
        for (int64_t ch = 0; ch < c; ++ch) {
            for (int64_t i = 0; i < s; ++i) {
                const int64_t first = (b * c + ch) * s + i, last = (b * s + i) * c + ch;
                std::memcpy(to + (to_last ? last : first) * bytes, from + (to_last ? first : last) * bytes, bytes);
            }
        }
    }
}

// dst = broadcast(a) + broadcast(b), float32, any shapes that broadcast to dst's.
void add_broadcast(const Tensor& a, const Tensor& b, Tensor& dst) {
    const Shape& shape = dst.shape();
    const std::vector<int64_t> sa = broadcast_strides(a.shape(), shape), sb = broadcast_strides(b.shape(), shape);
    const float* pa = a.data<float>();
    const float* pb = b.data<float>();
    float* d = dst.data<float>();
    std::vector<int64_t> index(shape.size(), 0);
    for (int64_t i = 0, n = dst.numel(); i < n; ++i) {
        int64_t oa = 0, ob = 0;
        for (size_t axis = 0; axis < shape.size(); ++axis) {
            oa += index[axis] * sa[axis];
            ob += index[axis] * sb[axis];
        }
        d[i] = pa[oa] + pb[ob];
        for (size_t axis = shape.size(); axis-- > 0;) {
            if (++index[axis] < shape[axis]) break;
            index[axis] = 0;
        }
    }
}

// Output types the added input and the activation handle (computed in float32).
bool is_epilogue_dtype(DType dtype) { return dtype == DType::kF32 || dtype == DType::kF16 || dtype == DType::kBF16; }

class PrivateReferenceKernel : public Kernel {
public:
    static Result<KernelPtr> create(const KernelContext& context) {
        const Node& node = context.node;
        const std::string& base = node.op_type();
        if (!has_private_extension(base)) return invalid_input(node.describe() + " is not one of pare's private ops");
        std::unique_ptr<PrivateReferenceKernel> kernel(new PrivateReferenceKernel());
        kernel->node_ = &node;
        PARE_ASSIGN_OR_RETURN(kernel->activation_, activation_of_private(node));
        kernel->added_ = private_added_input(base);
        kernel->quantized_ = base.rfind("QLinear", 0) == 0;
        kernel->channels_last_ = is_channels_last(node);
        onnx::NodeProto proto = node.proto;
        proto.set_domain("");
        if (kernel->added_ >= 0 && proto.input_size() > kernel->added_) {
            proto.mutable_input()->DeleteSubrange(kernel->added_, proto.input_size() - kernel->added_);
        }
        auto* attributes = proto.mutable_attribute();
        attributes->erase(std::remove_if(attributes->begin(), attributes->end(),
                                         [](const onnx::AttributeProto& a) {
                                             return a.name().rfind("activation", 0) == 0 || a.name() == "channels_last";
                                         }),
                          attributes->end());
        kernel->base_node_ = std::make_unique<Node>(std::move(proto));
        const KernelEntry* entry = KernelRegistry::instance().reference("", base);
        if (!entry) return unsupported("no reference kernel for " + base);
        KernelContext base_context{*kernel->base_node_, context.opset, context.graph, {}, {}, context.threads};
        PARE_ASSIGN_OR_RETURN(kernel->base_, entry->create(base_context));
        return KernelPtr(kernel.release());
    }

    Status prepare(const std::vector<InputInfo>& inputs, std::vector<OutputInfo>& outputs) override {
        const size_t base_count = added_ >= 0 ? std::min<size_t>(inputs.size(), added_) : inputs.size();
        std::vector<InputInfo> base_inputs(inputs.begin(), inputs.begin() + base_count);
        if (channels_last_ && !base_inputs.empty()) {
            base_inputs[0].shape = channels_first_shape(base_inputs[0].shape);
            if (base_inputs[0].value) base_inputs[0].value.reset();  // a constant data input is rare: read it at run
        }
        PARE_RETURN_IF_ERROR(base_->prepare(base_inputs, base_outputs_));
        if (base_outputs_.empty() || !base_outputs_[0].shape_known) {
            return unsupported(node_->describe() + ": private ops need output shapes known at compile time");
        }
        outputs = base_outputs_;
        if (channels_last_) outputs[0].shape = channels_last_shape(outputs[0].shape);
        has_added_ = added_ >= 0 && static_cast<int>(inputs.size()) > added_ && inputs[added_].present;
        if (has_added_) {
            if (!is_epilogue_dtype(outputs[0].dtype) || inputs[added_].dtype != outputs[0].dtype) {
                return unsupported(node_->describe() + ": the added input and the output must be float32, float16 "
                                   "or bfloat16 alike");
            }
            PARE_ASSIGN_OR_RETURN(outputs[0].shape, broadcast_shapes(outputs[0].shape, inputs[added_].shape));
        }
        if (quantized_) {
            if (inputs.size() < 8 || !inputs[6].value) {
                return unsupported(node_->describe() + ": a quantized activation needs a constant y_scale");
            }
            const DType type = outputs[0].dtype;
            const int64_t lo = type == DType::kU8 ? 0 : -128, hi = type == DType::kU8 ? 255 : 127;
            const float y_scale = static_cast<float>(inputs[6].value->element_as_double(0));
            const int64_t y_zero = inputs[7].value ? static_cast<int64_t>(inputs[7].value->element_as_double(0)) : 0;
            PARE_ASSIGN_OR_RETURN(clamp_, quantized_activation_clamp(activation_, y_scale, y_zero, lo, hi));
        } else if (activation_.kind != ActivationKind::kNone && !is_epilogue_dtype(outputs[0].dtype)) {
            return unsupported(node_->describe() + ": fused activations run on float32, float16 or bfloat16 outputs");
        }
        return Status();
    }

    Status run(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs) override {
        const size_t base_count = added_ >= 0 ? std::min<size_t>(inputs.size(), added_) : inputs.size();
        std::vector<Tensor> base_inputs(inputs.begin(), inputs.begin() + base_count);
        if (channels_last_) {
            Tensor first(base_inputs[0].dtype(), channels_first_shape(base_inputs[0].shape()));
            move_channels(base_inputs[0], first, false);
            base_inputs[0] = first;
        }
        Tensor& dst = outputs[0];
        // The base op writes straight into dst unless the layout or a broadcast makes the shapes differ.
        const bool direct = !channels_last_ && dst.shape() == base_outputs_[0].shape;
        std::vector<Tensor> base_out = outputs;
        if (!direct) base_out[0] = Tensor(base_outputs_[0].dtype, base_outputs_[0].shape);
        PARE_RETURN_IF_ERROR(base_->run(base_inputs, base_out));
        Tensor result = base_out[0];
        if (channels_last_) {
            Tensor last(result.dtype(), channels_last_shape(result.shape()));
            move_channels(result, last, true);
            result = last;
        }
        const bool float_epilogue = has_added_ || (!quantized_ && activation_.kind != ActivationKind::kNone);
        if (!float_epilogue) {
            if (!direct) std::memcpy(dst.raw(), result.raw(), dst.nbytes());
            if (quantized_) clamp_quantized(dst);
            return Status();
        }
        // The added input and the activation in float32: float16 and bfloat16 results are rounded once, at the end.
        Tensor wide = compute_buffer(dst);
        if (has_added_) {
            add_broadcast(widen(result), widen(inputs[added_]), wide);
        } else {
            const Tensor widened = widen(result);
            if (widened.raw() != wide.raw()) std::memcpy(wide.raw(), widened.raw(), wide.nbytes());
        }
        if (activation_.kind != ActivationKind::kNone) apply_activation(activation_, wide.data<float>(), wide.numel());
        narrow_into(wide, dst);
        return Status();
    }

private:
    PrivateReferenceKernel() = default;

    void clamp_quantized(Tensor& dst) const {
        const int64_t n = dst.numel();
        if (dst.dtype() == DType::kU8) {
            uint8_t* d = dst.data<uint8_t>();
            for (int64_t i = 0; i < n; ++i)
                d[i] = static_cast<uint8_t>(std::clamp<int64_t>(d[i], clamp_.lo, clamp_.hi));
        } else {
            int8_t* d = dst.data<int8_t>();
            for (int64_t i = 0; i < n; ++i) d[i] = static_cast<int8_t>(std::clamp<int64_t>(d[i], clamp_.lo, clamp_.hi));
        }
    }

    const Node* node_ = nullptr;
    std::unique_ptr<Node> base_node_;
    KernelPtr base_;
    std::vector<OutputInfo> base_outputs_;
    Activation activation_;
    int added_ = -1;
    bool has_added_ = false;
    bool quantized_ = false;
    bool channels_last_ = false;
    QuantizedClamp clamp_;
};

}  // namespace

void register_private_reference_kernels(KernelRegistry& registry) {
    for (const std::string& op : private_op_types()) {
        if (op == "QLinearMatMul") continue;  // its own kernel (private_qlinear_matmul.cpp)
        registry.add(
            KernelEntry{kPareDomain, op, "reference", Backend::kCpu, kReferenceRank, PrivateReferenceKernel::create});
    }
}

}  // namespace pare
