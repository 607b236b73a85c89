// Resize (opsets 10, 11, 13, 18, 19) and Upsample (opsets 7, 9). Each output coordinate along an axis maps to a
// source coordinate (coordinate_transformation_mode); nearest mode then picks one source element per axis (a byte
// gather, so every whole-byte dtype works), linear and cubic interpolate separably, one axis after another, in
// double. Integer outputs of linear/cubic are rounded to nearest (ties to even) and saturated. Resize 10 and
// Upsample use asymmetric coordinates with ONNX Runtime's historical nearest rounding (floor when enlarging, ceil
// when shrinking). antialias (opset 18) is not supported for linear and cubic.
#include <cmath>
#include <map>

#include "ops/index_util.h"
#include "ops/kernel_util.h"
#include "ops/register_kernels.h"
#include "ops/registry.h"

namespace pare {

namespace {

enum class Mode { kNearest, kLinear, kCubic };
enum class Coordinates { kHalfPixel, kHalfPixelSymmetric, kPytorchHalfPixel, kAlignCorners, kAsymmetric,
                         kTfHalfPixelForNn, kTfCropAndResize };
enum class Rounding { kRoundPreferFloor, kRoundPreferCeil, kFloor, kCeil, kLegacy };

struct ResizeAttributes {
    Mode mode = Mode::kNearest;
    Coordinates coordinates = Coordinates::kHalfPixel;
    Rounding rounding = Rounding::kRoundPreferFloor;
    double cubic_a = -0.75;
    bool exclude_outside = false;
    double extrapolation = 0.0;
    std::string aspect_policy = "stretch";
    std::vector<int64_t> axes;  // opset 18: the axes scales, sizes and roi refer to (empty: all)
};

// One axis: sizes, scale, and the roi used by tf_crop_and_resize.
struct AxisPlan {
    int64_t in = 0, out = 0;
    double scale = 1.0;
    double resized_length = 0.0;  // scale * in as ONNX's reference computes it (== out when sizes were given)
    double roi_start = 0.0, roi_end = 1.0;
};

// Interpolation taps of one axis: `count` (source index, weight) pairs per output coordinate.
struct Taps {
    int count = 0;
    std::vector<int64_t> index;
    std::vector<double> weight;
    std::vector<char> outside;  // 1: tf_crop_and_resize extrapolates this coordinate
};

// Source coordinate of output coordinate x.
double source_coordinate(Coordinates coordinates, const AxisPlan& axis, int64_t x) {
    const double in = static_cast<double>(axis.in), length = axis.resized_length, scale = axis.scale;
    const double xd = static_cast<double>(x);
    switch (coordinates) {
        case Coordinates::kHalfPixelSymmetric: {
            const double adjustment = static_cast<double>(axis.out) / length;
            return in / 2 * (1 - adjustment) + (xd + 0.5) / scale - 0.5;
        }
        case Coordinates::kPytorchHalfPixel: return length > 1 ? (xd + 0.5) / scale - 0.5 : 0.0;
        case Coordinates::kAlignCorners: return length == 1 ? 0.0 : xd * (in - 1) / (length - 1);
        case Coordinates::kAsymmetric: return xd / scale;
        case Coordinates::kTfHalfPixelForNn: return (xd + 0.5) / scale;
        case Coordinates::kTfCropAndResize:
            return length > 1
                       ? axis.roi_start * (in - 1) + xd * (axis.roi_end - axis.roi_start) * (in - 1) / (length - 1)
                       : 0.5 * (axis.roi_start + axis.roi_end) * (in - 1);
        default: return (xd + 0.5) / scale - 0.5;
    }
}

bool extrapolated(Coordinates coordinates, const AxisPlan& axis, double x) {
    return coordinates == Coordinates::kTfCropAndResize && (x < 0 || x > static_cast<double>(axis.in - 1));
}

int64_t nearest_index(Rounding rounding, const AxisPlan& axis, double x) {
    const double lower = std::floor(x), fraction = x - lower;
    double chosen;
    switch (rounding) {
        case Rounding::kRoundPreferCeil: chosen = fraction < 0.5 ? lower : lower + 1; break;
        case Rounding::kFloor: chosen = lower; break;
        case Rounding::kCeil: chosen = std::ceil(x); break;
        case Rounding::kLegacy: chosen = axis.scale < 1 ? std::ceil(x) : lower; break;
        default: chosen = fraction <= 0.5 ? lower : lower + 1; break;
    }
    return std::min(std::max<int64_t>(static_cast<int64_t>(chosen), 0), axis.in - 1);
}

// Keys' cubic convolution weights for the four taps around a point `ratio` in (0, 1] past the second tap.
void cubic_weights(double ratio, double a, double* w) {
    auto near = [a](double d) { return ((a + 2) * d - (a + 3)) * d * d + 1; };             // |d| <= 1
    auto far = [a](double d) { return ((a * d - 5 * a) * d + 8 * a) * d - 4 * a; };       // 1 < |d| < 2
    w[0] = far(ratio + 1);
    w[1] = near(ratio);
    w[2] = near(1 - ratio);
    w[3] = far(2 - ratio);
}

Taps interpolation_taps(const ResizeAttributes& attributes, const AxisPlan& axis) {
    Taps taps;
    taps.count = attributes.mode == Mode::kCubic ? 4 : 2;
    for (int64_t x = 0; x < axis.out; ++x) {
        const double source = source_coordinate(attributes.coordinates, axis, x);
        taps.outside.push_back(extrapolated(attributes.coordinates, axis, source));
        // The tap at `base` is the last one at or left of the point, with ratio in (0, 1] (ONNX's convention).
        const double base = std::ceil(source) - 1, ratio = source - base;
        double w[4];
        int64_t first;
        if (attributes.mode == Mode::kCubic) {
            cubic_weights(ratio, attributes.cubic_a, w);
            first = static_cast<int64_t>(base) - 1;
        } else {
            w[0] = 1 - ratio;
            w[1] = ratio;
            first = static_cast<int64_t>(base);
        }
        double sum = 0;
        for (int t = 0; t < taps.count; ++t) {
            const int64_t i = first + t;
            if (attributes.exclude_outside && (i < 0 || i >= axis.in)) w[t] = 0;
            sum += w[t];
        }
        for (int t = 0; t < taps.count; ++t) {
            taps.index.push_back(std::min(std::max<int64_t>(first + t, 0), axis.in - 1));
            taps.weight.push_back(attributes.exclude_outside && sum != 0 ? w[t] / sum : w[t]);
        }
    }
    return taps;
}

class ResizeKernel : public Kernel {
public:
    ResizeKernel(const KernelContext& context, ResizeAttributes attributes)
        : node_(context.node), opset_(context.opset), attributes_(std::move(attributes)) {}

    Status prepare(const std::vector<InputInfo>& inputs, std::vector<OutputInfo>& outputs) override {
        const bool upsample = node_.op_type() == "Upsample";
        const bool modern = !upsample && opset_ >= 11;  // X, roi, scales, sizes
        const int max_inputs = modern ? 4 : upsample && opset_ < 9 ? 1 : 2;
        PARE_RETURN_IF_ERROR(check_input_count(node_, inputs, 1, max_inputs));
        const DType dtype = inputs[0].dtype;
        PARE_ASSIGN_OR_RETURN(element_bytes_, movable_element_bytes(dtype, node_));
        if (attributes_.mode != Mode::kNearest && !dtype_is_float(dtype) && !dtype_is_integer(dtype)) {
            return unsupported(node_.describe() + ": linear and cubic resize of " + dtype_name(dtype) + " tensors");
        }
        outputs = {OutputInfo{dtype, {}, false}};
        auto given = [&](int i) { return i < static_cast<int>(inputs.size()) && inputs[i].present &&
                                         shape_numel(inputs[i].shape) > 0; };
        const int roi_input = modern ? 1 : -1, scales_input = modern ? 2 : 1, sizes_input = modern ? 3 : -1;
        const bool needs_roi = attributes_.coordinates == Coordinates::kTfCropAndResize && given(roi_input);
        for (int i : {scales_input, sizes_input, needs_roi ? roi_input : -1}) {
            if (i >= 0 && given(i) && !inputs[i].value) return Status();
        }
        std::vector<double> scales, sizes, roi;
        auto doubles = [](const Tensor& t) {
            std::vector<double> values;
            for (int64_t i = 0; i < t.numel(); ++i) values.push_back(t.element_as_double(i));
            return values;
        };
        if (upsample && opset_ < 9) {
            for (float s : node_.attr_floats("scales")) scales.push_back(s);
        } else if (given(scales_input)) {
            scales = doubles(*inputs[scales_input].value);
        }
        if (sizes_input >= 0 && given(sizes_input)) sizes = doubles(*inputs[sizes_input].value);
        if (needs_roi) roi = doubles(*inputs[roi_input].value);
        PARE_ASSIGN_OR_RETURN(plan_, plan_axes(inputs[0].shape, scales, sizes, roi));
        Shape out;
        for (const auto& axis : plan_) out.push_back(axis.out);
        PARE_RETURN_IF_ERROR(check_output_shape(out, node_));
        build_kernels();
        outputs[0].shape = out;
        outputs[0].shape_known = true;
        return Status();
    }

    Status run(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs) override {
        const Tensor& src = inputs[0];
        Tensor& dst = outputs[0];
        if (attributes_.mode == Mode::kNearest) {
            const Tensor fill = tensor_from_vector<double>({attributes_.extrapolation}, {}).cast(src.dtype());
            gather_by_axis_offsets(src.raw(), offsets_, dst.raw(), element_bytes_, fill.raw());
            return Status();
        }
        std::vector<double> values(static_cast<size_t>(src.numel()));
        for (int64_t i = 0; i < src.numel(); ++i) values[i] = src.element_as_double(i);
        Shape shape = src.shape();
        for (size_t a = 0; a < plan_.size(); ++a) {
            if (!taps_[a].count) continue;
            values = interpolate_axis(values, shape, a, taps_[a]);
            shape[a] = plan_[a].out;
        }
        Tensor result = tensor_from_vector<double>(values, shape);
        if (!dtype_is_float(dst.dtype())) {
            double* r = result.data<double>();
            for (int64_t i = 0; i < result.numel(); ++i) r[i] = std::nearbyint(r[i]);
        }
        const Tensor typed = result.cast(dst.dtype());
        std::copy_n(static_cast<const char*>(typed.raw()), typed.nbytes(), static_cast<char*>(dst.raw()));
        return Status();
    }

private:
    // Output size, scale and roi of every axis.
    Result<std::vector<AxisPlan>> plan_axes(const Shape& in, const std::vector<double>& scales,
                                            const std::vector<double>& sizes, const std::vector<double>& roi) const {
        const int64_t rank = static_cast<int64_t>(in.size());
        std::vector<int64_t> axes = attributes_.axes;
        if (axes.empty()) {
            for (int64_t a = 0; a < rank; ++a) axes.push_back(a);
        }
        PARE_ASSIGN_OR_RETURN(axes, normalize_axes(axes, rank, node_));
        const size_t n = axes.size();
        if (scales.empty() == sizes.empty() || (!scales.empty() && scales.size() != n) ||
            (!sizes.empty() && sizes.size() != n) || (!roi.empty() && roi.size() != 2 * n)) {
            return invalid_input(node_.describe() + ": needs exactly one of scales and sizes, with one value per "
                                 "resized axis of " + shape_to_string(in) + " (and roi with two)");
        }
        std::vector<AxisPlan> plan(in.size());
        for (size_t a = 0; a < in.size(); ++a) plan[a].in = plan[a].out = in[a];
        double common = 0;  // keep_aspect_ratio_policy's single scale
        for (size_t k = 0; k < n && !sizes.empty() && attributes_.aspect_policy != "stretch"; ++k) {
            const double s = sizes[k] / static_cast<double>(in[axes[k]]);
            common = k == 0 ? s : attributes_.aspect_policy == "not_larger" ? std::min(common, s) : std::max(common, s);
        }
        if (!(common >= 0 && common < 1e9)) {
            return invalid_input(node_.describe() + ": sizes do not give a usable keep_aspect_ratio_policy scale");
        }
        for (size_t k = 0; k < n; ++k) {
            AxisPlan& axis = plan[axes[k]];
            if (!roi.empty()) {
                axis.roi_start = roi[k];
                axis.roi_end = roi[k + n];
            }
            if (!scales.empty()) {
                axis.scale = scales[k];
                if (!(axis.scale > 0) || !(axis.scale * axis.in < 1e15)) {
                    return invalid_input(node_.describe() + ": scale " + std::to_string(axis.scale) + " is not valid");
                }
                axis.out = static_cast<int64_t>(std::floor(axis.scale * axis.in));
                axis.resized_length = axis.scale * axis.in;
                continue;
            }
            if (common > 0) {
                axis.out = static_cast<int64_t>(std::floor(common * axis.in + 0.5));
                axis.scale = common;
                axis.resized_length = common * axis.in;
                continue;
            }
            if (sizes[k] < 0 || sizes[k] > 1e15) {
                return invalid_input(node_.describe() + ": size " + std::to_string(sizes[k]) + " is not valid");
            }
            axis.out = static_cast<int64_t>(sizes[k]);
            axis.scale = axis.in ? sizes[k] / static_cast<double>(axis.in) : 1.0;
            axis.resized_length = sizes[k];
        }
        return plan;
    }

    // Nearest: per-axis source offsets; linear/cubic: per-axis taps (none where the axis is unchanged).
    void build_kernels() {
        const Shape in = [&] {
            Shape s;
            for (const auto& axis : plan_) s.push_back(axis.in);
            return s;
        }();
        const std::vector<int64_t> strides = shape_strides(in);
        offsets_.assign(plan_.size(), {});
        taps_.assign(plan_.size(), Taps{});
        for (size_t a = 0; a < plan_.size(); ++a) {
            const AxisPlan& axis = plan_[a];
            if (attributes_.mode != Mode::kNearest) {
                const bool identity = axis.in == axis.out && axis.scale == 1.0 &&
                                      attributes_.coordinates != Coordinates::kTfCropAndResize;
                if (!identity && axis.out > 0) taps_[a] = interpolation_taps(attributes_, axis);
                continue;
            }
            for (int64_t x = 0; x < axis.out; ++x) {
                const double source = source_coordinate(attributes_.coordinates, axis, x);
                offsets_[a].push_back(extrapolated(attributes_.coordinates, axis, source)
                                          ? kFillOffset
                                          : nearest_index(attributes_.rounding, axis, source) * strides[a]);
            }
        }
    }

    // One separable pass: resizes axis `a` of `values` (shape `shape`) with `taps`.
    std::vector<double> interpolate_axis(const std::vector<double>& values, const Shape& shape, size_t a,
                                         const Taps& taps) const {
        const AxisSplit split = split_at_axis(shape, static_cast<int64_t>(a));
        const int64_t outer = split.outer, inner = split.inner;
        const int64_t in = shape[a], out = plan_[a].out;
        std::vector<double> result(static_cast<size_t>(outer * out * inner));
#pragma omp parallel for if (outer * out * inner > 65536)
        for (int64_t row = 0; row < outer * out; ++row) {
            const int64_t o = row / out, x = row % out;
            double* dst = result.data() + row * inner;
            if (taps.outside[x]) {
                std::fill(dst, dst + inner, attributes_.extrapolation);
                continue;
            }
            std::fill(dst, dst + inner, 0.0);
            for (int t = 0; t < taps.count; ++t) {
                const double w = taps.weight[x * taps.count + t];
                const double* src = values.data() + (o * in + taps.index[x * taps.count + t]) * inner;
                for (int64_t i = 0; i < inner; ++i) dst[i] += w * src[i];
            }
        }
        return result;
    }

    const Node& node_;
    int64_t opset_;
    ResizeAttributes attributes_;
    std::vector<AxisPlan> plan_;
    AxisOffsets offsets_;
    std::vector<Taps> taps_;
    size_t element_bytes_ = 0;
};

// Reads and checks the attributes; declines antialiasing and Upsample before opset 7.
Result<KernelPtr> make_resize(const KernelContext& context) {
    const Node& node = context.node;
    const bool legacy = node.op_type() == "Upsample" || context.opset < 11;
    if (node.op_type() == "Upsample" && context.opset < 7) {
        return unsupported(node.describe() + ": Upsample before opset 7");
    }
    ResizeAttributes attributes;
    const std::string mode = node.attr_string("mode", "nearest");
    if (mode == "nearest") attributes.mode = Mode::kNearest;
    else if (mode == "linear") attributes.mode = Mode::kLinear;
    else if (mode == "cubic" && !legacy) attributes.mode = Mode::kCubic;
    else return invalid_input(node.describe() + ": unknown mode " + mode);
    if (attributes.mode != Mode::kNearest && node.attr_int("antialias", 0) != 0) {
        return unsupported(node.describe() + ": antialiased linear/cubic resize");
    }
    if (legacy) {
        attributes.coordinates = Coordinates::kAsymmetric;
        attributes.rounding = Rounding::kLegacy;
        return KernelPtr(new ResizeKernel(context, attributes));
    }
    static const std::map<std::string, Coordinates> coordinates = {
        {"half_pixel", Coordinates::kHalfPixel}, {"half_pixel_symmetric", Coordinates::kHalfPixelSymmetric},
        {"pytorch_half_pixel", Coordinates::kPytorchHalfPixel}, {"align_corners", Coordinates::kAlignCorners},
        {"asymmetric", Coordinates::kAsymmetric}, {"tf_half_pixel_for_nn", Coordinates::kTfHalfPixelForNn},
        {"tf_crop_and_resize", Coordinates::kTfCropAndResize}};
    static const std::map<std::string, Rounding> roundings = {
        {"round_prefer_floor", Rounding::kRoundPreferFloor}, {"round_prefer_ceil", Rounding::kRoundPreferCeil},
        {"floor", Rounding::kFloor}, {"ceil", Rounding::kCeil}};
    const std::string coordinate_mode = node.attr_string("coordinate_transformation_mode", "half_pixel");
    const std::string rounding = node.attr_string("nearest_mode", "round_prefer_floor");
    attributes.aspect_policy = node.attr_string("keep_aspect_ratio_policy", "stretch");
    if (!coordinates.count(coordinate_mode) || !roundings.count(rounding) ||
        (attributes.aspect_policy != "stretch" && attributes.aspect_policy != "not_larger" &&
         attributes.aspect_policy != "not_smaller")) {
        return invalid_input(node.describe() + ": unknown coordinate_transformation_mode, nearest_mode or "
                             "keep_aspect_ratio_policy");
    }
    attributes.coordinates = coordinates.at(coordinate_mode);
    attributes.rounding = roundings.at(rounding);
    attributes.cubic_a = node.attr_float("cubic_coeff_a", -0.75f);
    attributes.exclude_outside = node.attr_int("exclude_outside", 0) != 0;
    attributes.extrapolation = node.attr_float("extrapolation_value", 0.0f);
    attributes.axes = node.attr_ints("axes");
    return KernelPtr(new ResizeKernel(context, attributes));
}

}  // namespace

void register_resize_kernels(KernelRegistry& registry) {
    registry.add_reference("Resize", make_resize);
    registry.add_reference("Upsample", make_resize);
}

}  // namespace pare
