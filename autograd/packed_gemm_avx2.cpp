// PackedWeight's kernel for AVX2 + FMA (this file is compiled with -mavx2 -mfma; it runs only
// when CPUID reports both and TAPENET_PACKED_GEMM=avx2 asks for it, see packed_gemm.cpp).
// 6 rows × 2 ymm: 12 accumulators of 16.
#include "autograd/packed_gemm_kernel.hpp"

namespace tapenet::detail {

#if defined(__AVX2__) && defined(__FMA__)
TAPENET_PACKED_ENTRY_DEFINE(avx2, float, xsimd::fma3<xsimd::avx2>, 6)
TAPENET_PACKED_ENTRY_DEFINE(avx2, double, xsimd::fma3<xsimd::avx2>, 6)
#else  // not built for this ISA (a non-x86 target)
TAPENET_PACKED_ENTRY_UNAVAILABLE(avx2, float)
TAPENET_PACKED_ENTRY_UNAVAILABLE(avx2, double)
#endif

}  // namespace tapenet::detail
