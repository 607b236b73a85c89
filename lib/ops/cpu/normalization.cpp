// oneDNN LayerNormalization and inference-mode BatchNormalization on float32. LayerNormalization normalizes the
// trailing axes from `axis` on, viewed as one row per leading index; the optional Mean and InvStdDev outputs come from
// the primitive's statistics. BatchNormalization usually never reaches here: the fold_batch_norm pass merges it into
// the preceding Conv or Gemm.
#include <algorithm>
#include <cmath>

#include "ops/cpu/dnnl_kernel.h"
#include "ops/kernel_util.h"
#include "ops/register_kernels.h"
#include "ops/registry.h"

namespace pare {

namespace {

using flags = dnnl::normalization_flags;

class DnnlLayerNorm : public DnnlKernel {
public:
    using DnnlKernel::DnnlKernel;

protected:
    Status prepare_dnnl(const std::vector<InputInfo>& inputs, std::vector<OutputInfo>& outputs) override {
        const Node& n = node();
        PARE_RETURN_IF_ERROR(check_input_count(n, inputs, 2, 3));
        for (const auto& input : inputs) {
            if (input.present && input.dtype != DType::kF32) return unsupported("only float32 layer normalization");
        }
        const Shape& x = inputs[0].shape;
        PARE_ASSIGN_OR_RETURN(const int64_t axis, normalize_axis(n.attr_int("axis", -1), static_cast<int64_t>(x.size()), n));
        const Shape normalized(x.begin() + axis, x.end());
        const int64_t cols = shape_numel(normalized), rows = shape_numel(Shape(x.begin(), x.begin() + axis));
        has_bias_ = inputs.size() > 2 && inputs[2].present;
        for (int i = 1; i <= (has_bias_ ? 2 : 1); ++i) {
            PARE_ASSIGN_OR_RETURN(Shape joint, broadcast_shapes(normalized, inputs[i].shape));
            if (joint != normalized) {
                return invalid_input(n.describe() + ": input " + std::to_string(i) + " " +
                                     shape_to_string(inputs[i].shape) + " does not broadcast to " +
                                     shape_to_string(normalized));
            }
            if (shape_numel(inputs[i].shape) != cols) return unsupported("a scale or bias broadcast along the axes");
        }
        if (opset() >= 17 && n.attr_int("stash_type", 1) != 1) return unsupported("stash_type other than float");
        Shape stats(x.begin(), x.begin() + axis);
        stats.resize(x.size(), 1);
        outputs = {OutputInfo{DType::kF32, x}, OutputInfo{DType::kF32, stats}, OutputInfo{DType::kF32, stats}};
        outputs.resize(std::max(1, n.num_outputs()));
        statistics_ = n.num_outputs() > 1;
        epsilon_ = n.attr_float("epsilon", 1e-5f);
        if (rows == 0 || cols == 0) return unsupported("an empty tensor");
        set_work(8.0 * static_cast<double>(rows * cols), 8.0 * static_cast<double>(rows * cols));
        const dnnl::memory::desc data = plain_desc({rows, cols}, DType::kF32);
        const dnnl::memory::desc vector = plain_desc({cols}, DType::kF32);
        const flags f = has_bias_ ? flags::use_scale | flags::use_shift : flags::use_scale;
        // Training-mode propagation is the inference computation that also writes the mean and variance out.
        const auto prop = statistics_ ? dnnl::prop_kind::forward_training : dnnl::prop_kind::forward_inference;
        const dnnl::layer_normalization_forward::primitive_desc pd(
            dnnl::layer_normalization_forward::desc(prop, data, epsilon_, f), dnnl_engine());
        step_ = DnnlStep(dnnl::layer_normalization_forward(pd), {});
        step_.bind(DNNL_ARG_SRC, dnnl::memory(data, dnnl_engine(), DNNL_MEMORY_NONE));
        step_.bind(DNNL_ARG_DST, dnnl::memory(data, dnnl_engine(), DNNL_MEMORY_NONE));
        step_.bind(DNNL_ARG_SCALE, dnnl::memory(vector, dnnl_engine(), DNNL_MEMORY_NONE));
        if (has_bias_) step_.bind(DNNL_ARG_SHIFT, dnnl::memory(vector, dnnl_engine(), DNNL_MEMORY_NONE));
        if (statistics_) {
            mean_ = dnnl::memory(pd.mean_desc(), dnnl_engine());
            variance_ = dnnl::memory(pd.variance_desc(), dnnl_engine());
            step_.bind(DNNL_ARG_MEAN, mean_);
            step_.bind(DNNL_ARG_VARIANCE, variance_);
            rows_ = rows;
        }
        return Status();
    }

    Status run_dnnl(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs) override {
        step_.set_data(DNNL_ARG_SRC, inputs[0].raw());
        step_.set_data(DNNL_ARG_SCALE, inputs[1].raw());
        if (has_bias_) step_.set_data(DNNL_ARG_SHIFT, inputs[2].raw());
        step_.set_data(DNNL_ARG_DST, outputs[0].raw());
        step_.execute();
        if (!statistics_) return Status();
        const float* mean = static_cast<const float*>(mean_.get_data_handle());
        const float* variance = static_cast<const float*>(variance_.get_data_handle());
        if (outputs.size() > 1 && outputs[1].defined()) std::copy_n(mean, rows_, outputs[1].data<float>());
        if (outputs.size() > 2 && outputs[2].defined()) {
            float* inv_std = outputs[2].data<float>();
            for (int64_t r = 0; r < rows_; ++r) inv_std[r] = 1.0f / std::sqrt(variance[r] + epsilon_);
        }
        return Status();
    }

private:
    bool has_bias_ = false;
    bool statistics_ = false;
    float epsilon_ = 1e-5f;
    int64_t rows_ = 0;
    dnnl::memory mean_, variance_;
    DnnlStep step_;
};

class DnnlBatchNorm : public DnnlKernel {
public:
    using DnnlKernel::DnnlKernel;

protected:
    Status prepare_dnnl(const std::vector<InputInfo>& inputs, std::vector<OutputInfo>& outputs) override {
        const Node& n = node();
        PARE_RETURN_IF_ERROR(check_input_count(n, inputs, 5, 5));
        if (n.attr_int("training_mode", 0) != 0 || n.num_outputs() > 1) return unsupported("training mode");
        if (opset() < 9 && n.attr_int("spatial", 1) == 0) return unsupported("spatial = 0");
        for (const auto& input : inputs) {
            if (input.dtype != DType::kF32) return unsupported("only float32 batch normalization");
        }
        const Shape& x = inputs[0].shape;
        if (x.size() < 2) return invalid_input(n.describe() + ": input " + shape_to_string(x) + " has no channel axis");
        for (int i = 1; i < 5; ++i) {
            if (inputs[i].shape != Shape{x[1]}) {
                return invalid_input(n.describe() + ": input " + std::to_string(i) + " " +
                                     shape_to_string(inputs[i].shape) + " for " + std::to_string(x[1]) + " channels");
            }
        }
        outputs = {OutputInfo{DType::kF32, x}};
        if (shape_numel(x) == 0) return unsupported("an empty tensor");
        set_work(2.0 * static_cast<double>(shape_numel(x)), 8.0 * static_cast<double>(shape_numel(x)));
        const dnnl::memory::desc data = plain_desc(x, DType::kF32), vector = plain_desc({x[1]}, DType::kF32);
        const dnnl::batch_normalization_forward::primitive_desc pd(
            dnnl::batch_normalization_forward::desc(dnnl::prop_kind::forward_inference, data,
                                                    n.attr_float("epsilon", 1e-5f),
                                                    flags::use_global_stats | flags::use_scale | flags::use_shift),
            dnnl_engine());
        step_ = DnnlStep(dnnl::batch_normalization_forward(pd), {});
        for (int arg : {DNNL_ARG_SRC, DNNL_ARG_DST}) step_.bind(arg, dnnl::memory(data, dnnl_engine(), DNNL_MEMORY_NONE));
        for (int arg : kVectorArgs) step_.bind(arg, dnnl::memory(vector, dnnl_engine(), DNNL_MEMORY_NONE));
        return Status();
    }

    Status run_dnnl(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs) override {
        step_.set_data(DNNL_ARG_SRC, inputs[0].raw());
        for (int i = 0; i < 4; ++i) step_.set_data(kVectorArgs[i], inputs[i + 1].raw());
        step_.set_data(DNNL_ARG_DST, outputs[0].raw());
        step_.execute();
        return Status();
    }

private:
    // oneDNN arguments of the scale, B, mean and var inputs, in ONNX's order.
    static constexpr int kVectorArgs[4] = {DNNL_ARG_SCALE, DNNL_ARG_SHIFT, DNNL_ARG_MEAN, DNNL_ARG_VARIANCE};
    DnnlStep step_;
};

template <class K>
Result<KernelPtr> create(const KernelContext& context) {
    return KernelPtr(new K(context));
}

}  // namespace

void register_onednn_normalization_kernels(KernelRegistry& registry) {
    registry.add(KernelEntry{"", "LayerNormalization", "onednn", Backend::kCpu, 10, create<DnnlLayerNorm>});
    registry.add(KernelEntry{"", "BatchNormalization", "onednn", Backend::kCpu, 10, create<DnnlBatchNorm>});
}

}  // namespace pare
