// Normalizations other than BatchNormalization: LayerNormalization (with its optional Mean and InvStdDev outputs),
// InstanceNormalization, MeanVarianceNormalization and LRN. Statistics are computed in double, two-pass.
#include <algorithm>
#include <cmath>
#include <set>

#include "ops/index_util.h"
#include "ops/kernel_util.h"
#include "ops/ref/compute_type.h"
#include "ops/register_kernels.h"
#include "ops/registry.h"

namespace pare {

namespace {

const std::vector<DType> kFloatTypes = {DType::kF32, DType::kF64, DType::kF16, DType::kBF16};

struct Moments {
    double mean = 0;
    double variance = 0;  // population variance
};

// Mean and variance of count elements spaced `stride` apart.
template <class T>
Moments moments(const T* src, int64_t count, int64_t stride = 1) {
    Moments m;
    if (count == 0) return m;
    for (int64_t i = 0; i < count; ++i) m.mean += static_cast<double>(src[i * stride]);
    m.mean /= static_cast<double>(count);
    for (int64_t i = 0; i < count; ++i) {
        const double d = static_cast<double>(src[i * stride]) - m.mean;
        m.variance += d * d;
    }
    m.variance /= static_cast<double>(count);
    return m;
}

// Element values of a small parameter tensor, in double.
std::vector<double> to_doubles(const Tensor& t) {
    std::vector<double> values(static_cast<size_t>(t.numel()));
    for (size_t i = 0; i < values.size(); ++i) values[i] = t.element_as_double(static_cast<int64_t>(i));
    return values;
}

class LayerNormKernel : public Kernel {
  public:
    explicit LayerNormKernel(const Node& node)
        : node_(node),
          axis_(node.attr_int("axis", -1)),
          epsilon_(node.attr_float("epsilon", 1e-5f)),
          stash_dtype_(dtype_from_onnx(static_cast<int32_t>(node.attr_int("stash_type", 1)))) {}

    Status prepare(const std::vector<InputInfo>& inputs, std::vector<OutputInfo>& outputs) override {
        PARE_RETURN_IF_ERROR(check_input_count(node_, inputs, 2, 3));
        PARE_RETURN_IF_ERROR(check_input_dtype(node_, inputs, 0, kFloatTypes));
        if (!dtype_is_float(stash_dtype_)) return invalid_input(node_.describe() + ": stash_type is not a float type");
        const Shape& x = inputs[0].shape;
        PARE_ASSIGN_OR_RETURN(const int64_t axis, normalize_axis(axis_, static_cast<int64_t>(x.size()), node_));
        const Shape normalized(x.begin() + axis, x.end());
        rows_ = shape_numel(Shape(x.begin(), x.begin() + axis));
        row_length_ = shape_numel(normalized);
        // Scale and B apply along the normalized dims, broadcasting within them.
        for (int i = 1; i < static_cast<int>(inputs.size()); ++i) {
            if (!inputs[i].present) continue;
            PARE_RETURN_IF_ERROR(check_input_dtype(node_, inputs, i, kFloatTypes));
            auto broadcast = broadcast_shapes(inputs[i].shape, normalized);
            if (inputs[i].shape.size() > normalized.size() || !broadcast.ok() || *broadcast != normalized) {
                return unsupported(node_.describe() + ": input " + std::to_string(i) + " of shape " +
                                   shape_to_string(inputs[i].shape) + " does not broadcast to the normalized dims " +
                                   shape_to_string(normalized));
            }
            (i == 1 ? scale_strides_ : bias_strides_) = broadcast_strides(inputs[i].shape, normalized);
        }
        normalized_ = normalized;
        Shape stats_shape(x.begin(), x.begin() + axis);
        stats_shape.resize(x.size(), 1);
        outputs = {OutputInfo{inputs[0].dtype, x}};
        for (int i = 1; i < node_.num_outputs() && i < 3; ++i) outputs.push_back(OutputInfo{stash_dtype_, stats_shape});
        return Status();
    }

    Status run(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs) override {
        compute_in_float(inputs[0], outputs[0],
                         [&](const auto* src, auto* dst) { compute(src, dst, inputs, outputs); });
        return Status();
    }

  private:
    template <class T>
    void compute(const T* src, T* dst, const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs) const {
        const bool has_bias = inputs.size() > 2 && inputs[2].defined();
        // Scale and B expanded to one value per position of a row.
        std::vector<double> scale(row_length_), bias(row_length_, 0.0);
        const std::vector<double> scale_values = to_doubles(inputs[1]);
        const std::vector<double> bias_values = has_bias ? to_doubles(inputs[2]) : std::vector<double>();
        NdCounter it(normalized_);
        for (int64_t j = 0; j < row_length_; ++j, it.next()) {
            int64_t s = 0, b = 0;
            for (size_t d = 0; d < normalized_.size(); ++d) {
                s += it.index()[d] * scale_strides_[d];
                if (has_bias) b += it.index()[d] * bias_strides_[d];
            }
            scale[j] = scale_values[s];
            if (has_bias) bias[j] = bias_values[b];
        }
        Tensor mean(DType::kF64, {rows_}), inv_std(DType::kF64, {rows_});
#pragma omp parallel for if (rows_ * row_length_ > 65536)
        for (int64_t r = 0; r < rows_; ++r) {
            const T* row = src + r * row_length_;
            const Moments m = moments(row, row_length_);
            const double inverse = 1.0 / std::sqrt(m.variance + epsilon_);
            for (int64_t i = 0; i < row_length_; ++i) {
                dst[r * row_length_ + i] =
                    static_cast<T>((static_cast<double>(row[i]) - m.mean) * inverse * scale[i] + bias[i]);
            }
            mean.data<double>()[r] = m.mean;
            inv_std.data<double>()[r] = inverse;
        }
        for (size_t o = 1; o < outputs.size(); ++o) {
            const Tensor narrowed = (o == 1 ? mean : inv_std).cast(outputs[o].dtype());
            std::copy_n(static_cast<const char*>(narrowed.raw()), narrowed.nbytes(),
                        static_cast<char*>(outputs[o].raw()));
        }
    }

    const Node& node_;
    int64_t axis_;
    double epsilon_;
    DType stash_dtype_;
    int64_t rows_ = 0, row_length_ = 0;
    Shape normalized_;
    std::vector<int64_t> scale_strides_, bias_strides_;
};

class InstanceNormKernel : public Kernel {
  public:
    explicit InstanceNormKernel(const Node& node) : node_(node), epsilon_(node.attr_float("epsilon", 1e-5f)) {}

    Status prepare(const std::vector<InputInfo>& inputs, std::vector<OutputInfo>& outputs) override {
        PARE_RETURN_IF_ERROR(check_input_count(node_, inputs, 3, 3));
        PARE_RETURN_IF_ERROR(check_input_dtype(node_, inputs, 0, kFloatTypes));
        const Shape& x = inputs[0].shape;
        if (x.size() < 3)
            return invalid_input(node_.describe() + ": X must be [N, C, D...], got " + shape_to_string(x));
        for (int i = 1; i < 3; ++i) {
            PARE_RETURN_IF_ERROR(check_input_dtype(node_, inputs, i, kFloatTypes));
            if (inputs[i].shape != Shape{x[1]}) {
                return invalid_input(node_.describe() + ": input " + std::to_string(i) + " has shape " +
                                     shape_to_string(inputs[i].shape) + " for X " + shape_to_string(x));
            }
        }
        outputs = {OutputInfo{inputs[0].dtype, x}};
        return Status();
    }

    Status run(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs) override {
        compute_in_float(inputs[0], outputs[0],
                         [&](const auto* src, auto* dst) { compute(src, dst, inputs, outputs); });
        return Status();
    }

  private:
    template <class T>
    void compute(const T* src, T* dst, const std::vector<Tensor>& inputs, std::vector<Tensor>&) const {
        const Shape& shape = inputs[0].shape();
        const std::vector<double> scale = to_doubles(inputs[1]), bias = to_doubles(inputs[2]);
        const int64_t channels = shape[1], planes = shape[0] * channels;
        const int64_t plane_size = shape_numel(Shape(shape.begin() + 2, shape.end()));
#pragma omp parallel for if (planes * plane_size > 65536)
        for (int64_t p = 0; p < planes; ++p) {
            const T* plane = src + p * plane_size;
            const Moments m = moments(plane, plane_size);
            const double inverse = 1.0 / std::sqrt(m.variance + epsilon_);
            const int64_t c = p % channels;
            for (int64_t i = 0; i < plane_size; ++i) {
                dst[p * plane_size + i] =
                    static_cast<T>((static_cast<double>(plane[i]) - m.mean) * inverse * scale[c] + bias[c]);
            }
        }
    }

    const Node& node_;
    double epsilon_;
};

// Y = (X - mean) / (sqrt(variance) + 1e-9) over `axes`, as in the op's function body.
class MeanVarianceNormKernel : public Kernel {
  public:
    explicit MeanVarianceNormKernel(const Node& node) : node_(node) {}

    Status prepare(const std::vector<InputInfo>& inputs, std::vector<OutputInfo>& outputs) override {
        PARE_RETURN_IF_ERROR(check_input_count(node_, inputs, 1, 1));
        PARE_RETURN_IF_ERROR(check_input_dtype(node_, inputs, 0, kFloatTypes));
        const Shape& x = inputs[0].shape;
        std::vector<int64_t> axes =
            node_.has_attribute("axes") ? node_.attr_ints("axes") : std::vector<int64_t>{0, 2, 3};
        reduced_.assign(x.size(), false);
        for (int64_t axis : axes) {
            PARE_ASSIGN_OR_RETURN(const int64_t a, normalize_axis(axis, static_cast<int64_t>(x.size()), node_));
            if (a >= static_cast<int64_t>(x.size())) {  // normalize_axis lets axis 0 through for scalars
                return invalid_input(node_.describe() + ": axis " + std::to_string(axis) + " for a scalar input");
            }
            reduced_[a] = true;
        }
        outputs = {OutputInfo{inputs[0].dtype, x}};
        return Status();
    }

    Status run(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs) override {
        compute_in_float(inputs[0], outputs[0],
                         [&](const auto* src, auto* dst) { compute(src, dst, inputs, outputs); });
        return Status();
    }

  private:
    template <class T>
    void compute(const T* src, T* dst, const std::vector<Tensor>& inputs, std::vector<Tensor>&) const {
        const Shape& shape = inputs[0].shape();
        // Each element belongs to the group of elements sharing its coordinates along the kept axes.
        Shape kept;
        for (size_t d = 0; d < shape.size(); ++d) kept.push_back(reduced_[d] ? 1 : shape[d]);
        const std::vector<int64_t> group_strides = broadcast_strides(kept, shape);
        const int64_t count = shape_numel(shape), groups = shape_numel(kept);
        std::vector<int64_t> group_of(static_cast<size_t>(count));
        NdCounter it(shape);
        for (int64_t e = 0; e < count; ++e, it.next()) {
            int64_t g = 0;
            for (size_t d = 0; d < shape.size(); ++d) g += it.index()[d] * group_strides[d];
            group_of[e] = g;
        }
        const double group_size = static_cast<double>(count / std::max<int64_t>(1, groups));
        std::vector<double> mean(groups, 0.0), variance(groups, 0.0);
        for (int64_t e = 0; e < count; ++e) mean[group_of[e]] += static_cast<double>(src[e]);
        for (double& m : mean) m /= group_size;
        for (int64_t e = 0; e < count; ++e) {
            const double d = static_cast<double>(src[e]) - mean[group_of[e]];
            variance[group_of[e]] += d * d;
        }
        for (int64_t e = 0; e < count; ++e) {
            const int64_t g = group_of[e];
            dst[e] =
                static_cast<T>((static_cast<double>(src[e]) - mean[g]) / (std::sqrt(variance[g] / group_size) + 1e-9));
        }
    }

    const Node& node_;
    std::vector<bool> reduced_;
};

// Local response normalization across channels: Y = X / (bias + alpha / size * sum of squares)^beta, the sum over
// channels [c - floor((size - 1) / 2), c + ceil((size - 1) / 2)].
class LrnKernel : public Kernel {
  public:
    explicit LrnKernel(const Node& node)
        : node_(node),
          size_(node.attr_int("size", 0)),
          alpha_(node.attr_float("alpha", 1e-4f)),
          beta_(node.attr_float("beta", 0.75f)),
          bias_(node.attr_float("bias", 1.0f)) {}

    Status prepare(const std::vector<InputInfo>& inputs, std::vector<OutputInfo>& outputs) override {
        PARE_RETURN_IF_ERROR(check_input_count(node_, inputs, 1, 1));
        PARE_RETURN_IF_ERROR(check_input_dtype(node_, inputs, 0, kFloatTypes));
        if (size_ < 1) return invalid_input(node_.describe() + ": size must be positive");
        if (inputs[0].shape.size() < 2) {
            return invalid_input(node_.describe() + ": X must be [N, C, ...], got " + shape_to_string(inputs[0].shape));
        }
        outputs = {OutputInfo{inputs[0].dtype, inputs[0].shape}};
        return Status();
    }

    Status run(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs) override {
        compute_in_float(inputs[0], outputs[0],
                         [&](const auto* src, auto* dst) { compute(src, dst, inputs, outputs); });
        return Status();
    }

  private:
    template <class T>
    void compute(const T* src, T* dst, const std::vector<Tensor>& inputs, std::vector<Tensor>&) const {
        const Shape& shape = inputs[0].shape();
        const int64_t channels = shape[1], planes = shape[0] * channels;
        const int64_t plane_size = shape_numel(Shape(shape.begin() + 2, shape.end()));
        const int64_t before = (size_ - 1) / 2, after = size_ - 1 - before;
#pragma omp parallel for if (planes * plane_size * size_ > 65536)
        for (int64_t p = 0; p < planes; ++p) {
            const int64_t c = p % channels, image = p - c;
            const int64_t first = std::max<int64_t>(0, c - before), last = std::min(channels - 1, c + after);
            for (int64_t i = 0; i < plane_size; ++i) {
                double squares = 0;
                for (int64_t k = first; k <= last; ++k) {
                    const double v = static_cast<double>(src[(image + k) * plane_size + i]);
                    squares += v * v;
                }
                const double v = static_cast<double>(src[p * plane_size + i]);
                dst[p * plane_size + i] =
                    static_cast<T>(v / std::pow(bias_ + alpha_ / static_cast<double>(size_) * squares, beta_));
            }
        }
    }

    const Node& node_;
    int64_t size_;
    double alpha_, beta_, bias_;
};

template <class KernelType>
void add_norm(KernelRegistry& registry, const std::string& op) {
    registry.add_reference(
        op, [](const KernelContext& context) -> Result<KernelPtr> { return KernelPtr(new KernelType(context.node)); });
}

}  // namespace

void register_norm_kernels(KernelRegistry& registry) {
    add_norm<LayerNormKernel>(registry, "LayerNormalization");
    add_norm<InstanceNormKernel>(registry, "InstanceNormalization");
    add_norm<MeanVarianceNormKernel>(registry, "MeanVarianceNormalization");
    add_norm<LrnKernel>(registry, "LRN");
}

}  // namespace pare
