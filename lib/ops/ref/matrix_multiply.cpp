#include "ops/ref/matrix_multiply.h"

#include <algorithm>
#include <type_traits>
#include <vector>

namespace pare {

namespace {

// Floating-point sums in double; integer sums in uint64, whose wrap-around matches two's complement for every width.
template <class T>
using Accumulator = std::conditional_t<std::is_floating_point_v<T>, double, uint64_t>;

constexpr int64_t kColumnBlock = 256;  // columns one task sums at once: its accumulators stay in L1

}  // namespace

template <class T>
void reference_gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, double alpha, const T* a, int64_t lda,
                    const T* b, int64_t ldb, double beta, T* dst, int64_t ldd) {
    using Acc = Accumulator<T>;
    const int64_t blocks = (n + kColumnBlock - 1) / kColumnBlock;
    const bool parallel = m * n * k >= (1 << 16);
#pragma omp parallel for schedule(static) if (parallel)
    for (int64_t task = 0; task < m * blocks; ++task) {
        const int64_t i = task / blocks;
        const int64_t j0 = (task % blocks) * kColumnBlock, j1 = std::min(n, j0 + kColumnBlock);
        // Row i of op(A), gathered once so both loop orders below read it contiguously.
        std::vector<Acc> a_row(static_cast<size_t>(k));
        for (int64_t p = 0; p < k; ++p) a_row[p] = static_cast<Acc>(trans_a ? a[p * lda + i] : a[i * lda + p]);
        Acc acc[kColumnBlock] = {};
        if (trans_b) {
            for (int64_t j = j0; j < j1; ++j) {
                const T* b_row = b + j * ldb;
                Acc sum = 0;
                for (int64_t p = 0; p < k; ++p) sum += a_row[p] * static_cast<Acc>(b_row[p]);
                acc[j - j0] = sum;
            }
        } else {
            for (int64_t p = 0; p < k; ++p) {
                const Acc a_ip = a_row[p];
                const T* b_row = b + p * ldb;
                for (int64_t j = j0; j < j1; ++j) acc[j - j0] += a_ip * static_cast<Acc>(b_row[j]);
            }
        }
        T* dst_row = dst + i * ldd;
        for (int64_t j = j0; j < j1; ++j) {
            if constexpr (std::is_floating_point_v<T>) {
                const double scaled = alpha * acc[j - j0];
                dst_row[j] = static_cast<T>(beta == 0 ? scaled : scaled + beta * static_cast<double>(dst_row[j]));
            } else {
                dst_row[j] = static_cast<T>(beta == 0 ? acc[j - j0] : acc[j - j0] + static_cast<Acc>(dst_row[j]));
            }
        }
    }
}

#define PARE_INSTANTIATE_GEMM(T)                                                                                \
    template void reference_gemm<T>(bool, bool, int64_t, int64_t, int64_t, double, const T*, int64_t, const T*, \
                                    int64_t, double, T*, int64_t);
PARE_INSTANTIATE_GEMM(float)
PARE_INSTANTIATE_GEMM(double)
PARE_INSTANTIATE_GEMM(int32_t)
PARE_INSTANTIATE_GEMM(int64_t)
PARE_INSTANTIATE_GEMM(uint32_t)
PARE_INSTANTIATE_GEMM(uint64_t)
#undef PARE_INSTANTIATE_GEMM

}  // namespace pare
