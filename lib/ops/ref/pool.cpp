// Pooling: MaxPool (with its optional Indices output), AveragePool, LpPool, and their Global forms, which are the same
// pools with a window covering the whole spatial extent. Windows come from conv_geometry and window.h like Conv's.
#include <cmath>
#include <limits>
#include <type_traits>

#include "ops/conv_geometry.h"
#include "ops/kernel_util.h"
#include "ops/ref/compute_type.h"
#include "ops/ref/window.h"
#include "ops/register_kernels.h"
#include "ops/registry.h"

namespace pare {

namespace {

enum class PoolKind { kMax, kAverage, kLp };

const std::vector<DType> kFloatTypes = {DType::kF32, DType::kF64, DType::kF16, DType::kBF16};
const std::vector<DType> kMaxPoolTypes = {DType::kF32, DType::kF64, DType::kF16, DType::kBF16, DType::kI8, DType::kU8};

template <class T>
bool is_nan(T v) {
    if constexpr (std::is_floating_point_v<T>) return std::isnan(v);
    return false;
}

class PoolKernel : public Kernel {
  public:
    PoolKernel(const Node& node, PoolKind kind, bool global, WindowAttributes attributes)
        : node_(node),
          kind_(kind),
          global_(global),
          attributes_(std::move(attributes)),
          count_include_pad_(node.attr_int("count_include_pad", 0) != 0),
          column_major_indices_(node.attr_int("storage_order", 0) != 0),
          p_(static_cast<double>(node.attr_int("p", 2))) {}

    Status prepare(const std::vector<InputInfo>& inputs, std::vector<OutputInfo>& outputs) override {
        PARE_RETURN_IF_ERROR(check_input_count(node_, inputs, 1, 1));
        PARE_RETURN_IF_ERROR(
            check_input_dtype(node_, inputs, 0, kind_ == PoolKind::kMax ? kMaxPoolTypes : kFloatTypes));
        const Shape& x = inputs[0].shape;
        if (x.size() < 3) {
            return invalid_input(node_.describe() + ": expects [N, C, spatial...], got " + shape_to_string(x));
        }
        const Shape spatial(x.begin() + 2, x.end());
        if (global_) attributes_.kernel_shape = spatial;
        if (attributes_.kernel_shape.empty()) return invalid_input(node_.describe() + " needs kernel_shape");
        PARE_ASSIGN_OR_RETURN(geometry_,
                              forward_window_geometry(node_, attributes_, spatial, attributes_.kernel_shape));
        offsets_ = tap_offset_table(geometry_);
        if (kind_ == PoolKind::kAverage && count_include_pad_) {
            divisors_.clear();
            NdCounter out(geometry_.output);
            for (int64_t p = 0, positions = shape_numel(geometry_.output); p < positions; ++p, out.next()) {
                divisors_.push_back(padded_window_size(geometry_, out.index()));
            }
        }
        Shape out = {x[0], x[1]};
        out.insert(out.end(), geometry_.output.begin(), geometry_.output.end());
        outputs = {OutputInfo{inputs[0].dtype, out}};
        if (node_.num_outputs() > 1) {
            if (kind_ != PoolKind::kMax || global_) return invalid_input(node_.describe() + " has one output");
            outputs.push_back(OutputInfo{DType::kI64, out});
        }
        return Status();
    }

    Status run(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs) override {
        const Tensor x = widen(inputs[0]);
        Tensor dst = compute_buffer(outputs[0]);
        int64_t* indices = outputs.size() > 1 ? outputs[1].data<int64_t>() : nullptr;
        switch (x.dtype()) {
            case DType::kF32:
                pool<float>(x, dst, indices);
                break;
            case DType::kF64:
                pool<double>(x, dst, indices);
                break;
            case DType::kI8:
                pool<int8_t>(x, dst, indices);
                break;
            case DType::kU8:
                pool<uint8_t>(x, dst, indices);
                break;
            default:
                return internal_error(node_.describe() + ": unexpected dtype " + dtype_name(x.dtype()));
        }
        narrow_into(dst, outputs[0]);
        return Status();
    }

  private:
    template <class T>
    void pool(const Tensor& x, Tensor& dst, int64_t* indices) const {
        const int64_t planes = x.shape()[0] * x.shape()[1];
        const int64_t in_plane = shape_numel(geometry_.input), out_plane = shape_numel(geometry_.output);
        const int64_t taps = shape_numel(geometry_.kernel);
        const T* src = x.data<T>();
        T* out = dst.data<T>();
#pragma omp parallel for if (planes * out_plane * taps > 65536)
        for (int64_t plane = 0; plane < planes; ++plane) {
            const T* image = src + plane * in_plane;
            for (int64_t p = 0; p < out_plane; ++p) {
                const int64_t* tap_offsets = offsets_.data() + p * taps;
                T& result = out[plane * out_plane + p];
                if (kind_ == PoolKind::kMax) {
                    // The first maximum in window order wins; a NaN tap makes the result NaN.
                    T best = std::numeric_limits<T>::lowest();
                    int64_t best_offset = -1;
                    for (int64_t t = 0; t < taps; ++t) {
                        if (tap_offsets[t] < 0) continue;
                        const T v = image[tap_offsets[t]];
                        if (best_offset < 0 || v > best || (is_nan(v) && !is_nan(best))) {
                            best = v;
                            best_offset = tap_offsets[t];
                        }
                    }
                    result = best;
                    if (indices) {
                        indices[plane * out_plane + p] = plane * in_plane + index_of(std::max<int64_t>(0, best_offset));
                    }
                    continue;
                }
                double sum = 0;
                int64_t inside = 0;
                for (int64_t t = 0; t < taps; ++t) {
                    if (tap_offsets[t] < 0) continue;
                    const double v = static_cast<double>(image[tap_offsets[t]]);
                    sum += kind_ == PoolKind::kAverage ? v : std::pow(std::fabs(v), p_);
                    ++inside;
                }
                if (kind_ == PoolKind::kLp) {
                    result = static_cast<T>(std::pow(sum, 1.0 / p_));
                } else {
                    const int64_t divisor = count_include_pad_ ? divisors_[p] : inside;
                    result = static_cast<T>(divisor > 0 ? sum / static_cast<double>(divisor) : 0.0);
                }
            }
        }
    }

    // The Indices value of an input-plane offset: row-major, or column-major over the spatial dims (storage_order 1).
    int64_t index_of(int64_t offset) const {
        if (!column_major_indices_) return offset;
        int64_t index = 0, scale = 1;
        std::vector<int64_t> position(geometry_.rank());
        for (size_t i = geometry_.rank(); i-- > 0;) {
            position[i] = offset % geometry_.input[i];
            offset /= geometry_.input[i];
        }
        for (size_t i = 0; i < geometry_.rank(); ++i) {
            index += position[i] * scale;
            scale *= geometry_.input[i];
        }
        return index;
    }

    const Node& node_;
    PoolKind kind_;
    bool global_;
    WindowAttributes attributes_;
    bool count_include_pad_;
    bool column_major_indices_;
    double p_;
    WindowGeometry geometry_;
    std::vector<int64_t> offsets_;   // tap_offset_table(geometry_)
    std::vector<int64_t> divisors_;  // AveragePool with count_include_pad: padded window size per output position
};

void add_pool(KernelRegistry& registry, const std::string& op, PoolKind kind, bool global) {
    registry.add_reference(op, [kind, global](const KernelContext& context) -> Result<KernelPtr> {
        WindowAttributes attributes;
        if (!global) {
            PARE_ASSIGN_OR_RETURN(attributes, read_window_attributes(context.node));
        }
        if (kind == PoolKind::kLp && context.node.attr_int("p", 2) <= 0) {
            return invalid_input(context.node.describe() + ": p must be positive");
        }
        return KernelPtr(new PoolKernel(context.node, kind, global, std::move(attributes)));
    });
}

}  // namespace

void register_pool_kernels(KernelRegistry& registry) {
    add_pool(registry, "MaxPool", PoolKind::kMax, false);
    add_pool(registry, "AveragePool", PoolKind::kAverage, false);
    add_pool(registry, "LpPool", PoolKind::kLp, false);
    add_pool(registry, "GlobalMaxPool", PoolKind::kMax, true);
    add_pool(registry, "GlobalAveragePool", PoolKind::kAverage, true);
    add_pool(registry, "GlobalLpPool", PoolKind::kLp, true);
}

}  // namespace pare
