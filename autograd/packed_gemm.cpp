#include "autograd/packed_gemm.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "autograd/detail.hpp"
#include "autograd/packed_gemm_entry.hpp"
#include "autograd/row_blocks.hpp"

namespace tapenet::detail {

namespace {

constexpr std::size_t register_bytes(PackedIsa isa) { return isa == PackedIsa::Avx512 ? 64 : 32; }

// Fewer rows than this do not repay packing B for one product (gemm_accumulate leaves them
// to BLAS): packing costs K·N once, the kernel saves a little per row. Packing Bᵀ scatters,
// so it needs more rows to pay off than packing B, a row-by-row copy. The crossovers were
// measured against sgemm (bench/README.md, "Packed GEMM kernel").
constexpr std::size_t kMinPackedRows = 8;
constexpr std::size_t kMinPackedRowsTransposedB = 32;
// Below this many rows per thread, packed_multiply_add splits B's columns instead of C's rows.
constexpr std::size_t kMinRowsPerThread = 64;

// The kernel TAPENET_PACKED_GEMM asks for: "0", "off" or "blas" (none), "avx2", or the default
// (unset, "avx512"): AVX-512 where the CPU has it, else none. The AVX2 kernel is opt-in: with
// half the register width it does not beat OpenBLAS's own AVX2 kernels over a whole step,
// while the AVX-512 one does (bench/README.md, "Packed GEMM kernel").
PackedIsa requested_isa() {
  const char* v = std::getenv("TAPENET_PACKED_GEMM");
  if (v && (!std::strcmp(v, "0") || !std::strcmp(v, "off") || !std::strcmp(v, "blas"))) return PackedIsa::None;
  if (v && !std::strcmp(v, "avx2")) return PackedIsa::Avx2;
  return PackedIsa::Avx512;
}

}  // namespace

bool packing_repays(std::size_t rows, bool transposed) {
  return rows >= (transposed ? kMinPackedRowsTransposedB : kMinPackedRows);
}

std::size_t blas_threads() { return std::size_t(std::max(1, openblas_get_num_threads())); }

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
    const PackedIsa isa = requested_isa();
    return cpu_supports(isa) ? isa : PackedIsa::None;
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

// Panel p holds columns [p·w, p·w + w) of B, row by row; the last one is zero-padded. A large
// matrix is packed on OpenBLAS's thread count (the panels are independent).
template <class T>
void PackedWeight<T>::pack() {
  const std::size_t w = panel_width_, count = (N_ + w - 1) / w;
  panels_ = Tensor<T>::from_shape({count * K_ * w});
  const bool large = K_ * N_ >= (std::size_t(1) << 18);
  for_row_blocks(count, large ? 1 : count, [&](std::size_t first, std::size_t last) {
    for (std::size_t p = first; p < last; ++p) pack_panel(p);
  });
}

template <class T>
void PackedWeight<T>::pack_panel(std::size_t p) {
  const std::size_t w = panel_width_;
  T* panel = panels_.data() + p * K_ * w;
  const std::size_t cols = N_ - p * w < w ? N_ - p * w : w;
  if (cols < w) std::fill(panel, panel + K_ * w, T(0));
  if (transposed_) {  // B[k, n] = W[n, k]: read W's rows, scatter down the panel
    for (std::size_t j = 0; j < cols; ++j) {
      const T* row = W_ + (p * w + j) * ldw_;
      for (std::size_t k = 0; k < K_; ++k) panel[k * w + j] = row[k];
    }
  } else {  // B[k, n] = W[k, n]: one contiguous run per row
    for (std::size_t k = 0; k < K_; ++k) std::memcpy(panel + k * w, W_ + k * ldw_ + p * w, cols * sizeof(T));
  }
}

template <class T>
void PackedWeight<T>::multiply_add(std::size_t M, const T* A, std::size_t lda, T* C, std::size_t ldc,
                                   bool a_transposed) const {
  if (M == 0 || N_ == 0 || K_ == 0) return;
  if (isa_ == PackedIsa::None) {
    gemm(a_transposed, transposed_, int(M), int(N_), int(K_), T(1), A, int(lda), W_, int(ldw_), T(1), C, int(ldc));
    return;
  }
  multiply_add_panels(0, panel_count(), M, A, lda, C, ldc, a_transposed);
}

template <class T>
void PackedWeight<T>::multiply_add_panels(std::size_t first, std::size_t last, std::size_t M, const T* A,
                                          std::size_t lda, T* C, std::size_t ldc, bool a_transposed) const {
  if (M == 0 || first >= last) return;
  if (isa_ == PackedIsa::Avx512)
    packed_panels_avx512(A, lda, a_transposed, M, panels_.data(), K_, N_, first, last, C, ldc);
  else
    packed_panels_avx2(A, lda, a_transposed, M, panels_.data(), K_, N_, first, last, C, ldc);
}

template <class T>
void gemm_accumulate(bool ta, bool tb, std::size_t M, std::size_t N, std::size_t K, const T* A, std::size_t lda,
                     const T* B, std::size_t ldb, T* C, std::size_t ldc) {
  if (M == 0 || N == 0 || K == 0) return;
  const PackedIsa isa = packing_repays(M, tb) ? best_packed_isa() : PackedIsa::None;
  if (isa == PackedIsa::None) {
    gemm(ta, tb, int(M), int(N), int(K), T(1), A, int(lda), B, int(ldb), T(1), C, int(ldc));
    return;
  }
  packed_multiply_add(PackedWeight<T>(B, ldb, K, N, tb, isa), ta, M, A, lda, C, ldc);
}

template <class T>
void packed_multiply_add(const PackedWeight<T>& B, bool ta, std::size_t M, const T* A, std::size_t lda, T* C,
                         std::size_t ldc) {
  const std::size_t threads = blas_threads(), panels = B.panel_count();
  if (B.isa() != PackedIsa::None && threads > 1 && M < kMinRowsPerThread * threads && panels >= 4 * threads) {
    for_row_blocks(panels, 4, [&](std::size_t p0, std::size_t p1) { B.multiply_add_panels(p0, p1, M, A, lda, C, ldc, ta); });
    return;
  }
  for_row_blocks(M, kMinPackedRows, [&](std::size_t r0, std::size_t r1) {
    B.multiply_add(r1 - r0, ta ? A + r0 : A + r0 * lda, lda, C + r0 * ldc, ldc, ta);
  });
}

template class PackedWeight<float>;
template class PackedWeight<double>;
template void gemm_accumulate(bool, bool, std::size_t, std::size_t, std::size_t, const float*, std::size_t,
                              const float*, std::size_t, float*, std::size_t);
template void gemm_accumulate(bool, bool, std::size_t, std::size_t, std::size_t, const double*, std::size_t,
                              const double*, std::size_t, double*, std::size_t);
template void packed_multiply_add(const PackedWeight<float>&, bool, std::size_t, const float*, std::size_t, float*,
                                  std::size_t);
template void packed_multiply_add(const PackedWeight<double>&, bool, std::size_t, const double*, std::size_t,
                                  double*, std::size_t);

}  // namespace tapenet::detail
