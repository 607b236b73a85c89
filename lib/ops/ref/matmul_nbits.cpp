// ONNX Runtime's com.microsoft MatMulNBits: Y = A . dequantize(B)^T (+ bias), B holding N rows of K codes of `bits`
// bits (2, 4 or 8), quantized in blocks of block_size along K. Layout (ORT's contrib-op spec): B is uint8
// [N, n_blocks, block_size x bits / 8] with codes packed low bits first along K; scales [N x n_blocks] (or
// [N, n_blocks]) in A's type; zero points either packed uint8 codes ([N x ceil(n_blocks x bits / 8)], low bits
// first, each column's row starting on a byte) or unpacked in A's type, default 2^(bits-1); W[k, n] =
// (code - zero_point) x scale. A is [..., K], the output [..., N]. g_idx (act-order) is declined.
#include <cmath>

#include "ops/kernel_util.h"
#include "ops/ref/compute_type.h"
#include "ops/ref/matrix_multiply.h"
#include "ops/register_kernels.h"
#include "ops/registry.h"

namespace pare {

namespace {

// Code `index` of a stream of `bits`-bit codes packed low bits first (bits divides 8).
int code_at(const uint8_t* src, int64_t index, int bits) {
    const int64_t per_byte = 8 / bits;
    return (src[index / per_byte] >> ((index % per_byte) * bits)) & ((1 << bits) - 1);
}

class MatMulNBitsKernel : public Kernel {
public:
    explicit MatMulNBitsKernel(const Node& node)
        : node_(node),
          k_(node.attr_int("K", 0)),
          n_(node.attr_int("N", 0)),
          bits_(static_cast<int>(node.attr_int("bits", 4))),
          block_size_(node.attr_int("block_size", 0)) {}

    Status prepare(const std::vector<InputInfo>& inputs, std::vector<OutputInfo>& outputs) override {
        PARE_RETURN_IF_ERROR(check_input_count(node_, inputs, 3, 6));
        PARE_RETURN_IF_ERROR(check_input_dtype(node_, inputs, 0, {DType::kF32, DType::kF16}));
        PARE_RETURN_IF_ERROR(check_input_dtype(node_, inputs, 1, {DType::kU8}));
        if (bits_ != 2 && bits_ != 4 && bits_ != 8) {
            return unsupported(node_.describe() + ": bits " + std::to_string(bits_) + " (2, 4 and 8 are supported)");
        }
        if (k_ <= 0 || n_ <= 0 || block_size_ < 16 || (block_size_ & (block_size_ - 1)) != 0) {
            return invalid_input(node_.describe() + ": K " + std::to_string(k_) + ", N " + std::to_string(n_) +
                                 ", block_size " + std::to_string(block_size_) +
                                 " (K and N positive, block_size a power of two >= 16)");
        }
        if (inputs.size() > 4 && inputs[4].present) return unsupported(node_.describe() + ": g_idx is not supported");
        blocks_ = (k_ + block_size_ - 1) / block_size_;
        blob_ = block_size_ * bits_ / 8;
        const Shape& a = inputs[0].shape;
        const DType dtype = inputs[0].dtype;
        auto mismatch = [&](const std::string& what) {
            return invalid_input(node_.describe() + ": " + what + " does not fit K " + std::to_string(k_) + ", N " +
                                 std::to_string(n_) + ", block_size " + std::to_string(block_size_) + " (A " +
                                 shape_to_string(a) + ", B " + shape_to_string(inputs[1].shape) + ")");
        };
        if (a.empty() || a.back() != k_) return mismatch("A's last dimension");
        if (inputs[1].shape != Shape{n_, blocks_, blob_}) return mismatch("B's shape");
        if (inputs[2].dtype != dtype || shape_numel(inputs[2].shape) != n_ * blocks_) return mismatch("scales");
        has_zero_points_ = inputs.size() > 3 && inputs[3].present;
        if (has_zero_points_) {
            packed_zero_points_ = inputs[3].dtype == DType::kU8;
            const int64_t expected = packed_zero_points_ ? n_ * ((blocks_ * bits_ + 7) / 8) : n_ * blocks_;
            if ((!packed_zero_points_ && inputs[3].dtype != dtype) || shape_numel(inputs[3].shape) != expected) {
                return mismatch("zero_points " + dtype_name(inputs[3].dtype) + " " + shape_to_string(inputs[3].shape));
            }
        }
        has_bias_ = inputs.size() > 5 && inputs[5].present;
        if (has_bias_ && (inputs[5].dtype != dtype || shape_numel(inputs[5].shape) != n_)) return mismatch("bias");
        Shape out = a;
        out.back() = n_;
        outputs = {OutputInfo{dtype, out}};
        return Status();
    }

    Status run(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs) override {
        const Tensor a = widen(inputs[0]);
        const Tensor scales = widen(inputs[2]);
        const auto* b = inputs[1].data<uint8_t>();
        // W as float [K, N], then one product.
        std::vector<float> w(static_cast<size_t>(k_ * n_));
        const int64_t zero_point_row = (blocks_ * bits_ + 7) / 8;  // packed zero-point bytes per column
        const Tensor zero_points = has_zero_points_ && !packed_zero_points_ ? widen(inputs[3]) : Tensor();
        for (int64_t col = 0; col < n_; ++col) {
            for (int64_t block = 0; block < blocks_; ++block) {
                const int64_t group = col * blocks_ + block;
                double zero_point = static_cast<double>(1 << (bits_ - 1));
                if (has_zero_points_) {
                    zero_point = packed_zero_points_
                                     ? code_at(inputs[3].data<uint8_t>() + col * zero_point_row, block, bits_)
                                     : static_cast<double>(zero_points.data<float>()[group]);
                }
                const double scale = scales.data<float>()[group];
                const uint8_t* blob = b + group * blob_;
                for (int64_t j = 0; j < block_size_ && block * block_size_ + j < k_; ++j) {
                    const double code = code_at(blob, j, bits_);
                    w[(block * block_size_ + j) * n_ + col] = static_cast<float>((code - zero_point) * scale);
                }
            }
        }
        Tensor dst = compute_buffer(outputs[0]);
        const int64_t rows = a.numel() / k_;
        float* dst_data = dst.data<float>();
        if (has_bias_) {
            const Tensor bias = widen(inputs[5]);
            for (int64_t r = 0; r < rows; ++r) {
                for (int64_t col = 0; col < n_; ++col) dst_data[r * n_ + col] = bias.data<float>()[col];
            }
        }
        reference_gemm<float>(false, false, rows, n_, k_, 1.0, a.data<float>(), k_, w.data(), n_, has_bias_ ? 1.0 : 0.0,
                              dst_data, n_);
        narrow_into(dst, outputs[0]);
        return Status();
    }

private:
    const Node& node_;
    int64_t k_, n_;
    int bits_;
    int64_t block_size_;
    int64_t blocks_ = 0, blob_ = 0;
    bool has_zero_points_ = false, packed_zero_points_ = false, has_bias_ = false;
};

}  // namespace

void register_matmul_nbits_kernels(KernelRegistry& registry) {
    registry.add(KernelEntry{"com.microsoft", "MatMulNBits", "reference", Backend::kCpu, kReferenceRank,
                             [](const KernelContext& context) -> Result<KernelPtr> {
                                 return KernelPtr(new MatMulNBitsKernel(context.node));
                             }});
}

}  // namespace pare
