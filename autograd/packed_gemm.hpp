// A weight matrix packed once for many products C += A · B (internal, not public API).
//
// Why: a recurrence multiplies the same W_hh by a small [batch, H] block at every time step.
// OpenBLAS has no "pack once" interface, so each of those calls re-packs all of W_hh, a
// cost that grows with the weight and not with the batch. Here W is packed once per sequence
// into column panels and a register-blocked kernel streams A against them: the packing and
// blocking of Goto and van de Geijn (2008), with the packed operand kept across calls.
// Measurements: bench/README.md ("Packed GEMM kernel").
//
// The kernel is compiled for AVX-512 and for AVX2+FMA in their own translation units and
// chosen at run time (CPUID), so default builds get it without -march=native. It does not
// depend on OpenBLAS's kernel choice (OPENBLAS_CORETYPE). By default only the AVX-512 kernel
// is used (the AVX2 one, TAPENET_PACKED_GEMM=avx2, does not beat OpenBLAS's own AVX2 kernels
// over a whole step); without AVX-512, or with TAPENET_PACKED_GEMM=0, multiply_add is plain
// BLAS gemm.
// multiply_add runs on the calling thread (the BLAS fallback excepted): the fused recurrences
// parallelise over batch rows themselves (ops_rnn.cpp, for_batch_blocks). Each element of C is
// summed in the same order whatever the row count, so splitting rows changes no bit.
#pragma once

#include <cstddef>

#include "autograd/tensor.hpp"

namespace tapenet::detail {

enum class PackedIsa { None, Avx2, Avx512 };  // ordered: later is wider

// The kernel in use: AVX-512 where the CPU has it, or what TAPENET_PACKED_GEMM asks for.
PackedIsa best_packed_isa();
bool cpu_supports(PackedIsa isa);
const char* packed_isa_name(PackedIsa isa);

template <class T>
class PackedWeight {
 public:
  // B = Wᵀ when `transposed` (W is [N, K]), else B = W (W is [K, N]); W is row-major with
  // row stride ldw and must outlive this object (the BLAS fallback reads it).
  PackedWeight(const T* W, std::size_t ldw, std::size_t K, std::size_t N, bool transposed,
               PackedIsa isa = best_packed_isa());

  // C[M, N] += A[M, K] · B, A and C row-major with row strides lda and ldc; with
  // a_transposed, A is stored as Aᵀ [K, M] (element (m, k) at A[k·lda + m]).
  void multiply_add(std::size_t M, const T* A, std::size_t lda, T* C, std::size_t ldc,
                    bool a_transposed = false) const;
  // The same for the columns of panels [first, last) only (panel_width() columns each); the
  // packed kernel must be in use. Each element of C is summed in the same order either way.
  void multiply_add_panels(std::size_t first, std::size_t last, std::size_t M, const T* A, std::size_t lda, T* C,
                           std::size_t ldc, bool a_transposed) const;
  std::size_t panel_count() const { return panel_width_ ? (N_ + panel_width_ - 1) / panel_width_ : 0; }

  PackedIsa isa() const { return isa_; }

 private:
  void pack();
  void pack_panel(std::size_t p);

  const T* W_;
  std::size_t ldw_, K_, N_;
  bool transposed_;
  PackedIsa isa_;
  std::size_t panel_width_ = 0;  // columns per panel: two SIMD registers
  Tensor<T> panels_;  // panel p, row k: panel_width_ values (64-byte aligned, recycled storage)
};

// Whether packing B (Bᵀ when `transposed`) once pays off over `rows` rows of products.
bool packing_repays(std::size_t rows, bool transposed);

// C[M, N] += op(A) · op(B), as gemm(ta, tb, ...) with alpha = beta = 1, for the large
// products outside the recurrences (linear layers, weight gradients): B is packed once and
// the rows of C are split over OpenBLAS's thread count. A row's sums do not depend on the
// split, so the result is the same for any thread count. Few rows (under 8; under 32 when
// tb), or no packed kernel: plain BLAS gemm.
template <class T>
void gemm_accumulate(bool ta, bool tb, std::size_t M, std::size_t N, std::size_t K, const T* A, std::size_t lda,
                     const T* B, std::size_t ldb, T* C, std::size_t ldc);

// C[M, N] += op(A) · B for a B packed beforehand (e.g. a parameter, Tape::packed_parameter),
// split over OpenBLAS's thread count: by rows of C as in gemm_accumulate, or, for few rows
// (a decoder step's batch against a large readout), by column panels, so that each thread
// streams only its share of B. Any split gives the same bits.
template <class T>
void packed_multiply_add(const PackedWeight<T>& B, bool ta, std::size_t M, const T* A, std::size_t lda, T* C,
                         std::size_t ldc);

}  // namespace tapenet::detail
