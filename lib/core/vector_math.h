// Element-wise math over arrays on glibc's vector math library (libmvec): 16 float or 8 double lanes with AVX-512,
// half that with AVX2, chosen once at run time, and the scalar libm function for the tail and older CPUs. libmvec's
// functions are within 4 ulp of the correctly rounded result (glibc manual), so results can differ in the last bits
// between instruction sets, never between runs on one machine.
#pragma once

#include <cstdint>

namespace pare {

/// dst[i] = erf(src[i]) for i < n (dst may be src).
void vector_erf(const float* src, float* dst, int64_t n);
/// dst[i] = log(src[i]) for i < n (dst may be src).
void vector_log(const double* src, double* dst, int64_t n);

}  // namespace pare
