// Internal helpers shared by the op implementations (not part of the public API).
#pragma once

#include <cblas.h>

#include <string>

#include "autograd/errors.hpp"
#include "autograd/tensor.hpp"

namespace tapenet::detail {

template <class A, class B>
bool shapes_equal(const A& a, const B& b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin());
}

// numpy broadcasting: align trailing axes; each pair must be equal or contain a 1.
template <class T>
Shape broadcast_shape(const char* op, const Tensor<T>& a, const Tensor<T>& b) {
  const auto& sa = a.shape();
  const auto& sb = b.shape();
  std::size_t rank = std::max(sa.size(), sb.size());
  Shape out(rank);
  for (std::size_t i = 0; i < rank; ++i) {
    std::size_t da = i < rank - sa.size() ? 1 : sa[i - (rank - sa.size())];
    std::size_t db = i < rank - sb.size() ? 1 : sb[i - (rank - sb.size())];
    if (da != db && da != 1 && db != 1)
      throw ShapeError(op, shape_str(sa) + " and " + shape_str(sb) + " do not broadcast");
    out[i] = da == 1 ? db : da;
  }
  return out;
}

// Whether `small` (leading 1s dropped) equals the trailing axes of `big`: then `big` is
// `small` repeated over rows, e.g. a bias [1, C] against [N, C]. Returns the row length.
template <class A, class B>
std::size_t trailing_block(const A& big, const B& small) {
  std::size_t lead = 0;
  while (lead < small.size() && small[lead] == 1) ++lead;
  const std::size_t k = small.size() - lead;
  if (k > big.size()) return 0;
  std::size_t inner = 1;
  for (std::size_t i = 0; i < k; ++i) {
    if (small[lead + i] != big[big.size() - k + i]) return 0;
    inner *= small[lead + i];
  }
  return inner;
}

// The gradient of a broadcast input: sum g over the axes the input was stretched along.
template <class T, class S>
Tensor<T> sum_to_shape(const Tensor<T>& g, const S& shape) {
  if (shapes_equal(g.shape(), shape)) return g;
  if (const std::size_t inner = trailing_block(g.shape(), shape); inner > 0 && g.size() % inner == 0) {
    Tensor<T> out = zeros<T>(to_shape(shape));  // column sums of g viewed as [rows, inner]
    T* op = out.data();
    const T* gp = g.data();
    for (std::size_t r = 0, rows = g.size() / inner; r < rows; ++r)
      for (std::size_t j = 0; j < inner; ++j) op[j] += gp[r * inner + j];
    return out;
  }
  const auto& gs = g.shape();
  const std::size_t rank = gs.size(), offset = rank - shape.size();
  Tensor<T> out = zeros<T>(to_shape(shape));
  // Stride of each g axis into out; 0 where the input had no such axis or size 1.
  std::vector<std::size_t> stride(rank, 0);
  std::size_t s = 1;
  for (std::size_t j = shape.size(); j-- > 0;) {
    if (shape[j] != 1) stride[j + offset] = s;
    s *= shape[j];
  }
  std::vector<std::size_t> index(rank, 0);
  std::size_t dst = 0;
  const T* gp = g.data();
  T* op = out.data();
  for (std::size_t flat = 0; flat < g.size(); ++flat) {
    op[dst] += gp[flat];
    for (std::size_t ax = rank; ax-- > 0;) {  // odometer increment over g's index
      ++index[ax];
      dst += stride[ax];
      if (index[ax] < gs[ax]) break;
      dst -= stride[ax] * gs[ax];
      index[ax] = 0;
    }
  }
  return out;
}

// C[m,n] = alpha * op(A) op(B) + beta * C on raw row-major buffers.
inline void gemm(bool ta, bool tb, int m, int n, int k, float alpha, const float* A, int lda,
                 const float* B, int ldb, float beta, float* C, int ldc) {
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n,
              k, alpha, A, lda, B, ldb, beta, C, ldc);
}
inline void gemm(bool ta, bool tb, int m, int n, int k, double alpha, const double* A, int lda,
                 const double* B, int ldb, double beta, double* C, int ldc) {
  cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n,
              k, alpha, A, lda, B, ldb, beta, C, ldc);
}

// C (+)= op(A) op(B) for 2-D tensors; C must already have the result shape.
template <class T>
void gemm(bool ta, bool tb, const Tensor<T>& A, const Tensor<T>& B, T beta, Tensor<T>& C) {
  const int m = static_cast<int>(ta ? A.shape()[1] : A.shape()[0]);
  const int k = static_cast<int>(ta ? A.shape()[0] : A.shape()[1]);
  const int n = static_cast<int>(tb ? B.shape()[0] : B.shape()[1]);
  if (m == 0 || n == 0) return;
  if (k == 0) {  // BLAS rejects zero leading dimensions; the product is empty
    if (beta == T(0)) C.fill(T(0));
    return;
  }
  gemm(ta, tb, m, n, k, T(1), A.data(), static_cast<int>(A.shape()[1]), B.data(),
       static_cast<int>(B.shape()[1]), beta, C.data(), n);
}

}  // namespace tapenet::detail
