#include "autograd/packed_gemm.hpp"


#include <cstdlib>
#include <cstring>

#include "autograd/detail.hpp"

namespace tapenet::detail {

// Defined in packed_gemm_avx512.cpp and packed_gemm_avx2.cpp.
#define TAPENET_DECLARE_PACKED(ISA, T)                                                                  \
  void packed_panels_##ISA(const T* A, std::size_t lda, std::size_t M, const T* packed, std::size_t K, \
                           std::size_t N, std::size_t first, std::size_t last, T* C, std::size_t ldc);
TAPENET_DECLARE_PACKED(avx512, float)
TAPENET_DECLARE_PACKED(avx512, double)
TAPENET_DECLARE_PACKED(avx2, float)
TAPENET_DECLARE_PACKED(avx2, double)

namespace {

constexpr std::size_t register_bytes(PackedIsa isa) { return isa == PackedIsa::Avx512 ? 64 : 32; }

// TAPENET_PACKED_GEMM caps the kernel: "0", "off" or "blas" (plain BLAS), "avx2", "avx512".
PackedIsa environment_cap() {
  const char* v = std::getenv("TAPENET_PACKED_GEMM");
  if (!v) return PackedIsa::Avx512;
  if (!std::strcmp(v, "0") || !std::strcmp(v, "off") || !std::strcmp(v, "blas")) return PackedIsa::None;
  if (!std::strcmp(v, "avx2")) return PackedIsa::Avx2;
  return PackedIsa::Avx512;
}

}  // namespace

bool cpu_supports(PackedIsa isa) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  switch (isa) {
    case PackedIsa::None: return true;
    case PackedIsa::Avx2: return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case PackedIsa::Avx512: return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma");
  }
  return false;
#else
  return isa == PackedIsa::None;
#endif
}

PackedIsa best_packed_isa() {
  static const PackedIsa best = [] {
    const PackedIsa cap = environment_cap();
    for (PackedIsa isa : {PackedIsa::Avx512, PackedIsa::Avx2})
      if (int(isa) <= int(cap) && cpu_supports(isa)) return isa;
    return PackedIsa::None;
  }();
  return best;
}

const char* packed_isa_name(PackedIsa isa) {
  switch (isa) {
    case PackedIsa::None: return "blas";
    case PackedIsa::Avx2: return "avx2";
    case PackedIsa::Avx512: return "avx512";
  }
  return "?";
}

template <class T>
PackedWeight<T>::PackedWeight(const T* W, std::size_t ldw, std::size_t K, std::size_t N, bool transposed,
                              PackedIsa isa)
    : W_(W), ldw_(ldw), K_(K), N_(N), transposed_(transposed), isa_(cpu_supports(isa) ? isa : PackedIsa::None) {
  if (isa_ == PackedIsa::None) return;
  panel_width_ = 2 * register_bytes(isa_) / sizeof(T);
  pack();
}

// Panel p holds columns [p·w, p·w + w) of B, row by row; the last one is zero-padded.
template <class T>
void PackedWeight<T>::pack() {
  const std::size_t w = panel_width_, count = (N_ + w - 1) / w;
  panels_.assign(count * K_ * w, T(0));
  for (std::size_t p = 0; p < count; ++p) {
    T* panel = panels_.data() + p * K_ * w;
    const std::size_t cols = N_ - p * w < w ? N_ - p * w : w;
    if (transposed_) {  // B[k, n] = W[n, k]: read W's rows, scatter down the panel
      for (std::size_t j = 0; j < cols; ++j) {
        const T* row = W_ + (p * w + j) * ldw_;
        for (std::size_t k = 0; k < K_; ++k) panel[k * w + j] = row[k];
      }
    } else {  // B[k, n] = W[k, n]: one contiguous run per row
      for (std::size_t k = 0; k < K_; ++k) std::memcpy(panel + k * w, W_ + k * ldw_ + p * w, cols * sizeof(T));
    }
  }
}

template <class T>
void PackedWeight<T>::run_panels(std::size_t M, const T* A, std::size_t lda, T* C, std::size_t ldc,
                                 std::size_t first, std::size_t last) const {
  if (isa_ == PackedIsa::Avx512)
    packed_panels_avx512(A, lda, M, panels_.data(), K_, N_, first, last, C, ldc);
  else
    packed_panels_avx2(A, lda, M, panels_.data(), K_, N_, first, last, C, ldc);
}

template <class T>
void PackedWeight<T>::multiply_add(std::size_t M, const T* A, std::size_t lda, T* C, std::size_t ldc) const {
  if (M == 0 || N_ == 0 || K_ == 0) return;
  if (isa_ == PackedIsa::None)
    gemm(false, transposed_, int(M), int(N_), int(K_), T(1), A, int(lda), W_, int(ldw_), T(1), C, int(ldc));
  else
    run_panels(M, A, lda, C, ldc, 0, (N_ + panel_width_ - 1) / panel_width_);
}

template class PackedWeight<float>;
template class PackedWeight<double>;

}  // namespace tapenet::detail
