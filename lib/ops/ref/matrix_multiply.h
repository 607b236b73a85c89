// The one matrix product of the reference kernels (MatMul, Gemm, Conv via im2col, ConvTranspose, the recurrent ops).
#pragma once

#include <cstdint>

namespace pare {

/// dst = alpha * op(A) * op(B) + beta * dst, all row-major. op(A) is m x k (A is stored k x m when trans_a), op(B) is
/// k x n (stored n x k when trans_b); lda, ldb and ldd are the stored row strides. Floating-point products are summed
/// in double and rounded once; integer ones wrap like numpy's (alpha must be 1 and beta 0 or 1 for integers). When
/// beta is 0, dst is only written. Work is split over rows and column blocks, and every element is summed in the same
/// order whatever the thread count, so results are bitwise reproducible.
/// Instantiated for float, double, int32_t, int64_t, uint32_t and uint64_t.
template <class T>
void reference_gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, double alpha, const T* a, int64_t lda,
                    const T* b, int64_t ldb, double beta, T* dst, int64_t ldd);

}  // namespace pare
