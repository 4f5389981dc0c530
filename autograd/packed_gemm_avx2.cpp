// PackedWeight's kernel for AVX2 + FMA (this file is compiled with -mavx2 -mfma; it runs only
// when CPUID reports both, see packed_gemm.cpp). 6 rows × 2 ymm: 12 accumulators of 16.
#include "autograd/packed_gemm_kernel.hpp"

namespace tapenet::detail {

#if defined(__AVX2__) && defined(__FMA__)

TAPENET_PACKED_ENTRY(avx2, float) {
  using B = xsimd::batch<float, xsimd::fma3<xsimd::avx2>>;
  if (a_transposed)
    packed_kernel::panels<B, 6, true>(A, lda, M, packed, K, N, first, last, C, ldc);
  else
    packed_kernel::panels<B, 6, false>(A, lda, M, packed, K, N, first, last, C, ldc);
}

TAPENET_PACKED_ENTRY(avx2, double) {
  using B = xsimd::batch<double, xsimd::fma3<xsimd::avx2>>;
  if (a_transposed)
    packed_kernel::panels<B, 6, true>(A, lda, M, packed, K, N, first, last, C, ldc);
  else
    packed_kernel::panels<B, 6, false>(A, lda, M, packed, K, N, first, last, C, ldc);
}

#else  // not built for this ISA (a non-x86 target): never selected, see cpu_supports()
TAPENET_PACKED_ENTRY(avx2, float) { (void)A, (void)lda, (void)a_transposed, (void)M, (void)packed, (void)K, (void)N, (void)first, (void)last, (void)C, (void)ldc; }
TAPENET_PACKED_ENTRY(avx2, double) { (void)A, (void)lda, (void)a_transposed, (void)M, (void)packed, (void)K, (void)N, (void)first, (void)last, (void)C, (void)ldc; }
#endif

}  // namespace tapenet::detail
