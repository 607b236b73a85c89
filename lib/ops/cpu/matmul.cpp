// oneDNN matmul for ai.onnx MatMul, Gemm and QLinearMatMul and their private extensions (fused activation; MatMul's
// added bias; QLinearMatMul's int32 bias).
// Constant weights are reordered once into the primitive's preferred (blocked) layout. A MatMul of a batched input
// with a 2-D weight runs as one 2-D product over the flattened batch. Transposed Gemm operands are described with
// strides, never copied.
#include "graph/fused_ops.h"
#include "ops/cpu/dnnl_int8.h"
#include "ops/cpu/dnnl_kernel.h"
#include "ops/kernel_util.h"
#include "ops/register_kernels.h"
#include "ops/registry.h"

namespace pare {

namespace {

using dt = dnnl::memory::data_type;
using tag = dnnl::memory::format_tag;

dnnl::memory::desc strided_desc(const dnnl::memory::dims& dims, const dnnl::memory::dims& strides) {
    return dnnl::memory::desc(dims, dt::f32, strides);
}

Shape shape_of(const dnnl::memory::desc& desc) {
    const dnnl::memory::dims dims = desc.dims();
    return Shape(dims.begin(), dims.end());
}

// `shape` with leading 1s up to `rank`.
Shape left_pad(const Shape& shape, size_t rank) {
    Shape padded(rank - std::min(rank, shape.size()), 1);
    padded.insert(padded.end(), shape.begin(), shape.end());
    return padded;
}

// The products both ops reduce to: dst[batch, M, N] = scale * src[batch, M, K] @ weights[batch, K, N] (+ bias)
// followed by post-ops, with every operand's layout given by a descriptor.
struct Product {
    dnnl::memory::desc src, weights, dst;
    std::optional<Tensor> constant_weights;  // reordered once when known
    dnnl::memory::desc bias;                 // zero desc: none
    float scale = 1.0f;
    dnnl::memory::desc added;  // binary-add post-op operand (zero desc: none)
    std::optional<Tensor> constant_added;  // its value when the kernel computed it (Gemm's beta * C)
    Activation activation;
    std::optional<DnnlInt8Params> int8;    // QLinearMatMul: scales, zero points and the s8 weights
};

class DnnlMatMulBase : public DnnlKernel {
public:
    DnnlMatMulBase(const KernelContext& context, Activation activation) : DnnlKernel(context), activation_(activation) {}

protected:
    // Builds the primitive; `bias_input` and `added_input` are the pare inputs bound to bias and the post-op.
    Status build(Product product, int bias_input, int added_input) {
        dnnl::primitive_attr attr;
        if (product.int8) {
            const int columns_mask = 1 << (product.dst.dims().size() - 1);
            PARE_RETURN_IF_ERROR(set_int8_attr(*product.int8, product.activation, columns_mask, attr));
            product.constant_weights = product.int8->weights.reshaped(shape_of(product.weights));
        } else {
            dnnl::post_ops ops;
            if (product.added != dnnl::memory::desc()) ops.append_binary(dnnl::algorithm::binary_add, product.added);
            if (!append_activation(ops, product.activation)) return unsupported("activation has no oneDNN post-op");
            attr.set_post_ops(ops);
            if (product.scale != 1.0f) attr.set_output_scales(0, {product.scale});
        }
        const dnnl::memory::desc weights_any =
            product.constant_weights ? dnnl::memory::desc(product.weights.dims(), product.weights.data_type(), tag::any)
                                     : product.weights;
        const dnnl::matmul::desc desc(product.src, weights_any, product.bias, product.dst);
        const dnnl::matmul::primitive_desc pd(desc, attr, dnnl_engine());
        step_ = DnnlStep(dnnl::matmul(pd), {});
        if (product.int8) bind_int8_zero_points(*product.int8, step_);
        step_.bind(DNNL_ARG_SRC, dnnl::memory(product.src, dnnl_engine(), DNNL_MEMORY_NONE));
        step_.bind(DNNL_ARG_DST, dnnl::memory(product.dst, dnnl_engine(), DNNL_MEMORY_NONE));
        weights_constant_ = product.constant_weights.has_value();
        if (weights_constant_) {
            step_.bind(DNNL_ARG_WEIGHTS, reorder_constant(*product.constant_weights, product.weights, pd.weights_desc()));
        } else {
            step_.bind(DNNL_ARG_WEIGHTS, dnnl::memory(product.weights, dnnl_engine(), DNNL_MEMORY_NONE));
        }
        bias_input_ = product.bias != dnnl::memory::desc() ? bias_input : -1;
        if (bias_input_ >= 0) step_.bind(DNNL_ARG_BIAS, dnnl::memory(product.bias, dnnl_engine(), DNNL_MEMORY_NONE));
        added_input_ = product.added != dnnl::memory::desc() && !product.constant_added ? added_input : -1;
        if (product.constant_added) {
            constant_added_ = *product.constant_added;
            step_.bind(kAddedArg, wrap_tensor(constant_added_, product.added));
        } else if (added_input_ >= 0) {
            step_.bind(kAddedArg, dnnl::memory(product.added, dnnl_engine(), DNNL_MEMORY_NONE));
        }
        return Status();
    }

    Status run_dnnl(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs) override {
        step_.set_data(DNNL_ARG_SRC, inputs[0].raw());
        if (!weights_constant_) step_.set_data(DNNL_ARG_WEIGHTS, inputs[1].raw());  // MatMul's B
        if (bias_input_ >= 0) step_.set_data(DNNL_ARG_BIAS, inputs[bias_input_].raw());
        if (added_input_ >= 0) step_.set_data(kAddedArg, inputs[added_input_].raw());
        step_.set_data(DNNL_ARG_DST, outputs[0].raw());
        step_.execute();
        return Status();
    }

    Activation activation_;

private:
    static constexpr int kAddedArg = DNNL_ARG_ATTR_MULTIPLE_POST_OP(0) | DNNL_ARG_SRC_1;
    DnnlStep step_;
    bool weights_constant_ = false;
    int bias_input_ = -1;
    int added_input_ = -1;
    Tensor constant_added_;
};

class DnnlMatMul : public DnnlMatMulBase {
public:
    DnnlMatMul(const KernelContext& context, Activation activation, int bias)
        : DnnlMatMulBase(context, activation), bias_(bias) {}

protected:
    Status prepare_dnnl(const std::vector<InputInfo>& inputs, std::vector<OutputInfo>& outputs) override {
        const Node& n = node();
        PARE_RETURN_IF_ERROR(check_input_count(n, inputs, 2, bias_ >= 0 ? bias_ + 1 : 2));
        for (const auto& input : inputs) {
            if (input.present && input.dtype != DType::kF32) return unsupported("only float32 MatMul");
        }
        Shape a = inputs[0].shape, b = inputs[1].shape;
        if (a.empty() || b.empty()) return invalid_input(n.describe() + ": MatMul of a scalar");
        const bool a_vector = a.size() == 1, b_vector = b.size() == 1;
        if (a_vector) a.insert(a.begin(), 1);
        if (b_vector) b.push_back(1);
        const int64_t m = a[a.size() - 2], k = a.back(), n_cols = b.back();
        if (b[b.size() - 2] != k) {
            return invalid_input(n.describe() + ": MatMul of " + shape_to_string(inputs[0].shape) + " and " +
                                 shape_to_string(inputs[1].shape));
        }
        PARE_ASSIGN_OR_RETURN(Shape batch, broadcast_shapes(Shape(a.begin(), a.end() - 2), Shape(b.begin(), b.end() - 2)));
        Shape y = batch;
        if (!a_vector) y.push_back(m);
        if (!b_vector) y.push_back(n_cols);
        outputs = {OutputInfo{DType::kF32, y}};

        set_work(2.0 * static_cast<double>(shape_numel(y)) * static_cast<double>(k),
                 4.0 * static_cast<double>(shape_numel(a) + shape_numel(b) + shape_numel(y)));
        Product product;
        product.activation = activation_;
        Shape full_y = batch;
        full_y.push_back(m);
        full_y.push_back(n_cols);
        if (b.size() == 2) {
            // One 2-D product over every row of every batch of A.
            const int64_t rows = shape_numel(a) / k;
            product.src = plain_desc({rows, k}, DType::kF32);
            product.weights = plain_desc({k, n_cols}, DType::kF32);
            product.dst = plain_desc({rows, n_cols}, DType::kF32);
            full_y = {rows, n_cols};
        } else {
            product.src = plain_desc(left_pad(a, full_y.size()), DType::kF32);
            product.weights = plain_desc(left_pad(b, full_y.size()), DType::kF32);
            product.dst = plain_desc(full_y, DType::kF32);
        }
        if (inputs[1].value) product.constant_weights = inputs[1].value->reshaped(shape_of(product.weights));

        const bool has_bias = bias_ >= 0 && static_cast<int>(inputs.size()) > bias_ && inputs[bias_].present;
        if (has_bias) {
            const Shape& bias = inputs[bias_].shape;
            PARE_ASSIGN_OR_RETURN(Shape joint, broadcast_shapes(y, bias));
            if (joint != y) return unsupported("the bias broadcasts the output");
            if (shape_numel(bias) == n_cols && (bias.empty() || bias.back() == n_cols)) {
                product.bias = plain_desc(left_pad({n_cols}, full_y.size()), DType::kF32);
            } else if (bias == y) {
                product.added = product.dst;
            } else {
                return unsupported("a bias that is neither per column nor full");
            }
        }
        return build(product, bias_, bias_);
    }

private:
    int bias_;
};

class DnnlGemm : public DnnlMatMulBase {
public:
    DnnlGemm(const KernelContext& context, Activation activation) : DnnlMatMulBase(context, activation) {}

protected:
    Status prepare_dnnl(const std::vector<InputInfo>& inputs, std::vector<OutputInfo>& outputs) override {
        const Node& n = node();
        if (opset() > 0 && opset() < 7) return unsupported("Gemm before opset 7 (broadcast attribute)");
        PARE_RETURN_IF_ERROR(check_input_count(n, inputs, 2, 3));
        for (const auto& input : inputs) {
            if (input.present && input.dtype != DType::kF32) return unsupported("only float32 Gemm");
        }
        const Shape& a = inputs[0].shape;
        const Shape& b = inputs[1].shape;
        if (a.size() != 2 || b.size() != 2) {
            return invalid_input(n.describe() + ": Gemm of " + shape_to_string(a) + " and " + shape_to_string(b));
        }
        const bool trans_a = n.attr_int("transA", 0) != 0, trans_b = n.attr_int("transB", 0) != 0;
        const float alpha = n.attr_float("alpha", 1.0f), beta = n.attr_float("beta", 1.0f);
        const int64_t m = trans_a ? a[1] : a[0], k = trans_a ? a[0] : a[1];
        const int64_t n_cols = trans_b ? b[0] : b[1];
        if ((trans_b ? b[1] : b[0]) != k) {
            return invalid_input(n.describe() + ": Gemm of " + shape_to_string(a) + " and " + shape_to_string(b) +
                                 " (transA " + std::to_string(trans_a) + ", transB " + std::to_string(trans_b) + ")");
        }
        const Shape y = {m, n_cols};
        outputs = {OutputInfo{DType::kF32, y}};

        set_work(2.0 * static_cast<double>(m * n_cols * k), 4.0 * static_cast<double>(m * k + k * n_cols + m * n_cols));
        Product product;
        product.activation = activation_;
        product.scale = alpha;
        product.src = strided_desc({m, k}, trans_a ? dnnl::memory::dims{1, m} : dnnl::memory::dims{k, 1});
        product.weights = strided_desc({k, n_cols}, trans_b ? dnnl::memory::dims{1, k} : dnnl::memory::dims{n_cols, 1});
        product.dst = plain_desc(y, DType::kF32);
        if (inputs[1].value) product.constant_weights = *inputs[1].value;

        const bool has_c = inputs.size() > 2 && inputs[2].present && beta != 0.0f;
        if (has_c) {
            const Shape& c = inputs[2].shape;
            PARE_ASSIGN_OR_RETURN(Shape joint, broadcast_shapes(y, c));
            if (joint != y || c.size() > 2) {
                return invalid_input(n.describe() + ": C " + shape_to_string(c) + " does not broadcast to " +
                                     shape_to_string(y));
            }
            // A per-column C is the primitive's bias, added before the output scale; anything else (or alpha != 1)
            // is a binary post-op, added after it.
            const Shape c_full = left_pad(c, 2);
            if (alpha == 1.0f && beta == 1.0f && c_full == Shape{1, n_cols}) {
                product.bias = plain_desc(c_full, DType::kF32);
            } else {
                product.added = plain_desc(c_full, DType::kF32);
            }
            if (beta != 1.0f) {
                if (!inputs[2].value) return unsupported("beta other than 1 with a C that is not constant");
                Tensor scaled = inputs[2].value->clone();
                float* values = scaled.data<float>();
                for (int64_t i = 0; i < scaled.numel(); ++i) values[i] *= beta;
                product.constant_added = scaled;
            }
        }
        return build(product, 2, 2);
    }
};

// QLinearMatMul with constant 2-D weights: a [..., K] flattened to rows, dst [..., N]; pare's private extension adds
// an int32 bias (input 8) and an activation.
class DnnlQLinearMatMul : public DnnlMatMulBase {
public:
    DnnlQLinearMatMul(const KernelContext& context, Activation activation, bool has_bias_input)
        : DnnlMatMulBase(context, activation), has_bias_input_(has_bias_input) {}

protected:
    Status prepare_dnnl(const std::vector<InputInfo>& inputs, std::vector<OutputInfo>& outputs) override {
        const Node& n = node();
        PARE_RETURN_IF_ERROR(check_input_count(n, inputs, 8, has_bias_input_ ? 9 : 8));
        const Shape& a = inputs[0].shape;
        const Shape& b = inputs[3].shape;
        if (b.size() != 2) return unsupported("weights that are not 2-D");
        if (a.empty() || a.back() != b[0]) {
            return invalid_input(n.describe() + ": QLinearMatMul of " + shape_to_string(a) + " and " + shape_to_string(b));
        }
        Product product;
        PARE_ASSIGN_OR_RETURN(product.int8, read_int8_params(n, inputs, 1));
        const int64_t k = b[0], n_cols = b[1], rows = shape_numel(a) / k;
        Shape y(a.begin(), a.end() - 1);
        y.push_back(n_cols);
        outputs = {OutputInfo{product.int8->y_type, y}};
        set_work(2.0 * static_cast<double>(rows * n_cols * k), static_cast<double>(rows * k + k * n_cols + rows * n_cols));
        product.activation = activation_;
        product.src = plain_desc({rows, k}, inputs[0].dtype);
        product.weights = plain_desc({k, n_cols}, DType::kI8);
        product.dst = plain_desc({rows, n_cols}, product.int8->y_type);
        const bool has_bias = inputs.size() > 8 && inputs[8].present;
        if (has_bias) {
            if (inputs[8].dtype != DType::kI32 || shape_numel(inputs[8].shape) != n_cols) {
                return invalid_input(n.describe() + ": bias " + shape_to_string(inputs[8].shape) + " of type " +
                                     dtype_name(inputs[8].dtype) + " for " + std::to_string(n_cols) + " columns");
            }
            product.bias = plain_desc({1, n_cols}, DType::kI32);
        }
        return build(product, 8, -1);
    }

private:
    bool has_bias_input_;
};

Result<KernelPtr> create_qlinear_matmul(const KernelContext& context) {
    Activation activation;
    const bool private_op = is_pare_node(context.node);
    if (private_op) {
        PARE_ASSIGN_OR_RETURN(activation, activation_of_private(context.node));
    }
    return KernelPtr(new DnnlQLinearMatMul(context, activation, private_op));
}

Result<KernelPtr> create_matmul(const KernelContext& context) {
    Activation activation;
    int bias = -1;
    if (is_pare_node(context.node)) {
        PARE_ASSIGN_OR_RETURN(activation, activation_of_private(context.node));
        bias = private_added_input("MatMul");
    }
    return KernelPtr(new DnnlMatMul(context, activation, bias));
}

Result<KernelPtr> create_gemm(const KernelContext& context) {
    Activation activation;
    if (is_pare_node(context.node)) {
        PARE_ASSIGN_OR_RETURN(activation, activation_of_private(context.node));
    }
    return KernelPtr(new DnnlGemm(context, activation));
}

}  // namespace

void register_onednn_matmul_kernels(KernelRegistry& registry) {
    for (const char* domain : {"", kPareDomain}) {
        registry.add(KernelEntry{domain, "MatMul", "onednn", Backend::kCpu, 10, create_matmul});
        registry.add(KernelEntry{domain, "Gemm", "onednn", Backend::kCpu, 10, create_gemm});
        registry.add(KernelEntry{domain, "QLinearMatMul", "onednn", Backend::kCpu, 10, create_qlinear_matmul});
    }
}

}  // namespace pare
