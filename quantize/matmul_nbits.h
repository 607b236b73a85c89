// ONNX Runtime's com.microsoft MatMulNBits weight layout for 4-bit block-quantized MatMul weights: Y = A . W with
// W [K, N] given as B (uint8 [N, n_blocks, block_size / 2]: for output column n and block b, the codes of rows
// b x block_size + 2j (low nibble) and + 2j + 1 (high nibble) of byte j, each code q in 0..15 decoding to
// (q - zero_point) x scale), scales ([N x n_blocks], n-major) and zero points (omitted: 8 for every block).
#pragma once

#include <cstdint>
#include <vector>

#include "core/status.h"
#include "core/tensor.h"

namespace pare {

/// The contrib domain and the MatMulNBits version pare writes.
constexpr const char* kMicrosoftDomain = "com.microsoft";
constexpr int64_t kMicrosoftOpset = 1;

/// B and scales of a MatMulNBits node.
struct MatMulNBitsWeights {
    Tensor b;       // uint8 [N, n_blocks, block_size / 2]
    Tensor scales;  // [N x n_blocks] in `dtype`
};

/// Packs symmetric int4 codes (-8..7, row-major [K, N]) and their block scales (row-major [n_blocks, N], one per
/// block of block_size rows of one column) for MatMulNBits with the default zero point 8: code c is stored as c + 8;
/// rows past K in the last block are stored as 8 (decode to 0). block_size must be even; invalid_input() for counts
/// that do not match.
Result<MatMulNBitsWeights> pack_matmul_nbits(const std::vector<int8_t>& codes, const std::vector<float>& scales,
                                             int64_t k, int64_t n, int64_t block_size, DType dtype);

/// True when MatMulNBits accepts the block size (a power of two, at least 16).
bool matmul_nbits_block_size_ok(int64_t block_size);

}  // namespace pare
