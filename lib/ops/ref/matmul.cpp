// MatMul (numpy semantics: batched, broadcasting, 1-D operands promoted then squeezed) and Gemm
// (alpha * op(A) * op(B) + beta * C with C broadcast to the result). Both go through reference_gemm.
#include <algorithm>

#include "ops/index_util.h"
#include "ops/kernel_util.h"
#include "ops/ref/compute_type.h"
#include "ops/ref/matrix_multiply.h"
#include "ops/register_kernels.h"
#include "ops/registry.h"

namespace pare {

namespace {

const std::vector<DType> kMatMulTypes = {DType::kF32, DType::kF64, DType::kF16, DType::kBF16,
                                         DType::kI32, DType::kI64, DType::kU32, DType::kU64};
const std::vector<DType> kFloatTypes = {DType::kF32, DType::kF64, DType::kF16, DType::kBF16};

class MatMulKernel : public Kernel {
  public:
    explicit MatMulKernel(const Node& node) : node_(node) {}

    Status prepare(const std::vector<InputInfo>& inputs, std::vector<OutputInfo>& outputs) override {
        PARE_RETURN_IF_ERROR(check_input_count(node_, inputs, 2, 2));
        PARE_RETURN_IF_ERROR(check_input_dtype(node_, inputs, 0, kMatMulTypes));
        if (inputs[1].dtype != inputs[0].dtype) {
            return invalid_input(node_.describe() + ": operands have different dtypes " + dtype_name(inputs[0].dtype) +
                                 " and " + dtype_name(inputs[1].dtype));
        }
        Shape a = inputs[0].shape, b = inputs[1].shape;
        if (a.empty() || b.empty()) return invalid_input(node_.describe() + ": MatMul operands must not be scalars");
        // numpy: a 1-D A is a row vector, a 1-D B a column vector; the added dim is dropped from the result.
        const bool a_vector = a.size() == 1, b_vector = b.size() == 1;
        if (a_vector) a.insert(a.begin(), 1);
        if (b_vector) b.push_back(1);
        m_ = a[a.size() - 2];
        k_ = a.back();
        n_ = b.back();
        if (b[b.size() - 2] != k_) {
            return invalid_input(node_.describe() + ": inner dimensions differ for shapes " +
                                 shape_to_string(inputs[0].shape) + " and " + shape_to_string(inputs[1].shape));
        }
        a_batch_.assign(a.begin(), a.end() - 2);
        b_batch_.assign(b.begin(), b.end() - 2);
        auto batch = broadcast_shapes(a_batch_, b_batch_);
        if (!batch.ok()) return batch.status().with_context(node_.describe());
        batch_ = *batch;
        Shape out = batch_;
        if (!a_vector) out.push_back(m_);
        if (!b_vector) out.push_back(n_);
        outputs = {OutputInfo{inputs[0].dtype, out}};
        return Status();
    }

    Status run(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs) override {
        const Tensor a = widen(inputs[0]), b = widen(inputs[1]);
        Tensor dst = compute_buffer(outputs[0]);
        switch (a.dtype()) {
            case DType::kF32:
                multiply<float>(a, b, dst);
                break;
            case DType::kF64:
                multiply<double>(a, b, dst);
                break;
            case DType::kI32:
                multiply<int32_t>(a, b, dst);
                break;
            case DType::kI64:
                multiply<int64_t>(a, b, dst);
                break;
            case DType::kU32:
                multiply<uint32_t>(a, b, dst);
                break;
            case DType::kU64:
                multiply<uint64_t>(a, b, dst);
                break;
            default:
                return internal_error(node_.describe() + ": unexpected dtype " + dtype_name(a.dtype()));
        }
        narrow_into(dst, outputs[0]);
        return Status();
    }

  private:
    template <class T>
    void multiply(const Tensor& a, const Tensor& b, Tensor& dst) const {
        const T* a_data = a.data<T>();
        const T* b_data = b.data<T>();
        T* dst_data = dst.data<T>();
        if (b_batch_.empty()) {
            // B is one matrix: every batch of A stacks into one tall product.
            const int64_t rows = shape_numel(a_batch_) * m_;
            reference_gemm<T>(false, false, rows, n_, k_, 1.0, a_data, k_, b_data, n_, 0.0, dst_data, n_);
            return;
        }
        const std::vector<int64_t> a_strides = broadcast_strides(a_batch_, batch_);
        const std::vector<int64_t> b_strides = broadcast_strides(b_batch_, batch_);
        NdCounter it(batch_);
        for (int64_t index = 0, count = shape_numel(batch_); index < count; ++index, it.next()) {
            int64_t a_offset = 0, b_offset = 0;
            for (size_t d = 0; d < batch_.size(); ++d) {
                a_offset += it.index()[d] * a_strides[d];
                b_offset += it.index()[d] * b_strides[d];
            }
            reference_gemm<T>(false, false, m_, n_, k_, 1.0, a_data + a_offset * m_ * k_, k_,
                              b_data + b_offset * k_ * n_, n_, 0.0, dst_data + index * m_ * n_, n_);
        }
    }

    const Node& node_;
    int64_t m_ = 0, n_ = 0, k_ = 0;
    Shape a_batch_, b_batch_, batch_;
};

class GemmKernel : public Kernel {
  public:
    explicit GemmKernel(const Node& node)
        : node_(node),
          trans_a_(node.attr_int("transA", 0) != 0),
          trans_b_(node.attr_int("transB", 0) != 0),
          alpha_(node.attr_float("alpha", 1.0f)),
          beta_(node.attr_float("beta", 1.0f)) {}

    Status prepare(const std::vector<InputInfo>& inputs, std::vector<OutputInfo>& outputs) override {
        PARE_RETURN_IF_ERROR(check_input_count(node_, inputs, 2, 3));
        PARE_RETURN_IF_ERROR(check_input_dtype(node_, inputs, 0, kFloatTypes));
        const DType dtype = inputs[0].dtype;
        has_c_ = inputs.size() > 2 && inputs[2].present;
        const Shape& a = inputs[0].shape;
        const Shape& b = inputs[1].shape;
        auto describe_shapes = [&] {
            std::string text = shape_to_string(a) + ", " + shape_to_string(b);
            if (has_c_) text += ", " + shape_to_string(inputs[2].shape);
            return text;
        };
        if (inputs[1].dtype != dtype || (has_c_ && inputs[2].dtype != dtype)) {
            return invalid_input(node_.describe() + ": operands must share one dtype");
        }
        if (a.size() != 2 || b.size() != 2) {
            return invalid_input(node_.describe() + ": A and B must be matrices, got " + describe_shapes());
        }
        m_ = trans_a_ ? a[1] : a[0];
        k_ = trans_a_ ? a[0] : a[1];
        n_ = trans_b_ ? b[0] : b[1];
        if ((trans_b_ ? b[1] : b[0]) != k_) {
            return invalid_input(node_.describe() + ": inner dimensions differ for " + describe_shapes());
        }
        if (has_c_) {
            // C broadcasts unidirectionally to [M, N].
            c_shape_ = inputs[2].shape;
            auto broadcast = broadcast_shapes(c_shape_, {m_, n_});
            if (c_shape_.size() > 2 || !broadcast.ok() || *broadcast != Shape{m_, n_}) {
                return invalid_input(node_.describe() + ": C does not broadcast to the result in " + describe_shapes());
            }
        }
        outputs = {OutputInfo{dtype, {m_, n_}}};
        return Status();
    }

    Status run(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs) override {
        const Tensor a = widen(inputs[0]), b = widen(inputs[1]);
        const Tensor c = has_c_ ? widen(inputs[2]) : Tensor();
        Tensor dst = compute_buffer(outputs[0]);
        if (a.dtype() == DType::kF64)
            compute<double>(a, b, c, dst);
        else
            compute<float>(a, b, c, dst);
        narrow_into(dst, outputs[0]);
        return Status();
    }

  private:
    template <class T>
    void compute(const Tensor& a, const Tensor& b, const Tensor& c, Tensor& dst) const {
        T* out = dst.data<T>();
        if (has_c_) {
            const std::vector<int64_t> strides = broadcast_strides(c_shape_, {m_, n_});
            const T* c_data = c.data<T>();
            for (int64_t i = 0; i < m_; ++i) {
                for (int64_t j = 0; j < n_; ++j) out[i * n_ + j] = c_data[i * strides[0] + j * strides[1]];
            }
        }
        const int64_t lda = a.shape()[1], ldb = b.shape()[1];
        reference_gemm<T>(trans_a_, trans_b_, m_, n_, k_, alpha_, a.data<T>(), lda, b.data<T>(), ldb,
                          has_c_ ? beta_ : 0.0, out, n_);
    }

    const Node& node_;
    bool trans_a_, trans_b_;
    double alpha_, beta_;
    bool has_c_ = false;
    int64_t m_ = 0, n_ = 0, k_ = 0;
    Shape c_shape_;
};

}  // namespace

void register_matmul_kernels(KernelRegistry& registry) {
    registry.add_reference("MatMul", [](const KernelContext& context) -> Result<KernelPtr> {
        return KernelPtr(new MatMulKernel(context.node));
    });
    registry.add_reference("Gemm", [](const KernelContext& context) -> Result<KernelPtr> {
        return KernelPtr(new GemmKernel(context.node));
    });
}

}  // namespace pare
