// Hot loops pare vectorizes itself (not oneDNN's): compiled once per instruction set, the widest the CPU has is
// picked when the program loads (GCC function multiversioning), so one binary runs everywhere and still uses
// AVX-512 where it exists.
#pragma once

#if defined(__GNUC__) && defined(__x86_64__) && !defined(__SANITIZE_ADDRESS__)
#define PARE_SIMD_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define PARE_SIMD_CLONES
#endif
