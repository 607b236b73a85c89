// BatchNormalization, every opset: Y = (X - mean) / sqrt(var + epsilon) * scale + B per channel. Before opset 9,
// spatial=0 gives every element of a [C, D1, ...] slice its own statistics. From opset 14, training_mode=1 normalizes
// with the batch's own statistics and also returns the updated running mean and variance; earlier opsets' training
// outputs (saved mean and variance) are not supported.
#include <cmath>

#include "ops/kernel_util.h"
#include "ops/ref/compute_type.h"
#include "ops/register_kernels.h"
#include "ops/registry.h"

namespace pare {

namespace {

const std::vector<DType> kFloatTypes = {DType::kF32, DType::kF64, DType::kF16, DType::kBF16};

std::vector<double> to_doubles(const Tensor& t) {
    std::vector<double> values(static_cast<size_t>(t.numel()));
    for (size_t i = 0; i < values.size(); ++i) values[i] = t.element_as_double(static_cast<int64_t>(i));
    return values;
}

class BatchNormKernel : public Kernel {
  public:
    BatchNormKernel(const Node& node, bool training, bool per_element)
        : node_(node),
          training_(training),
          per_element_(per_element),
          epsilon_(node.attr_float("epsilon", 1e-5f)),
          momentum_(node.attr_float("momentum", 0.9f)) {}

    Status prepare(const std::vector<InputInfo>& inputs, std::vector<OutputInfo>& outputs) override {
        PARE_RETURN_IF_ERROR(check_input_count(node_, inputs, 5, 5));
        PARE_RETURN_IF_ERROR(check_input_dtype(node_, inputs, 0, kFloatTypes));
        const Shape& x = inputs[0].shape;
        if (x.size() < 2) return invalid_input(node_.describe() + ": X must be [N, C, ...], got " + shape_to_string(x));
        const Shape stats = per_element_ ? Shape(x.begin() + 1, x.end()) : Shape{x[1]};
        for (int i = 1; i < 5; ++i) {
            PARE_RETURN_IF_ERROR(check_input_dtype(node_, inputs, i, kFloatTypes));
            if (shape_numel(inputs[i].shape) != shape_numel(stats)) {
                return invalid_input(node_.describe() + ": input " + std::to_string(i) + " has shape " +
                                     shape_to_string(inputs[i].shape) + ", expected " + shape_to_string(stats) +
                                     " for X " + shape_to_string(x));
            }
        }
        outputs = {OutputInfo{inputs[0].dtype, x}};
        // Training outputs: running mean and variance, in the dtype of the given mean and variance.
        for (int i = 1; i < node_.num_outputs() && i < 3; ++i) {
            outputs.push_back(OutputInfo{inputs[2 + i].dtype, inputs[2 + i].shape});
        }
        return Status();
    }

    Status run(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs) override {
        const Tensor x = widen(inputs[0]);
        Tensor dst = compute_buffer(outputs[0]);
        if (x.dtype() == DType::kF64)
            compute<double>(x, inputs, dst, outputs);
        else
            compute<float>(x, inputs, dst, outputs);
        narrow_into(dst, outputs[0]);
        return Status();
    }

  private:
    template <class T>
    void compute(const Tensor& x, const std::vector<Tensor>& inputs, Tensor& dst, std::vector<Tensor>& outputs) const {
        const std::vector<double> scale = to_doubles(inputs[1]), bias = to_doubles(inputs[2]);
        std::vector<double> mean = to_doubles(inputs[3]), variance = to_doubles(inputs[4]);
        const int64_t batch = x.shape()[0], count = static_cast<int64_t>(scale.size());
        const int64_t inner = x.numel() / std::max<int64_t>(1, batch * count);  // elements per (image, statistic)
        const T* src = x.data<T>();
        T* out = dst.data<T>();
        if (training_) {
            const std::vector<double> running_mean = mean, running_variance = variance;
            batch_statistics(src, batch, count, inner, mean, variance);
            for (size_t o = 1; o < outputs.size(); ++o) {
                const std::vector<double>& running = o == 1 ? running_mean : running_variance;
                const std::vector<double>& current = o == 1 ? mean : variance;
                Tensor updated(DType::kF64, outputs[o].shape());
                for (int64_t c = 0; c < count; ++c) {
                    updated.data<double>()[c] = running[c] * momentum_ + current[c] * (1.0 - momentum_);
                }
                const Tensor narrowed = updated.cast(outputs[o].dtype());
                std::copy_n(static_cast<const char*>(narrowed.raw()), narrowed.nbytes(),
                            static_cast<char*>(outputs[o].raw()));
            }
        }
#pragma omp parallel for if (x.numel() > 65536)
        for (int64_t plane = 0; plane < batch * count; ++plane) {
            const int64_t c = plane % count;
            const double inv_std = 1.0 / std::sqrt(variance[c] + epsilon_);
            for (int64_t i = plane * inner; i < (plane + 1) * inner; ++i) {
                out[i] = static_cast<T>((static_cast<double>(src[i]) - mean[c]) * inv_std * scale[c] + bias[c]);
            }
        }
    }

    // Mean and population variance of each statistic over the batch and its `inner` elements.
    template <class T>
    static void batch_statistics(const T* src, int64_t batch, int64_t count, int64_t inner, std::vector<double>& mean,
                                 std::vector<double>& variance) {
        const double samples = static_cast<double>(batch * inner);
        for (int64_t c = 0; c < count; ++c) {
            double sum = 0;
            for (int64_t n = 0; n < batch; ++n) {
                for (int64_t i = 0; i < inner; ++i) sum += src[(n * count + c) * inner + i];
            }
            mean[c] = sum / samples;
            double squares = 0;
            for (int64_t n = 0; n < batch; ++n) {
                for (int64_t i = 0; i < inner; ++i) {
                    const double d = src[(n * count + c) * inner + i] - mean[c];
                    squares += d * d;
                }
            }
            variance[c] = squares / samples;
        }
    }

    const Node& node_;
    bool training_;
    bool per_element_;
    double epsilon_, momentum_;
};

}  // namespace

void register_batch_norm_kernels(KernelRegistry& registry) {
    registry.add_reference("BatchNormalization", [](const KernelContext& context) -> Result<KernelPtr> {
        const Node& node = context.node;
        bool training = false;
        if (context.opset >= 14) {
            training = node.attr_int("training_mode", 0) != 0;
            if (!training && node.num_outputs() > 1) {
                return invalid_input(node.describe() + ": running mean and variance are outputs of training mode only");
            }
        } else if (node.num_outputs() > 1) {
            return unsupported(node.describe() + ": training-mode outputs before opset 14");
        }
        const bool per_element = context.opset < 9 && node.attr_int("spatial", 1) == 0;
        return KernelPtr(new BatchNormKernel(node, training, per_element));
    });
}

}  // namespace pare
