#include "quantize/matmul_nbits.h"

#include <string>

namespace pare {

bool matmul_nbits_block_size_ok(int64_t block_size) { return block_size >= 16 && (block_size & (block_size - 1)) == 0; }

Result<MatMulNBitsWeights> pack_matmul_nbits(const std::vector<int8_t>& codes, const std::vector<float>& scales,
                                             int64_t k, int64_t n, int64_t block_size, DType dtype) {
    if (k <= 0 || n <= 0 || block_size <= 0 || block_size % 2 != 0) {
        return invalid_input("pack_matmul_nbits: K " + std::to_string(k) + ", N " + std::to_string(n) +
                             ", block size " + std::to_string(block_size));
    }
    const int64_t blocks = (k + block_size - 1) / block_size;
    if (static_cast<int64_t>(codes.size()) != k * n || static_cast<int64_t>(scales.size()) != blocks * n) {
        return invalid_input("pack_matmul_nbits: " + std::to_string(codes.size()) + " codes and " +
                             std::to_string(scales.size()) + " scales for K " + std::to_string(k) + ", N " +
                             std::to_string(n) + ", block size " + std::to_string(block_size));
    }
    constexpr int kZeroPoint = 8;
    const int64_t blob = block_size / 2;
    MatMulNBitsWeights packed;
    packed.b = Tensor(DType::kU8, {n, blocks, blob});
    auto* dst = packed.b.data<uint8_t>();
    for (int64_t col = 0; col < n; ++col) {
        for (int64_t row = 0; row < blocks * block_size; ++row) {
            int q = kZeroPoint;
            if (row < k) {
                const int code = codes[static_cast<size_t>(row * n + col)];
                if (code < -8 || code > 7) {
                    return invalid_input("pack_matmul_nbits: code " + std::to_string(code) + " is outside int4");
                }
                q = code + kZeroPoint;
            }
            uint8_t& byte = dst[col * blocks * blob + row / 2];
            byte = static_cast<uint8_t>(row % 2 == 0 ? (byte & 0xF0) | q : (byte & 0x0F) | (q << 4));
        }
    }
    std::vector<float> by_column(scales.size());
    for (int64_t col = 0; col < n; ++col) {
        for (int64_t b = 0; b < blocks; ++b) by_column[col * blocks + b] = scales[b * n + col];
    }
    packed.scales = tensor_from_vector<float>(by_column, {n * blocks});
    if (dtype != DType::kF32) packed.scales = packed.scales.cast(dtype);
    return packed;
}

}  // namespace pare
