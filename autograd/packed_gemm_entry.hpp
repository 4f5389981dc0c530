// The entry points of PackedWeight's per-ISA kernels (internal): defined by
// packed_gemm_avx512.cpp and packed_gemm_avx2.cpp, called by packed_gemm.cpp. Nothing but
// <cstddef> is included, so the ISA translation units share no inline code with the rest.
#pragma once

#include <cstddef>

#define TAPENET_PACKED_ENTRY(ISA, T)                                                                        \
  void packed_panels_##ISA(const T* A, std::size_t lda, bool a_transposed, std::size_t M, const T* packed, \
                           std::size_t K, std::size_t N, std::size_t first, std::size_t last, T* C, std::size_t ldc)

namespace tapenet::detail {

TAPENET_PACKED_ENTRY(avx512, float);
TAPENET_PACKED_ENTRY(avx512, double);
TAPENET_PACKED_ENTRY(avx2, float);
TAPENET_PACKED_ENTRY(avx2, double);

}  // namespace tapenet::detail
