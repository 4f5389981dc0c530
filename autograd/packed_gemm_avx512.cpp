// PackedWeight's kernel for AVX-512F (this file is compiled with -mavx512f -mfma; it runs only
// when CPUID reports AVX-512F, see packed_gemm.cpp). 12 rows × 2 zmm: 24 accumulators of 32.
#include "autograd/packed_gemm_kernel.hpp"

namespace tapenet::detail {

#if defined(__AVX512F__) && defined(__FMA__)
TAPENET_PACKED_ENTRY_DEFINE(avx512, float, xsimd::avx512f, 12)
TAPENET_PACKED_ENTRY_DEFINE(avx512, double, xsimd::avx512f, 12)
#else  // not built for this ISA (a non-x86 target)
TAPENET_PACKED_ENTRY_UNAVAILABLE(avx512, float)
TAPENET_PACKED_ENTRY_UNAVAILABLE(avx512, double)
#endif

}  // namespace tapenet::detail
