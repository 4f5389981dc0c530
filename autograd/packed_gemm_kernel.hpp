// The register-blocked kernel of PackedWeight, included only by packed_gemm_avx2.cpp and
// packed_gemm_avx512.cpp, each compiled with its own -m flags. Everything here is a template
// on the xsimd batch type, so the two ISAs never share an instantiation (no ODR mixing), and
// nothing from the standard library is used.
#pragma once

#include <cstddef>

#include <xsimd/xsimd.hpp>

#include "autograd/packed_gemm_entry.hpp"

namespace tapenet::detail::packed_kernel {

// C[0:MR, 0:cols] += A[0:MR, 0:K] · P[0:K, 0:cols], P one packed panel of 2 registers' width
// (row k at P + k·2V, 64-byte aligned). One broadcast of A and two FMAs per row and k.
// A(r, k) is A[r·lda + k], or A[k·lda + r] when TransA (A stored transposed).
template <class Batch, int MR, bool TransA>
inline void tile(const typename Batch::value_type* A, std::size_t lda, const typename Batch::value_type* P,
                 std::size_t K, typename Batch::value_type* C, std::size_t ldc, std::size_t cols) {
  using T = typename Batch::value_type;
  constexpr std::size_t V = Batch::size;
  Batch lo[MR], hi[MR];
  for (int r = 0; r < MR; ++r) lo[r] = hi[r] = Batch(T(0));
  for (std::size_t k = 0; k < K; ++k) {
    const Batch b0 = Batch::load_aligned(P + k * 2 * V);
    const Batch b1 = Batch::load_aligned(P + k * 2 * V + V);
    for (int r = 0; r < MR; ++r) {
      const Batch a(TransA ? A[k * lda + r] : A[r * lda + k]);
      lo[r] = xsimd::fma(a, b0, lo[r]);
      hi[r] = xsimd::fma(a, b1, hi[r]);
    }
  }
  for (int r = 0; r < MR; ++r) {
    T* c = C + r * ldc;
    if (cols == 2 * V) {
      (Batch::load_unaligned(c) + lo[r]).store_unaligned(c);
      (Batch::load_unaligned(c + V) + hi[r]).store_unaligned(c + V);
    } else {  // the last, partial panel
      alignas(64) T sum[2 * V];
      lo[r].store_aligned(sum);
      hi[r].store_aligned(sum + V);
      for (std::size_t j = 0; j < cols; ++j) c[j] += sum[j];
    }
  }
}

// C[M, N] += A[M, K] · (panels first..last-1). Blocked like a GEMM: K in blocks of KC, rows
// in blocks of MC, so an A block (MC × KC) stays in L2 while the panels sweep over it and a
// panel block (KC × 2V) stays in L1/L2 while the row tiles sweep over it.
template <class Batch, int MR, bool TransA>
void panels(const typename Batch::value_type* A, std::size_t lda, std::size_t M,
            const typename Batch::value_type* packed, std::size_t K, std::size_t N, std::size_t first,
            std::size_t last, typename Batch::value_type* C, std::size_t ldc) {
  using T = typename Batch::value_type;
  constexpr std::size_t NR = 2 * Batch::size;
  constexpr std::size_t KC = 2048 / sizeof(T);  // 8 KB of each A row per block
  constexpr std::size_t MC = 8 * MR;
  for (std::size_t k0 = 0; k0 < K; k0 += KC) {
    const std::size_t kc = K - k0 < KC ? K - k0 : KC;
    for (std::size_t m0 = 0; m0 < M; m0 += MC) {
      const std::size_t m1 = M - m0 < MC ? M : m0 + MC;
      for (std::size_t p = first; p < last; ++p) {
        const T* P = packed + p * K * NR + k0 * NR;
        const std::size_t col = p * NR, cols = N - col < NR ? N - col : NR;
        T* c = C + col;
        auto a_at = [&](std::size_t m) { return TransA ? A + k0 * lda + m : A + m * lda + k0; };
        std::size_t m = m0;
        for (; m + MR <= m1; m += MR) tile<Batch, MR, TransA>(a_at(m), lda, P, kc, c + m * ldc, ldc, cols);
        for (; m + 4 <= m1; m += 4) tile<Batch, 4, TransA>(a_at(m), lda, P, kc, c + m * ldc, ldc, cols);
        for (; m < m1; ++m) tile<Batch, 1, TransA>(a_at(m), lda, P, kc, c + m * ldc, ldc, cols);
      }
    }
  }
}

// One ISA's entry point: the kernel for A as stored or transposed.
template <class Batch, int MR>
void run(const typename Batch::value_type* A, std::size_t lda, bool a_transposed, std::size_t M,
         const typename Batch::value_type* packed, std::size_t K, std::size_t N, std::size_t first, std::size_t last,
         typename Batch::value_type* C, std::size_t ldc) {
  if (a_transposed)
    panels<Batch, MR, true>(A, lda, M, packed, K, N, first, last, C, ldc);
  else
    panels<Batch, MR, false>(A, lda, M, packed, K, N, first, last, C, ldc);
}

}  // namespace tapenet::detail::packed_kernel

// The entry points one ISA translation unit defines (declared in packed_gemm_entry.hpp), and
// what it defines instead when not compiled for that ISA (never called: see cpu_supports).
#define TAPENET_PACKED_ENTRY_DEFINE(ISA, T, ARCH, MR)                                                  \
  TAPENET_PACKED_ENTRY(ISA, T) {                                                                      \
    packed_kernel::run<xsimd::batch<T, ARCH>, MR>(A, lda, a_transposed, M, packed, K, N, first, last, C, ldc); \
  }
#define TAPENET_PACKED_ENTRY_UNAVAILABLE(ISA, T)                                                        \
  TAPENET_PACKED_ENTRY(ISA, T) {                                                                      \
    (void)A, (void)lda, (void)a_transposed, (void)M, (void)packed, (void)K, (void)N, (void)first, (void)last, \
        (void)C, (void)ldc;                                                                           \
  }
