#include "core/vector_math.h"

#include <immintrin.h>

#include <cmath>

extern "C" __m512 _ZGVeN16v_erff(__m512);
extern "C" __m256 _ZGVdN8v_erff(__m256);
extern "C" __m512d _ZGVeN8v_log(__m512d);
extern "C" __m256d _ZGVdN4v_log(__m256d);

namespace pare {

namespace {

__attribute__((target("avx512f"))) void erf_avx512(const float* src, float* dst, int64_t n) {
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) _mm512_storeu_ps(dst + i, _ZGVeN16v_erff(_mm512_loadu_ps(src + i)));
    for (; i < n; ++i) dst[i] = std::erf(src[i]);
}

__attribute__((target("avx2"))) void erf_avx2(const float* src, float* dst, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(dst + i, _ZGVdN8v_erff(_mm256_loadu_ps(src + i)));
    for (; i < n; ++i) dst[i] = std::erf(src[i]);
}

void erf_scalar(const float* src, float* dst, int64_t n) {
    for (int64_t i = 0; i < n; ++i) dst[i] = std::erf(src[i]);
}

__attribute__((target("avx512f"))) void log_avx512(const double* src, double* dst, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm512_storeu_pd(dst + i, _ZGVeN8v_log(_mm512_loadu_pd(src + i)));
    for (; i < n; ++i) dst[i] = std::log(src[i]);
}

__attribute__((target("avx2"))) void log_avx2(const double* src, double* dst, int64_t n) {
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) _mm256_storeu_pd(dst + i, _ZGVdN4v_log(_mm256_loadu_pd(src + i)));
    for (; i < n; ++i) dst[i] = std::log(src[i]);
}

void log_scalar(const double* src, double* dst, int64_t n) {
    for (int64_t i = 0; i < n; ++i) dst[i] = std::log(src[i]);
}

// The widest of three implementations the CPU runs.
template <typename Fn>
Fn widest(Fn avx512, Fn avx2, Fn scalar) {
    if (__builtin_cpu_supports("avx512f")) return avx512;
    if (__builtin_cpu_supports("avx2")) return avx2;
    return scalar;
}

}  // namespace

void vector_erf(const float* src, float* dst, int64_t n) {
    static const auto erf = widest(erf_avx512, erf_avx2, erf_scalar);
    erf(src, dst, n);
}

void vector_log(const double* src, double* dst, int64_t n) {
    static const auto log = widest(log_avx512, log_avx2, log_scalar);
    log(src, dst, n);
}

}  // namespace pare
