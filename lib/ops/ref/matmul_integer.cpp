// MatMulInteger and QLinearMatMul: numpy-style batched matrix products of 8-bit integers with int32 accumulation.
// Zero points (and QLinearMatMul's scales) are per tensor, per row of A ([M] or [..., M, 1]) or per column of B
// ([N] or [..., 1, N]). The products are computed on centered int32 copies, (A - a_zero_point) x (B - b_zero_point),
// multiplied by the shared reference_gemm, which wraps int32 sums as the spec allows (overflow only in 32 bits).
#include <string>

#include "ops/kernel_util.h"
#include "ops/quantize_math.h"
#include "ops/ref/matrix_multiply.h"
#include "ops/ref/quant_common.h"
#include "ops/register_kernels.h"
#include "ops/registry.h"

namespace pare {

namespace {

// Shapes of a numpy matmul: A [..., M, K] x B [..., K, N] -> [broadcast(...), M, N]; a 1-D A is [1, K] and a 1-D
// B is [K, 1], with that dimension dropped from the output.
struct MatMulGeometry {
    int64_t m = 1, k = 1, n = 1;
    Shape out;
    std::vector<int64_t> a_batch, b_batch;  // per output matrix, the matrix index in A and in B
};

Result<MatMulGeometry> matmul_geometry(const Shape& a, const Shape& b, const Node& node) {
    if (a.empty() || b.empty()) return invalid_input(node.describe() + ": matmul inputs must have rank >= 1");
    MatMulGeometry g;
    const Shape a2 = a.size() == 1 ? Shape{1, a[0]} : a;
    const Shape b2 = b.size() == 1 ? Shape{b[0], 1} : b;
    g.m = a2[a2.size() - 2];
    g.k = a2.back();
    g.n = b2.back();
    if (b2[b2.size() - 2] != g.k) {
        return invalid_input(node.describe() + ": shapes " + shape_to_string(a) + " and " + shape_to_string(b) +
                             " do not multiply");
    }
    const Shape a_batch(a2.begin(), a2.end() - 2), b_batch(b2.begin(), b2.end() - 2);
    PARE_ASSIGN_OR_RETURN(Shape batch, broadcast_shapes(a_batch, b_batch));
    const std::vector<int64_t> a_strides = broadcast_strides(a_batch, batch),
                               b_strides = broadcast_strides(b_batch, batch);
    const int64_t count = shape_numel(batch);
    for (int64_t index = 0; index < count; ++index) {
        int64_t rest = index, a_index = 0, b_index = 0;
        for (int64_t d = static_cast<int64_t>(batch.size()) - 1; d >= 0; --d) {
            const int64_t coord = rest % batch[d];
            rest /= batch[d];
            a_index += coord * a_strides[d];
            b_index += coord * b_strides[d];
        }
        g.a_batch.push_back(a_index);
        g.b_batch.push_back(b_index);
    }
    g.out = batch;
    if (a.size() > 1) g.out.push_back(g.m);
    if (b.size() > 1) g.out.push_back(g.n);
    return g;
}

// Where a per-tensor, per-row (rows = true: one value per row of A) or per-column (one per column of B) parameter
// sits: `view` is its shape as a broadcastable tensor, `target` the shape [..., M, 1] or [..., 1, N] it expands to.
struct ParamLayout {
    Shape view;
    Shape target;
};

Result<ParamLayout> param_layout(const Shape& param, const Shape& matrix, bool rows, const Node& node,
                                 const std::string& what) {
    const Shape m2 = matrix.size() == 1 ? (rows ? Shape{1, matrix[0]} : Shape{matrix[0], 1}) : matrix;
    ParamLayout layout;
    layout.target.assign(m2.begin(), m2.end() - 2);
    layout.target.push_back(rows ? m2[m2.size() - 2] : 1);
    layout.target.push_back(rows ? 1 : m2.back());
    layout.view = param;
    if (shape_numel(param) == 1)
        layout.view = {};
    else if (param.size() == 1)
        layout.view = rows ? Shape{param[0], 1} : Shape{1, param[0]};
    auto broadcast = broadcast_shapes(layout.target, layout.view);
    if (layout.view.size() > layout.target.size() || !broadcast.ok() || *broadcast != layout.target) {
        const int64_t lines = rows ? m2[m2.size() - 2] : m2.back();
        return invalid_input(node.describe() + ": " + what + " of shape " + shape_to_string(param) +
                             " is neither per tensor nor per " + (rows ? "row" : "column") + " of " +
                             shape_to_string(matrix) + " (" + std::to_string(lines) + " values)");
    }
    return layout;
}

// The parameter expanded to one value per row of every A matrix ([..., M]) or per column of every B matrix.
std::vector<double> expand_param(const Tensor& param, const ParamLayout& layout) {
    const Shape& target = layout.target;
    const std::vector<int64_t> strides = broadcast_strides(layout.view, target);
    const int64_t count = shape_numel(target);
    std::vector<double> values(static_cast<size_t>(count));
    for (int64_t index = 0; index < count; ++index) {
        int64_t rest = index, offset = 0;
        for (int64_t d = static_cast<int64_t>(target.size()) - 1; d >= 0; --d) {
            offset += (rest % target[d]) * strides[d];
            rest /= target[d];
        }
        values[index] = param.element_as_double(offset);
    }
    return values;
}

// Checks an optional zero point (dtype of its input, per tensor/row/column) and returns its layout.
Result<ParamLayout> zero_point_layout(const std::vector<InputInfo>& inputs, size_t index, const InputInfo& x, bool rows,
                                      const Node& node) {
    if (index >= inputs.size() || !inputs[index].present) return ParamLayout{};
    if (inputs[index].dtype != x.dtype) {
        return invalid_input(node.describe() + ": zero point is " + dtype_name(inputs[index].dtype) +
                             " but its input is " + dtype_name(x.dtype));
    }
    return param_layout(inputs[index].shape, x.shape, rows, node, "zero point");
}

// x - zero_point as int32, the zero point expanded per row (A) or per column (B); an undefined zero point is 0.
std::vector<int32_t> centered(const Tensor& x, const Tensor& zero_point, const ParamLayout& layout, bool rows) {
    std::vector<int32_t> values(static_cast<size_t>(x.numel()));
    const std::vector<double> zp = zero_point.defined() ? expand_param(zero_point, layout) : std::vector<double>{};
    const int64_t cols = x.shape().back();
    const int64_t rows_per_matrix = x.rank() == 1 ? (rows ? 1 : x.dim(0)) : x.dim(-2);
    for (int64_t i = 0; i < x.numel(); ++i) {
        int64_t line = 0;
        if (zp.size() > 1) line = rows ? i / cols : (i / (cols * rows_per_matrix)) * cols + i % cols;
        values[i] = static_cast<int32_t>(read_quantized(x, i) - (zp.empty() ? 0 : static_cast<int64_t>(zp[line])));
    }
    return values;
}

// acc[b] = a[a_batch[b]] x b[b_batch[b]] for every output matrix, wrapped to int32.
std::vector<int32_t> integer_matmul(const std::vector<int32_t>& a, const std::vector<int32_t>& b,
                                    const MatMulGeometry& g) {
    const int64_t matrices = static_cast<int64_t>(g.a_batch.size());
    std::vector<int32_t> acc(static_cast<size_t>(matrices * g.m * g.n));
    for (int64_t batch = 0; batch < matrices; ++batch) {
        reference_gemm<int32_t>(false, false, g.m, g.n, g.k, 1.0, a.data() + g.a_batch[batch] * g.m * g.k, g.k,
                                b.data() + g.b_batch[batch] * g.k * g.n, g.n, 0.0, acc.data() + batch * g.m * g.n, g.n);
    }
    return acc;
}

class MatMulIntegerKernel : public Kernel {
  public:
    explicit MatMulIntegerKernel(const Node& node) : node_(node) {}

    Status prepare(const std::vector<InputInfo>& inputs, std::vector<OutputInfo>& outputs) override {
        PARE_RETURN_IF_ERROR(check_input_count(node_, inputs, 2, 4));
        PARE_RETURN_IF_ERROR(check_input_dtype(node_, inputs, 0, int8_dtypes()));
        PARE_RETURN_IF_ERROR(check_input_dtype(node_, inputs, 1, int8_dtypes()));
        PARE_ASSIGN_OR_RETURN(geometry_, matmul_geometry(inputs[0].shape, inputs[1].shape, node_));
        PARE_ASSIGN_OR_RETURN(a_zero_point_, zero_point_layout(inputs, 2, inputs[0], true, node_));
        PARE_ASSIGN_OR_RETURN(b_zero_point_, zero_point_layout(inputs, 3, inputs[1], false, node_));
        outputs = {OutputInfo{DType::kI32, geometry_.out}};
        return Status();
    }

    Status run(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs) override {
        const std::vector<int32_t> a = centered(inputs[0], optional_input(inputs, 2), a_zero_point_, true);
        const std::vector<int32_t> b = centered(inputs[1], optional_input(inputs, 3), b_zero_point_, false);
        const std::vector<int32_t> acc = integer_matmul(a, b, geometry_);
        std::copy(acc.begin(), acc.end(), outputs[0].data<int32_t>());
        return Status();
    }

  private:
    const Node& node_;
    MatMulGeometry geometry_;
    ParamLayout a_zero_point_, b_zero_point_;
};

// Inputs: a, a_scale, a_zero_point, b, b_scale, b_zero_point, y_scale, y_zero_point.
class QLinearMatMulKernel : public Kernel {
  public:
    explicit QLinearMatMulKernel(const Node& node) : node_(node) {}

    Status prepare(const std::vector<InputInfo>& inputs, std::vector<OutputInfo>& outputs) override {
        PARE_RETURN_IF_ERROR(check_input_count(node_, inputs, 8, 8));
        PARE_RETURN_IF_ERROR(check_input_dtype(node_, inputs, 0, int8_dtypes()));
        PARE_RETURN_IF_ERROR(check_input_dtype(node_, inputs, 3, int8_dtypes()));
        for (int i : {1, 4, 6}) PARE_RETURN_IF_ERROR(check_input_dtype(node_, inputs, i, scale_dtypes()));
        PARE_ASSIGN_OR_RETURN(geometry_, matmul_geometry(inputs[0].shape, inputs[3].shape, node_));
        PARE_ASSIGN_OR_RETURN(a_zero_point_, zero_point_layout(inputs, 2, inputs[0], true, node_));
        PARE_ASSIGN_OR_RETURN(b_zero_point_, zero_point_layout(inputs, 5, inputs[3], false, node_));
        PARE_ASSIGN_OR_RETURN(a_scale_, param_layout(inputs[1].shape, inputs[0].shape, true, node_, "a_scale"));
        PARE_ASSIGN_OR_RETURN(b_scale_, param_layout(inputs[4].shape, inputs[3].shape, false, node_, "b_scale"));
        if (shape_numel(inputs[6].shape) != 1 || shape_numel(inputs[7].shape) != 1) {
            return unsupported(node_.describe() + ": per-row or per-column output scale " +
                               shape_to_string(inputs[6].shape));
        }
        const DType dtype = inputs[7].dtype;
        if (dtype != DType::kU8 && dtype != DType::kI8) {
            return unsupported(node_.describe() + ": output dtype " + dtype_name(dtype));
        }
        outputs = {OutputInfo{dtype, geometry_.out}};
        return Status();
    }

    Status run(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs) override {
        const std::vector<int32_t> a = centered(inputs[0], inputs[2], a_zero_point_, true);
        const std::vector<int32_t> b = centered(inputs[3], inputs[5], b_zero_point_, false);
        const std::vector<double> a_scale = expand_param(inputs[1], a_scale_);
        const std::vector<double> b_scale = expand_param(inputs[4], b_scale_);
        const float y_scale = static_cast<float>(inputs[6].element_as_double(0));
        const int64_t y_zero_point = read_quantized(inputs[7], 0);
        const std::vector<int32_t> acc = integer_matmul(a, b, geometry_);
        Tensor& dst = outputs[0];
        const QuantRange range = quant_range(dst.dtype());
        const MatMulGeometry& g = geometry_;
        for (int64_t i = 0; i < static_cast<int64_t>(acc.size()); ++i) {
            const int64_t batch = i / (g.m * g.n), m = (i / g.n) % g.m, n = i % g.n;
            const double sa = a_scale.size() == 1 ? a_scale[0] : a_scale[g.a_batch[batch] * g.m + m];
            const double sb = b_scale.size() == 1 ? b_scale[0] : b_scale[g.b_batch[batch] * g.n + n];
            const float multiplier = requantize_multiplier(static_cast<float>(sa), static_cast<float>(sb), y_scale);
            write_quantized(dst, i, requantize(acc[i], multiplier, y_zero_point, range));
        }
        return Status();
    }

  private:
    const Node& node_;
    MatMulGeometry geometry_;
    ParamLayout a_zero_point_, b_zero_point_, a_scale_, b_scale_;
};

}  // namespace

void register_integer_matmul_kernels(KernelRegistry& registry) {
    add_node_kernel<MatMulIntegerKernel>(registry, "MatMulInteger");
    add_node_kernel<QLinearMatMulKernel>(registry, "QLinearMatMul");
}

}  // namespace pare
