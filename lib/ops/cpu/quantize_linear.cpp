// Fast per-tensor QuantizeLinear (float32 -> int8/uint8) and DequantizeLinear (int8/uint8 -> float32) with constant
// parameters: plain loops that compute exactly what the reference kernels compute (x / scale in float, rounded half
// to even, plus the zero point, saturated; (q - zero_point) * scale in float), without their per-element dispatch.
// Other configurations (per axis, blocked, other types) run on the reference kernels.
#include <algorithm>
#include <cmath>

#include "ops/cpu/dnnl_kernel.h"
#include "ops/kernel_util.h"
#include "ops/register_kernels.h"
#include "ops/registry.h"

namespace pare {

namespace {

template <class Q>
void quantize(const float* src, Q* dst, int64_t n, float scale, float zero, float lo, float hi) {
#pragma omp parallel for if (n > 262144)
    for (int64_t i = 0; i < n; ++i) {
        float q = std::nearbyint(src[i] / scale);  // default rounding mode: ties to even
        q = std::isnan(q) ? zero : q + zero;
        dst[i] = static_cast<Q>(std::min(std::max(q, lo), hi));
    }
}

template <class Q>
void dequantize(const Q* src, float* dst, int64_t n, float scale, int32_t zero) {
#pragma omp parallel for if (n > 262144)
    for (int64_t i = 0; i < n; ++i) dst[i] = static_cast<float>(static_cast<int32_t>(src[i]) - zero) * scale;
}

class QuantizeKernel : public DnnlKernel {
public:
    QuantizeKernel(const KernelContext& context, bool quantize) : DnnlKernel(context), quantize_(quantize) {}

protected:
    Status prepare_dnnl(const std::vector<InputInfo>& inputs, std::vector<OutputInfo>& outputs) override {
        const Node& n = node();
        PARE_RETURN_IF_ERROR(check_input_count(n, inputs, 2, 3));
        const bool has_zero = inputs.size() > 2 && inputs[2].present;
        if (!inputs[1].value || (has_zero && !inputs[2].value)) return unsupported("parameters that are not constant");
        if (inputs[1].value->numel() != 1 || (has_zero && inputs[2].value->numel() != 1) ||
            n.attr_int("block_size", 0) != 0 || inputs[1].dtype != DType::kF32) {
            return unsupported("parameters that are not one float32 scale");
        }
        quantized_type_ = has_zero ? inputs[2].dtype : quantize_ ? DType::kU8 : inputs[0].dtype;
        if (quantize_ && n.has_attribute("output_dtype") &&
            n.attr_int("output_dtype", 0) != static_cast<int64_t>(quantized_type_)) {
            return unsupported("an output_dtype different from the zero point's");
        }
        if (quantized_type_ != DType::kU8 && quantized_type_ != DType::kI8) return unsupported("types other than 8-bit");
        if (inputs[0].dtype != (quantize_ ? DType::kF32 : quantized_type_)) return unsupported("the input type");
        scale_ = inputs[1].value->data<float>()[0];
        zero_ = has_zero ? static_cast<int32_t>(inputs[2].value->element_as_double(0)) : 0;
        outputs = {OutputInfo{quantize_ ? quantized_type_ : DType::kF32, inputs[0].shape}};
        return Status();
    }

    Status run_dnnl(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs) override {
        const Tensor& src = inputs[0];
        Tensor& dst = outputs[0];
        const int64_t n = src.numel();
        const bool u8 = quantized_type_ == DType::kU8;
        if (quantize_) {
            const float lo = u8 ? 0.0f : -128.0f, hi = u8 ? 255.0f : 127.0f, zero = static_cast<float>(zero_);
            if (u8) quantize(src.data<float>(), dst.data<uint8_t>(), n, scale_, zero, lo, hi);
            else quantize(src.data<float>(), dst.data<int8_t>(), n, scale_, zero, lo, hi);
        } else if (u8) {
            dequantize(src.data<uint8_t>(), dst.data<float>(), n, scale_, zero_);
        } else {
            dequantize(src.data<int8_t>(), dst.data<float>(), n, scale_, zero_);
        }
        return Status();
    }

private:
    bool quantize_;
    DType quantized_type_ = DType::kU8;
    float scale_ = 1.0f;
    int32_t zero_ = 0;
};

}  // namespace

void register_cpu_quantize_kernels(KernelRegistry& registry) {
    for (const bool quantize : {true, false}) {
        registry.add(KernelEntry{"", quantize ? "QuantizeLinear" : "DequantizeLinear", "cpu", Backend::kCpu, 10,
                                 [quantize](const KernelContext& context) -> Result<KernelPtr> {
                                     return KernelPtr(new QuantizeKernel(context, quantize));
                                 }});
    }
}

}  // namespace pare
