// QuantizeLinear, DequantizeLinear (per tensor, per axis and blocked; 8, 16 and packed 4-bit integers) and
// DynamicQuantizeLinear. The arithmetic lives in ops/quantize_math.h, shared with quantize/ and calibration/.
// Float8 and float4 types are unsupported: pare's tensors cannot hold them.
#include <string>

#include "ops/kernel_util.h"
#include "ops/quantize_math.h"
#include "ops/ref/quant_common.h"
#include "ops/register_kernels.h"
#include "ops/registry.h"

namespace pare {

namespace {

// ONNX data_type values of the float8 (17-20) and float4 (23) types, named in unsupported() messages.
bool is_float8_or_4(int64_t onnx_type) {
    return (onnx_type >= 17 && onnx_type <= 20) || onnx_type == 23;
}

class QuantizeLinearKernel : public Kernel {
  public:
    explicit QuantizeLinearKernel(const Node& node) : node_(node) {}

    Status prepare(const std::vector<InputInfo>& inputs, std::vector<OutputInfo>& outputs) override {
        PARE_RETURN_IF_ERROR(check_input_count(node_, inputs, 2, 3));
        // x and the scale: float, float16, bfloat16 or int32 (the spec's T1 and T2).
        const std::vector<DType> allowed = {DType::kF32, DType::kF16, DType::kBF16, DType::kI32};
        PARE_RETURN_IF_ERROR(check_input_dtype(node_, inputs, 0, allowed));
        PARE_RETURN_IF_ERROR(check_input_dtype(node_, inputs, 1, allowed));
        const bool has_zero_point = inputs.size() > 2 && inputs[2].present;
        const int64_t output_dtype = node_.attr_int("output_dtype", 0);
        if (is_float8_or_4(output_dtype)) return unsupported(node_.describe() + ": float8/float4 outputs");
        DType dtype = output_dtype ? dtype_from_onnx(static_cast<int32_t>(output_dtype)) : DType::kU8;
        if (has_zero_point) {
            if (output_dtype && inputs[2].dtype != dtype) {
                return invalid_input(node_.describe() + ": output_dtype " + dtype_name(dtype) +
                                     " differs from the zero point's " + dtype_name(inputs[2].dtype));
            }
            dtype = inputs[2].dtype;
            if (inputs[2].shape != inputs[1].shape && shape_numel(inputs[2].shape) != shape_numel(inputs[1].shape)) {
                return invalid_input(node_.describe() + ": zero point shape " + shape_to_string(inputs[2].shape) +
                                     " differs from scale shape " + shape_to_string(inputs[1].shape));
            }
        }
        if (!is_quantized_dtype(dtype)) {
            return invalid_input(node_.describe() + ": cannot quantize to " + dtype_name(dtype));
        }
        PARE_ASSIGN_OR_RETURN(layout_, make_quant_layout(inputs[0].shape, inputs[1].shape, node_.attr_int("axis", 1),
                                                         node_.attr_int("block_size", 0), node_.describe()));
        // The scale's type sets the precision of x / scale unless the precision attribute (opset 23) overrides it;
        // integer scales divide in double, as numpy does.
        const int64_t precision = node_.attr_int("precision", 0);
        precision_ = precision ? dtype_from_onnx(static_cast<int32_t>(precision)) : inputs[1].dtype;
        if (precision_ == DType::kI32) precision_ = DType::kF64;
        if (precision_ != DType::kF32 && precision_ != DType::kF16 && precision_ != DType::kBF16 &&
            precision_ != DType::kF64) {
            return unsupported(node_.describe() + ": precision " + std::to_string(precision));
        }
        outputs = {OutputInfo{dtype, inputs[0].shape}};
        return Status();
    }

    Status run(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs) override {
        const Tensor zero_point = inputs.size() > 2 ? inputs[2] : Tensor();
        return quantize_tensor(inputs[0], inputs[1], zero_point, layout_, precision_, outputs[0]);
    }

  private:
    const Node& node_;
    QuantLayout layout_;
    DType precision_ = DType::kF32;
};

class DequantizeLinearKernel : public Kernel {
  public:
    explicit DequantizeLinearKernel(const Node& node) : node_(node) {}

    Status prepare(const std::vector<InputInfo>& inputs, std::vector<OutputInfo>& outputs) override {
        PARE_RETURN_IF_ERROR(check_input_count(node_, inputs, 2, 3));
        const DType x_dtype = inputs[0].dtype;
        if (!is_quantized_dtype(x_dtype) && x_dtype != DType::kI32) {
            return unsupported(node_.describe() + ": dequantizing " + dtype_name(x_dtype));
        }
        PARE_RETURN_IF_ERROR(check_input_dtype(node_, inputs, 1, scale_dtypes()));
        if (inputs.size() > 2 && inputs[2].present) {
            if (inputs[2].dtype != x_dtype) {
                return invalid_input(node_.describe() + ": zero point is " + dtype_name(inputs[2].dtype) +
                                     " but the input is " + dtype_name(x_dtype));
            }
            if (inputs[2].shape != inputs[1].shape && shape_numel(inputs[2].shape) != shape_numel(inputs[1].shape)) {
                return invalid_input(node_.describe() + ": zero point shape " + shape_to_string(inputs[2].shape) +
                                     " differs from scale shape " + shape_to_string(inputs[1].shape));
            }
        }
        const int64_t output_dtype = node_.attr_int("output_dtype", 0);
        const DType dtype = output_dtype ? dtype_from_onnx(static_cast<int32_t>(output_dtype)) : inputs[1].dtype;
        if (dtype != DType::kF32 && dtype != DType::kF16 && dtype != DType::kBF16) {
            return unsupported(node_.describe() + ": output dtype " + std::to_string(output_dtype));
        }
        PARE_ASSIGN_OR_RETURN(layout_, make_quant_layout(inputs[0].shape, inputs[1].shape, node_.attr_int("axis", 1),
                                                         node_.attr_int("block_size", 0), node_.describe()));
        outputs = {OutputInfo{dtype, inputs[0].shape}};
        return Status();
    }

    Status run(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs) override {
        const Tensor zero_point = inputs.size() > 2 ? inputs[2] : Tensor();
        return dequantize_tensor(inputs[0], inputs[1], zero_point, layout_, outputs[0]);
    }

  private:
    const Node& node_;
    QuantLayout layout_;
};

// y, y_scale, y_zero_point from the data's own range widened to include 0 (uint8 only, as the spec defines it).
class DynamicQuantizeLinearKernel : public Kernel {
  public:
    explicit DynamicQuantizeLinearKernel(const Node& node) : node_(node) {}

    Status prepare(const std::vector<InputInfo>& inputs, std::vector<OutputInfo>& outputs) override {
        PARE_RETURN_IF_ERROR(check_input_count(node_, inputs, 1, 1));
        PARE_RETURN_IF_ERROR(check_input_dtype(node_, inputs, 0, {DType::kF32}));
        outputs = {OutputInfo{DType::kU8, inputs[0].shape}, OutputInfo{DType::kF32, {}}, OutputInfo{DType::kU8, {}}};
        return Status();
    }

    Status run(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs) override {
        const Tensor& x = inputs[0];
        const float* src = x.data<float>();
        const int64_t n = x.numel();
        float lo = 0.0f, hi = 0.0f;  // the range always includes 0; NaN never compares and is skipped
        for (int64_t i = 0; i < n; ++i) {
            if (src[i] < lo) lo = src[i];
            if (src[i] > hi) hi = src[i];
        }
        const DynamicQuantParams params = dynamic_quant_params(lo, hi);
        const QuantRange range = quant_range(DType::kU8);
        uint8_t* dst = outputs[0].data<uint8_t>();
#pragma omp parallel for if (n > 65536)
        for (int64_t i = 0; i < n; ++i) {
            dst[i] = static_cast<uint8_t>(quantize_value(src[i], params.scale, params.zero_point, range));
        }
        if (outputs.size() > 1 && outputs[1].defined()) outputs[1].data<float>()[0] = params.scale;
        if (outputs.size() > 2 && outputs[2].defined()) outputs[2].data<uint8_t>()[0] = params.zero_point;
        return Status();
    }

  private:
    const Node& node_;
};

}  // namespace

void register_quantize_linear_kernels(KernelRegistry& registry) {
    add_node_kernel<QuantizeLinearKernel>(registry, "QuantizeLinear");
    add_node_kernel<DequantizeLinearKernel>(registry, "DequantizeLinear");
    add_node_kernel<DynamicQuantizeLinearKernel>(registry, "DynamicQuantizeLinear");
    // ONNX Runtime's contrib QuantizeLinear/DequantizeLinear: the same operators (axis attribute, 8- and 16-bit
    // integers) for models below opset 21, whose ai.onnx versions lack 16-bit types.
    add_node_kernel<QuantizeLinearKernel>(registry, "QuantizeLinear", "com.microsoft");
    add_node_kernel<DequantizeLinearKernel>(registry, "DequantizeLinear", "com.microsoft");
}

}  // namespace pare
