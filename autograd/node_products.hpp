// Products whose right-hand operand is a tape node (internal, for op implementations).
#pragma once

#include "autograd/packed_gemm.hpp"
#include "autograd/tape.hpp"

namespace tapenet::detail {

// C[M, N] += op(A) · B with B = W or Wᵀ (`transposed`) for the 2-D node W of tape t. A
// parameter takes the tape's cached packing (packed once per recording, however many steps
// use it); anything else goes through gemm_accumulate, which packs per call when that pays.
template <class T>
void multiply_add_node(Tape<T>& t, std::uint32_t W_id, bool transposed, bool a_transposed, std::size_t M,
                       const T* A, std::size_t lda, T* C, std::size_t ldc) {
  const Tensor<T>& W = t.value(W_id);
  const std::size_t rows = W.shape()[0], cols = W.shape()[1];
  const std::size_t K = transposed ? cols : rows, N = transposed ? rows : cols;
  if (M == 0 || N == 0 || K == 0) return;
  if (packing_repays(M, false))
    if (const PackedWeight<T>* packed = t.packed_parameter(W_id, transposed)) {
      packed_multiply_add(*packed, a_transposed, M, A, lda, C, ldc);
      return;
    }
  gemm_accumulate(a_transposed, transposed, M, N, K, A, lda, W.data(), cols, C, ldc);
}

// Whether multiply_add_node(t, W_id, transposed, ..., M, ...) takes the tape's cached packing
// (asking packs W in that orientation, which that call then uses).
template <class T>
bool node_is_packed_parameter(Tape<T>& t, std::uint32_t W_id, bool transposed, std::size_t M) {
  return packing_repays(M, false) && t.packed_parameter(W_id, transposed) != nullptr;
}

}  // namespace tapenet::detail
