// PackedWeight's kernel for AVX-512F (this file is compiled with -mavx512f -mfma; it runs only
// when CPUID reports AVX-512F, see packed_gemm.cpp). 12 rows × 2 zmm: 24 accumulators of 32.
#include "autograd/packed_gemm_kernel.hpp"

namespace tapenet::detail {

#if defined(__AVX512F__) && defined(__FMA__)

TAPENET_PACKED_ENTRY(avx512, float) {
  using B = xsimd::batch<float, xsimd::avx512f>;
  if (a_transposed)
    packed_kernel::panels<B, 12, true>(A, lda, M, packed, K, N, first, last, C, ldc);
  else
    packed_kernel::panels<B, 12, false>(A, lda, M, packed, K, N, first, last, C, ldc);
}

TAPENET_PACKED_ENTRY(avx512, double) {
  using B = xsimd::batch<double, xsimd::avx512f>;
  if (a_transposed)
    packed_kernel::panels<B, 12, true>(A, lda, M, packed, K, N, first, last, C, ldc);
  else
    packed_kernel::panels<B, 12, false>(A, lda, M, packed, K, N, first, last, C, ldc);
}

#else  // not built for this ISA (a non-x86 target): never selected, see cpu_supports()
TAPENET_PACKED_ENTRY(avx512, float) { (void)A, (void)lda, (void)a_transposed, (void)M, (void)packed, (void)K, (void)N, (void)first, (void)last, (void)C, (void)ldc; }
TAPENET_PACKED_ENTRY(avx512, double) { (void)A, (void)lda, (void)a_transposed, (void)M, (void)packed, (void)K, (void)N, (void)first, (void)last, (void)C, (void)ldc; }
#endif

}  // namespace tapenet::detail
