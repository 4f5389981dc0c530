// Matrix products through BLAS gemm. Transposes are gemm flags, never copies, and the
// backward gemms accumulate straight into the gradient buffers (beta = 1).
#include "autograd/detail.hpp"
#include "autograd/ops.hpp"

namespace tapenet {

using detail::gemm;

namespace {

template <class T>
void require_rank(const char* op, const char* name, const Tensor<T>& t, std::size_t rank) {
  if (t.dimension() != rank)
    throw ShapeError(op, std::string(name) + " must be " + std::to_string(rank) + "-D, got " + shape_str(t.shape()));
}

}  // namespace

// C = op(A) op(B).  With Ā = op(A), B̄ = op(B):  dĀ = G B̄ᵀ,  dB̄ = Āᵀ G;
// a transposed operand receives the transpose, which is again just a gemm flag.
template <class T>
Var<T> matmul(Var<T> a, Var<T> b, bool ta, bool tb) {
  const Tensor<T>& A = a.value();
  const Tensor<T>& B = b.value();
  require_rank("matmul", "left operand", A, 2);
  require_rank("matmul", "right operand", B, 2);
  const std::size_t m = ta ? A.shape()[1] : A.shape()[0], k = ta ? A.shape()[0] : A.shape()[1];
  const std::size_t kb = tb ? B.shape()[1] : B.shape()[0], n = tb ? B.shape()[0] : B.shape()[1];
  if (k != kb)
    throw ShapeError("matmul", shape_str(A.shape()) + (ta ? "ᵀ" : "") + " x " + shape_str(B.shape()) + (tb ? "ᵀ" : ""));
  Tensor<T> C = Tensor<T>::from_shape({m, n});
  gemm(ta, tb, A, B, T(0), C);
  auto ia = a.id(), ib = b.id();
  return a.tape().record("matmul", std::move(C), {a, b}, [ia, ib, ta, tb](Tape<T>& t, const Tensor<T>& G, const Tensor<T>&) {
    const Tensor<T>& A = t.value(ia);
    const Tensor<T>& B = t.value(ib);
    if (t.requires_grad(ia)) {
      Tensor<T>& dA = t.grad_buffer(ia);
      if (ta) gemm(tb, true, B, G, T(1), dA);    // dA = B̄ Gᵀ
      else gemm(false, !tb, G, B, T(1), dA);      // dA = G B̄ᵀ
    }
    if (t.requires_grad(ib)) {
      Tensor<T>& dB = t.grad_buffer(ib);
      if (tb) gemm(true, ta, G, A, T(1), dB);     // dB = Gᵀ Ā
      else gemm(!ta, false, A, G, T(1), dB);      // dB = Āᵀ G
    }
  });
}

// Y = Xᵀ;  dX = Gᵀ
template <class T>
Var<T> transpose(Var<T> x) {
  require_rank("transpose", "input", x.value(), 2);
  Tensor<T> y = xt::transpose(x.value());
  auto ix = x.id();
  return x.tape().record("transpose", std::move(y), {x}, [ix](Tape<T>& t, const Tensor<T>& g, const Tensor<T>&) {
    t.accumulate(ix, Tensor<T>(xt::transpose(g)));
  });
}

// out[b,k] = x_bᵀ V_k y_b with V viewed as the matrix V_r [K·n, m].
//   Z = y V_rᵀ  [B, K·n]          (Z[b, k·n+i] = (V_k y_b)_i)
//   out[b,k] = Σ_i x[b,i] Z[b, k·n+i]
// Backward with W[b, k·n+i] = g[b,k] x[b,i]:
//   dx[b,i] = Σ_k g[b,k] Z[b, k·n+i],   dy = W V_r,   dV_r = Wᵀ y.
template <class T>
Var<T> bilinear(Var<T> x, Var<T> V, Var<T> y) {
  const Tensor<T>& X = x.value();
  const Tensor<T>& Vt = V.value();
  const Tensor<T>& Y = y.value();
  require_rank("bilinear", "x", X, 2);
  require_rank("bilinear", "V", Vt, 3);
  require_rank("bilinear", "y", Y, 2);
  const std::size_t B = X.shape()[0], n = X.shape()[1], K = Vt.shape()[0], m = Vt.shape()[2];
  if (Vt.shape()[1] != n || Y.shape()[1] != m || Y.shape()[0] != B)
    throw ShapeError("bilinear", "x " + shape_str(X.shape()) + ", V " + shape_str(Vt.shape()) + ", y " + shape_str(Y.shape()));
  const int iB = int(B), iKn = int(K * n), im = int(m);
  Tensor<T> Z = Tensor<T>::from_shape({B, K * n});
  if (B > 0 && K * n > 0 && m > 0) gemm(false, true, iB, iKn, im, T(1), Y.data(), im, Vt.data(), im, T(0), Z.data(), iKn);
  else Z.fill(T(0));
  Tensor<T> out = Tensor<T>::from_shape({B, K});
  for (std::size_t b = 0; b < B; ++b)
    for (std::size_t k = 0; k < K; ++k) {
      T s = 0;
      for (std::size_t i = 0; i < n; ++i) s += X(b, i) * Z(b, k * n + i);
      out(b, k) = s;
    }
  auto ix = x.id(), iv = V.id(), iy = y.id();
  return x.tape().record("bilinear", std::move(out), {x, V, y},
                         [ix, iv, iy, Z = std::move(Z), B, n, K, m](Tape<T>& t, const Tensor<T>& g, const Tensor<T>&) {
    const Tensor<T>& X = t.value(ix);
    if (t.requires_grad(ix)) {
      Tensor<T>& dX = t.grad_buffer(ix);
      for (std::size_t b = 0; b < B; ++b)
        for (std::size_t k = 0; k < K; ++k)
          for (std::size_t i = 0; i < n; ++i) dX(b, i) += g(b, k) * Z(b, k * n + i);
    }
    if (!t.requires_grad(iv) && !t.requires_grad(iy)) return;
    if (!B || !K || !n || !m) return;
    Tensor<T> W = Tensor<T>::from_shape({B, K * n});
    for (std::size_t b = 0; b < B; ++b)
      for (std::size_t k = 0; k < K; ++k)
        for (std::size_t i = 0; i < n; ++i) W(b, k * n + i) = g(b, k) * X(b, i);
    const int iB = int(B), iKn = int(K * n), im = int(m);
    if (t.requires_grad(iy))
      gemm(false, false, iB, im, iKn, T(1), W.data(), iKn, t.value(iv).data(), im, T(1), t.grad_buffer(iy).data(), im);
    if (t.requires_grad(iv))
      gemm(true, false, iKn, im, iB, T(1), W.data(), iKn, t.value(iy).data(), im, T(1), t.grad_buffer(iv).data(), im);
  });
}

#define TAPENET_INSTANTIATE_LINALG(T)                  \
  template Var<T> matmul(Var<T>, Var<T>, bool, bool);  \
  template Var<T> transpose(Var<T>);                   \
  template Var<T> bilinear(Var<T>, Var<T>, Var<T>);
TAPENET_INSTANTIATE_LINALG(float)
TAPENET_INSTANTIATE_LINALG(double)

}  // namespace tapenet
