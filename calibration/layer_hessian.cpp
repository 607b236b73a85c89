#include "calibration/layer_hessian.h"

#include <Eigen/Core>
#include <algorithm>

#include "core/progress.h"
#include "ops/conv_geometry.h"
#include "report/model_runner.h"

namespace pare {

namespace {

using RowMatrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// Input vectors are copied to float64 this many values at a time, which bounds the scratch memory.
constexpr int64_t kChunkValues = int64_t(1) << 21;

void add_outer_products(const RowMatrix& x, int64_t first_col, int64_t cols, std::vector<double>& sum) {
    Eigen::Map<RowMatrix> s(sum.data(), cols, cols);
    const auto block = x.middleCols(first_col, cols);
    s.noalias() += block.transpose() * block;
}

void start(LayerHessian& into, int64_t groups, int64_t cols) {
    if (!into.sums.empty()) return;
    into.cols = cols;
    into.sums.assign(static_cast<size_t>(groups), std::vector<double>(static_cast<size_t>(cols * cols), 0.0));
}

// MatMul [..., M, K] x [K, N] and Gemm (transA: A is [K, M]): the rows of the input, as vectors of K.
Status accumulate_rows(const Node& node, const Shape& weight_shape, const Tensor& input, LayerHessian& into) {
    const bool gemm = node.op_type() == "Gemm";
    const bool trans_a = gemm && node.attr_int("transA", 0) != 0;
    const int64_t k = gemm && node.attr_int("transB", 0) ? weight_shape[1] : weight_shape[0];
    const int64_t rank = input.rank();
    const bool fits = gemm ? rank == 2 && input.dim(trans_a ? 0 : 1) == k : rank >= 1 && input.dim(rank - 1) == k;
    if (!fits) {
        return invalid_input(node.describe() + ": input of shape " + shape_to_string(input.shape()) +
                             " does not meet a weight of shape " + shape_to_string(weight_shape));
    }
    start(into, 1, k);
    const float* src = input.data<float>();
    const int64_t vectors = input.numel() / std::max<int64_t>(k, 1);
    const int64_t chunk = std::max<int64_t>(1, kChunkValues / std::max<int64_t>(k, 1));
    for (int64_t first = 0; first < vectors; first += chunk) {
        const int64_t count = std::min(chunk, vectors - first);
        RowMatrix x(count, k);
        for (int64_t v = 0; v < count; ++v) {
            for (int64_t c = 0; c < k; ++c) {
                x(v, c) = trans_a ? src[c * vectors + first + v] : src[(first + v) * k + c];
            }
        }
        add_outer_products(x, 0, k, into.sums[0]);
    }
    into.vectors += vectors;
    return Status();
}

// Conv: the im2col patch of every output position, columns ordered as the weight's [C/group, kernel...] (padding
// taps are 0). All groups' patches are built together and each group's block of columns feeds its own Hessian.
Status accumulate_patches(const Node& node, const Shape& weight_shape, const Tensor& input, LayerHessian& into) {
    const int64_t group = node.attr_int("group", 1);
    const size_t spatial = weight_shape.size() - 2;
    if (input.rank() != static_cast<int64_t>(spatial + 2) || group <= 0 || input.dim(1) != weight_shape[1] * group) {
        return invalid_input(node.describe() + ": input of shape " + shape_to_string(input.shape()) +
                             " does not meet a weight of shape " + shape_to_string(weight_shape));
    }
    PARE_ASSIGN_OR_RETURN(const WindowAttributes attributes, read_window_attributes(node));
    const Shape input_spatial(input.shape().begin() + 2, input.shape().end());
    const Shape kernel_spatial(weight_shape.begin() + 2, weight_shape.end());
    PARE_ASSIGN_OR_RETURN(const WindowGeometry geometry,
                          forward_window_geometry(node, attributes, input_spatial, kernel_spatial));
    const int64_t channels = input.dim(1), batch = input.dim(0);
    const int64_t taps = shape_numel(kernel_spatial), cols = weight_shape[1] * taps;
    const int64_t positions = shape_numel(Shape(geometry.output.begin(), geometry.output.end()));
    const int64_t image = shape_numel(input_spatial);
    start(into, group, cols);

    // Per tap, its offset along each axis; per output position, its window's start along each axis.
    std::vector<std::vector<int64_t>> tap_offsets(static_cast<size_t>(taps), std::vector<int64_t>(spatial));
    for (int64_t t = 0; t < taps; ++t) {
        for (int64_t a = static_cast<int64_t>(spatial) - 1, rest = t; a >= 0; --a) {
            tap_offsets[t][a] = (rest % geometry.kernel[a]) * geometry.dilations[a];
            rest /= geometry.kernel[a];
        }
    }
    const float* src = input.data<float>();
    const int64_t vectors = batch * positions;
    const int64_t chunk = std::max<int64_t>(1, kChunkValues / std::max<int64_t>(channels * taps, 1));
    std::vector<int64_t> origin(spatial);
    for (int64_t first = 0; first < vectors; first += chunk) {
        const int64_t count = std::min(chunk, vectors - first);
        RowMatrix x(count, channels * taps);
        for (int64_t v = 0; v < count; ++v) {
            const int64_t n = (first + v) / positions;
            for (int64_t a = static_cast<int64_t>(spatial) - 1, rest = (first + v) % positions; a >= 0; --a) {
                origin[a] = (rest % geometry.output[a]) * geometry.strides[a] - geometry.pads_begin[a];
                rest /= geometry.output[a];
            }
            for (int64_t t = 0; t < taps; ++t) {
                int64_t offset = 0;
                bool inside = true;
                for (size_t a = 0; a < spatial && inside; ++a) {
                    const int64_t p = origin[a] + tap_offsets[t][a];
                    inside = p >= 0 && p < geometry.input[a];
                    offset = offset * geometry.input[a] + p;
                }
                for (int64_t c = 0; c < channels; ++c) {
                    x(v, c * taps + t) = inside ? src[(n * channels + c) * image + offset] : 0.0;
                }
            }
        }
        for (int64_t g = 0; g < group; ++g) add_outer_products(x, g * cols, cols, into.sums[g]);
    }
    into.vectors += vectors;
    return Status();
}

}  // namespace

std::vector<double> LayerHessian::hessian(size_t group) const {
    std::vector<double> h = sums.at(group);
    const double scale = vectors > 0 ? 2.0 / static_cast<double>(vectors) : 0.0;
    for (double& v : h) v *= scale;
    return h;
}

bool has_layer_hessian(const Node& node, const Shape& weight_shape) {
    if (!node.is_onnx_domain() || node.num_inputs() < 2) return false;
    if (node.op_type() == "Conv") return weight_shape.size() >= 3;
    return (node.op_type() == "Gemm" || node.op_type() == "MatMul") && weight_shape.size() == 2;
}

Status accumulate_layer_hessian(const Node& node, const Shape& weight_shape, const Tensor& input, LayerHessian& into) {
    if (!has_layer_hessian(node, weight_shape)) {
        return invalid_input(node.describe() + ": no input Hessian for this layer and weight shape " +
                             shape_to_string(weight_shape));
    }
    const Tensor values = input.dtype() == DType::kF32 ? input : input.cast(DType::kF32);
    return node.op_type() == "Conv" ? accumulate_patches(node, weight_shape, values, into)
                                    : accumulate_rows(node, weight_shape, values, into);
}

Result<LayerHessians> collect_layer_hessians(const Model& model, const std::vector<HessianLayer>& layers,
                                             Dataset& dataset, const SessionOptions& options, int64_t batch) {
    if (batch <= 0) return usage_error("the calibration batch size must be positive");
    if (dataset.samples() == 0) return invalid_input("the calibration data has no samples");
    const Graph& graph = model.graph;
    struct Reader {
        const Node* node;
        Shape weight_shape;
        LayerHessian* hessian;
    };
    LayerHessians hessians;
    std::map<std::string, std::vector<Reader>> readers;  // observed input -> the layers that read it
    SessionOptions observing = options;
    for (const auto& layer : layers) {
        const int index = graph.producer(layer.output);
        if (index < 0) return invalid_input("no node computes '" + layer.output + "'");
        const Node& node = graph.nodes[index];
        if (!has_layer_hessian(node, layer.weight_shape)) {
            return invalid_input(node.describe() + ": no input Hessian for a weight of shape " +
                                 shape_to_string(layer.weight_shape));
        }
        readers[node.input(0)].push_back({&node, layer.weight_shape, &hessians[layer.output]});
        observing.observed.insert(node.input(0));
    }
    ModelRunner runner(model, observing, "hessians");
    PARE_RETURN_IF_ERROR(dataset.check_against(runner.input_types()));
    const int64_t step = runner.fixed_batch() > 0 ? runner.fixed_batch() : batch;
    int64_t batch_size = 0;
    Status failure;
    runner.set_observer([&](const std::string& name, const Tensor& value) {
        auto found = readers.find(name);
        if (!failure.ok() || found == readers.end() || !dtype_is_float(value.dtype())) return;
        Tensor rows = value;  // a padded last batch: only its real samples count
        if (value.rank() > 0 && value.dim(0) == step && batch_size < step) {
            Shape shape = value.shape();
            shape[0] = batch_size;
            rows = Tensor(value.dtype(), shape, value.buffer(), value.offset());
        }
        for (const Reader& reader : found->second) {
            if (failure.ok())
                failure = accumulate_layer_hessian(*reader.node, reader.weight_shape, rows, *reader.hessian);
        }
    });
    Progress progress("hessians", dataset.samples());
    for (int64_t batch_start = 0; batch_start < dataset.samples(); batch_start += batch_size) {
        batch_size = std::min(step, dataset.samples() - batch_start);
        PARE_ASSIGN_OR_RETURN(std::vector<Tensor> inputs, dataset.read(batch_start, batch_size));
        PARE_RETURN_IF_ERROR(runner.run(inputs).status());
        PARE_RETURN_IF_ERROR(failure);
        progress.advance(batch_size);
    }
    return hessians;
}

}  // namespace pare
