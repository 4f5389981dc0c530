// Matrix products through BLAS gemm. Transposes are gemm flags, never copies, and the
// backward gemms accumulate straight into the gradient buffers (beta = 1).
#include "autograd/detail.hpp"
#include "autograd/node_products.hpp"
#include "autograd/ops.hpp"

#include <algorithm>
#include <vector>

#include <xsimd/xsimd.hpp>

namespace tapenet {

using detail::gemm;

namespace {

template <class T>
void require_rank(const char* op, const char* name, const Tensor<T>& t, std::size_t rank) {
  if (t.dimension() != rank)
    throw ShapeError(op, std::string(name) + " must be " + std::to_string(rank) + "-D, got " + shape_str(t.shape()));
}

// Batches up to this size use direct loops in bilinear instead of BLAS.
constexpr std::size_t kSmallBatch = 4;

// Σ a_i b_i, vectorised (two SIMD accumulators, then the scalar tail).
template <class T>
T dot(const T* a, const T* b, std::size_t n) {
  using Bt = xsimd::batch<T>;
  constexpr std::size_t W = Bt::size;
  Bt s0(T(0)), s1(T(0));
  std::size_t i = 0;
  for (; i + 2 * W <= n; i += 2 * W) {
    s0 = xsimd::fma(Bt::load_unaligned(a + i), Bt::load_unaligned(b + i), s0);
    s1 = xsimd::fma(Bt::load_unaligned(a + i + W), Bt::load_unaligned(b + i + W), s1);
  }
  for (; i + W <= n; i += W) s0 = xsimd::fma(Bt::load_unaligned(a + i), Bt::load_unaligned(b + i), s0);
  T s = xsimd::hadd(s0 + s1);
  for (; i < n; ++i) s += a[i] * b[i];
  return s;
}

// y = A x (trans: Aᵀ x) for a row-major [rows, cols] matrix A: BLAS gemv, which needs no
// operand packing (unlike gemm with one row).
inline void gemv(bool trans, int rows, int cols, const float* A, const float* x, float* y) {
  cblas_sgemv(CblasRowMajor, trans ? CblasTrans : CblasNoTrans, rows, cols, 1.0f, A, cols, x, 1, 0.0f, y, 1);
}
inline void gemv(bool trans, int rows, int cols, const double* A, const double* x, double* y) {
  cblas_dgemv(CblasRowMajor, trans ? CblasTrans : CblasNoTrans, rows, cols, 1.0, A, cols, x, 1, 0.0, y, 1);
}

// y += a x
template <class T>
void axpy(T a, const T* x, T* y, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) y[i] += a * x[i];
}

struct MatmulDims {
  std::size_t m, k, n;  // op(A) [m, k], op(B) [k, n]
};

template <class T>
MatmulDims matmul_dims(const Tensor<T>& A, const Tensor<T>& B, bool ta, bool tb) {
  require_rank("matmul", "left operand", A, 2);
  require_rank("matmul", "right operand", B, 2);
  const std::size_t m = ta ? A.shape()[1] : A.shape()[0], k = ta ? A.shape()[0] : A.shape()[1];
  const std::size_t kb = tb ? B.shape()[1] : B.shape()[0], n = tb ? B.shape()[0] : B.shape()[1];
  if (k != kb)
    throw ShapeError("matmul", shape_str(A.shape()) + (ta ? "ᵀ" : "") + " x " + shape_str(B.shape()) + (tb ? "ᵀ" : ""));
  return {m, k, n};
}

// One row (a tree node, a single decoder step): c = a B̄ is a gemv; in backward
// dA = g B̄ᵀ is a gemv and dB̄ += aᵀ g an outer product, which the tape sums for a leaf B
// with one GEMM per backward (Tape::add_outer_product_grad).
template <class T>
Var<T> matmul_one_row(Var<T> a, Var<T> b, bool tb, std::size_t k, std::size_t n) {
  const Tensor<T>& B = b.value();
  Tensor<T> C = Tensor<T>::from_shape({1, n});
  const int rows = int(B.shape()[0]), cols = int(B.shape()[1]);
  gemv(!tb, rows, cols, B.data(), a.value().data(), C.data());  // c = Bᵀa (B [k,n]) or B a (B [n,k])
  auto ia = a.id(), ib = b.id();
  return a.tape().record("matmul", std::move(C), {a, b}, [ia, ib, tb, k, n](Tape<T>& t, const Tensor<T>& G, const Tensor<T>&) {
    const Tensor<T>& B = t.value(ib);
    const int rows = int(B.shape()[0]), cols = int(B.shape()[1]);
    if (t.requires_grad(ia)) {
      thread_local std::vector<T> da;
      da.resize(k);
      gemv(tb, rows, cols, B.data(), G.data(), da.data());  // dA = g B̄ᵀ
      axpy(T(1), da.data(), t.grad_buffer(ia).data(), k);
    }
    if (t.requires_grad(ib)) {
      const T* a = t.value(ia).data();
      if (tb) t.add_outer_product_grad(ib, G.data(), n, a, k);  // dB [n,k] += g ⊗ a
      else t.add_outer_product_grad(ib, a, k, G.data(), n);     // dB [k,n] += a ⊗ g
    }
  });
}

// dĀ = G B̄ᵀ and dB̄ = Āᵀ G for C = op(A) op(B) of `d`'s dimensions.
template <class T>
void matmul_backward(Tape<T>& t, const Tensor<T>& G, std::uint32_t ia, std::uint32_t ib, bool ta, bool tb,
                     const MatmulDims& d) {
  const Tensor<T>& A = t.value(ia);
  const Tensor<T>& B = t.value(ib);
  if (t.requires_grad(ia)) {
    Tensor<T>& dA = t.grad_buffer(ia);
    if (ta) gemm(tb, true, B, G, T(1), dA);                                                // dA = B̄ Gᵀ
    else detail::multiply_add_node(t, ib, !tb, false, d.m, G.data(), d.n, dA.data(), d.k);  // dA = G B̄ᵀ
  }
  if (!t.requires_grad(ib)) return;
  if (ta) {
    Tensor<T>& dB = t.grad_buffer(ib);
    if (tb) gemm(true, ta, G, A, T(1), dB);  // dB = Gᵀ Ā
    else gemm(!ta, false, A, G, T(1), dB);   // dB = Āᵀ G
  } else if (tb) {
    t.add_product_grad(ib, G.data(), d.n, d.n, A.data(), d.k, d.k, d.m);  // dB [n,k] += Gᵀ A, one GEMM for a leaf
  } else {
    t.add_product_grad(ib, A.data(), d.k, d.k, G.data(), d.n, d.n, d.m);  // dB [k,n] += Aᵀ G
  }
}

}  // namespace

// C = op(A) op(B).  With Ā = op(A), B̄ = op(B):  dĀ = G B̄ᵀ,  dB̄ = Āᵀ G;
// a transposed operand receives the transpose, which is again just a gemm flag.
template <class T>
Var<T> matmul(Var<T> a, Var<T> b, bool ta, bool tb) {
  const Tensor<T>& A = a.value();
  const Tensor<T>& B = b.value();
  const MatmulDims d = matmul_dims(A, B, ta, tb);
  if (d.m == 1 && !ta && d.k > 0 && d.n > 0) return matmul_one_row(a, b, tb, d.k, d.n);
  Tensor<T> C = Tensor<T>::from_shape({d.m, d.n});
  Tape<T>& tape = a.tape();
  tape.check_inputs("matmul", {a, b});  // before b's node is read for its packing
  if (detail::node_is_packed_parameter(tape, b.id(), tb, d.m)) {  // a weight: packed once per tape
    C.fill(T(0));
    detail::multiply_add_node(tape, b.id(), tb, ta, d.m, A.data(), A.shape()[1], C.data(), d.n);
  } else {
    gemm(ta, tb, A, B, T(0), C);
  }
  auto ia = a.id(), ib = b.id();
  return tape.record("matmul", std::move(C), {a, b}, [ia, ib, ta, tb, d](Tape<T>& t, const Tensor<T>& G, const Tensor<T>&) {
    matmul_backward(t, G, ia, ib, ta, tb, d);
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

namespace {

struct BilinearDims {
  std::size_t B, n, K, m;  // x [B, n], V [K, n, m], y [B, m]
  std::size_t Kn() const { return K * n; }
  bool small() const { return B <= kSmallBatch; }
};

template <class T>
BilinearDims bilinear_dims(const Tensor<T>& X, const Tensor<T>& V, const Tensor<T>& Y) {
  require_rank("bilinear", "x", X, 2);
  require_rank("bilinear", "V", V, 3);
  require_rank("bilinear", "y", Y, 2);
  const BilinearDims d{X.shape()[0], X.shape()[1], V.shape()[0], V.shape()[2]};
  if (V.shape()[1] != d.n || Y.shape()[1] != d.m || Y.shape()[0] != d.B)
    throw ShapeError("bilinear", "x " + shape_str(X.shape()) + ", V " + shape_str(V.shape()) + ", y " + shape_str(Y.shape()));
  return d;
}

// Z = y V_rᵀ [B, K·n]: one gemv per row for a small batch, else one gemm.
template <class T>
Tensor<T> bilinear_z(const Tensor<T>& V, const Tensor<T>& Y, const BilinearDims& d) {
  const std::size_t Kn = d.Kn();
  Tensor<T> Z = Tensor<T>::from_shape({d.B, Kn});
  if (d.B == 0 || Kn == 0) return Z;
  if (d.m == 0) {
    Z.fill(T(0));
  } else if (d.small()) {
    for (std::size_t b = 0; b < d.B; ++b) gemv(false, int(Kn), int(d.m), V.data(), Y.data() + b * d.m, Z.data() + b * Kn);
  } else {
    gemm(false, true, int(d.B), int(Kn), int(d.m), T(1), Y.data(), int(d.m), V.data(), int(d.m), T(0), Z.data(), int(Kn));
  }
  return Z;
}

// dx[b,i] += Σ_k g[b,k] Z[b, k·n+i]
template <class T>
void bilinear_dx(T* dX, const Tensor<T>& g, const Tensor<T>& Z, const BilinearDims& d) {
  const std::size_t Kn = d.Kn();
  for (std::size_t b = 0; b < d.B; ++b)
    for (std::size_t k = 0; k < d.K; ++k) {
      const T gk = g(b, k);
      const T* z = Z.data() + b * Kn + k * d.n;
      T* dx = dX + b * d.n;
      for (std::size_t i = 0; i < d.n; ++i) dx[i] += gk * z[i];
    }
}

// Per row b: w = g_b ⊗ x_b [K·n];  dy_b += w V_r (one pass over V_r);  dV_r += w ⊗ y_b,
// handed to the tape, which sums all such products of a leaf V with one GEMM at the end of
// backward. dy goes through a scratch row: x, V and y may be one node (xᵀ V x).
template <class T>
void bilinear_dv_dy_by_rows(Tape<T>& t, const Tensor<T>& g, std::uint32_t ix, std::uint32_t iv, std::uint32_t iy,
                            bool dv, bool dy, const BilinearDims& d) {
  const std::size_t Kn = d.Kn();
  const T* X = t.value(ix).data();
  const T* V = t.value(iv).data();
  const T* Y = t.value(iy).data();
  thread_local std::vector<T> w, dyb;
  w.resize(Kn);
  dyb.resize(d.m);
  for (std::size_t b = 0; b < d.B; ++b) {
    for (std::size_t k = 0; k < d.K; ++k)
      for (std::size_t i = 0; i < d.n; ++i) w[k * d.n + i] = g(b, k) * X[b * d.n + i];
    if (dy) gemv(true, int(Kn), int(d.m), V, w.data(), dyb.data());
    if (dv) t.add_outer_product_grad(iv, w.data(), Kn, Y + b * d.m, d.m);
    if (dy) axpy(T(1), dyb.data(), t.grad_buffer(iy).data() + b * d.m, d.m);
  }
}

// W[b, k·n+i] = g[b,k] x[b,i];  dy += W V_r,  dV_r += Wᵀ y, each one gemm.
template <class T>
void bilinear_dv_dy_batched(Tape<T>& t, const Tensor<T>& g, std::uint32_t ix, std::uint32_t iv, std::uint32_t iy,
                            bool dv, bool dy, const BilinearDims& d) {
  const std::size_t Kn = d.Kn();
  const T* X = t.value(ix).data();
  Tensor<T> W = Tensor<T>::from_shape({d.B, Kn});
  for (std::size_t b = 0; b < d.B; ++b)
    for (std::size_t k = 0; k < d.K; ++k)
      for (std::size_t i = 0; i < d.n; ++i) W(b, k * d.n + i) = g(b, k) * X[b * d.n + i];
  const int iB = int(d.B), iKn = int(Kn), im = int(d.m);
  if (dy) gemm(false, false, iB, im, iKn, T(1), W.data(), iKn, t.value(iv).data(), im, T(1), t.grad_buffer(iy).data(), im);
  if (dv) gemm(true, false, iKn, im, iB, T(1), W.data(), iKn, t.value(iy).data(), im, T(1), t.grad_buffer(iv).data(), im);
}

}  // namespace

// out[b,k] = x_bᵀ V_k y_b with V viewed as the matrix V_r [K·n, m].
//   Z = y V_rᵀ  [B, K·n]          (Z[b, k·n+i] = (V_k y_b)_i)
//   out[b,k] = Σ_i x[b,i] Z[b, k·n+i]
// Backward with W[b, k·n+i] = g[b,k] x[b,i]:
//   dx[b,i] = Σ_k g[b,k] Z[b, k·n+i],   dy = W V_r,   dV_r = Wᵀ y.
// For a few rows (the RNTN composes one node at a time, B = 1) BLAS spends its time packing
// operands for what are really matrix-vector products, so small batches use direct loops
// instead: one pass over V_r forms Z, and one pass in backward updates dV_r and dy together
// (row r of V_r: dV_r[r] += W[b,r] y_b, dy_b += W[b,r] V_r[r]).
template <class T>
Var<T> bilinear(Var<T> x, Var<T> V, Var<T> y) {
  const Tensor<T>& X = x.value();
  const BilinearDims d = bilinear_dims(X, V.value(), y.value());
  Tensor<T> Z = bilinear_z(V.value(), y.value(), d);
  Tensor<T> out = Tensor<T>::from_shape({d.B, d.K});
  for (std::size_t b = 0; b < d.B; ++b)
    for (std::size_t k = 0; k < d.K; ++k) out(b, k) = dot(X.data() + b * d.n, Z.data() + b * d.Kn() + k * d.n, d.n);
  auto ix = x.id(), iv = V.id(), iy = y.id();
  return x.tape().record("bilinear", std::move(out), {x, V, y},
                         [ix, iv, iy, Z = std::move(Z), d](Tape<T>& t, const Tensor<T>& g, const Tensor<T>&) {
    if (t.requires_grad(ix)) bilinear_dx(t.grad_buffer(ix).data(), g, Z, d);
    const bool dv = t.requires_grad(iv), dy = t.requires_grad(iy);
    if ((!dv && !dy) || !d.B || !d.K || !d.n || !d.m) return;
    if (d.small()) bilinear_dv_dy_by_rows(t, g, ix, iv, iy, dv, dy, d);
    else bilinear_dv_dy_batched(t, g, ix, iv, iy, dv, dy, d);
  });
}

namespace {

// C (+)= op(A) op(B) on raw [m,k]·[k,n] blocks; BLAS rejects zero leading dimensions.
template <class T>
void gemm_block(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, const T* A, const T* B, T beta, T* C) {
  if (m == 0 || n == 0) return;
  if (k == 0) {
    if (beta == T(0)) std::fill(C, C + m * n, T(0));
    return;
  }
  gemm(ta, tb, int(m), int(n), int(k), T(1), A, int(ta ? m : k), B, int(tb ? k : n), beta, C, int(n));
}

}  // namespace

// C_b = op(A_b) op(B_b) for each batch b; backward per batch as matmul:
//   dĀ = G B̄ᵀ (stored transposed when ta: dA = B̄ Gᵀ),  dB̄ = Āᵀ G (when tb: dB = Gᵀ Ā)
template <class T>
Var<T> bmm(Var<T> a, Var<T> b, bool ta, bool tb) {
  const Tensor<T>& A = a.value();
  const Tensor<T>& B = b.value();
  require_rank("bmm", "left operand", A, 3);
  require_rank("bmm", "right operand", B, 3);
  const std::size_t nb = A.shape()[0], m = A.shape()[ta ? 2 : 1], k = A.shape()[ta ? 1 : 2];
  const std::size_t kb = B.shape()[tb ? 2 : 1], n = B.shape()[tb ? 1 : 2];
  if (B.shape()[0] != nb || k != kb)
    throw ShapeError("bmm", shape_str(A.shape()) + (ta ? "ᵀ" : "") + " x " + shape_str(B.shape()) + (tb ? "ᵀ" : ""));
  Tensor<T> C = Tensor<T>::from_shape({nb, m, n});
  for (std::size_t i = 0; i < nb; ++i) gemm_block(ta, tb, m, n, k, A.data() + i * m * k, B.data() + i * k * n, T(0), C.data() + i * m * n);
  auto ia = a.id(), ib = b.id();
  return a.tape().record("bmm", std::move(C), {a, b}, [ia, ib, ta, tb, nb, m, n, k](Tape<T>& t, const Tensor<T>& G, const Tensor<T>&) {
    const T* Ap = t.value(ia).data();
    const T* Bp = t.value(ib).data();
    if (t.requires_grad(ia)) {
      T* dA = t.grad_buffer(ia).data();
      for (std::size_t i = 0; i < nb; ++i) {
        const T* Gi = G.data() + i * m * n;
        const T* Bi = Bp + i * k * n;
        if (ta) gemm_block(tb, true, k, m, n, Bi, Gi, T(1), dA + i * m * k);  // dA [k,m] = B̄ Gᵀ
        else gemm_block(false, !tb, m, k, n, Gi, Bi, T(1), dA + i * m * k);   // dA [m,k] = G B̄ᵀ
      }
    }
    if (t.requires_grad(ib)) {
      T* dB = t.grad_buffer(ib).data();
      for (std::size_t i = 0; i < nb; ++i) {
        const T* Gi = G.data() + i * m * n;
        const T* Ai = Ap + i * m * k;
        if (tb) gemm_block(true, ta, n, k, m, Gi, Ai, T(1), dB + i * k * n);  // dB [n,k] = Gᵀ Ā
        else gemm_block(!ta, false, k, n, m, Ai, Gi, T(1), dB + i * k * n);  // dB [k,n] = Āᵀ G
      }
    }
  });
}

#define TAPENET_INSTANTIATE_LINALG(T)                  \
  template Var<T> matmul(Var<T>, Var<T>, bool, bool);  \
  template Var<T> transpose(Var<T>);                   \
  template Var<T> bilinear(Var<T>, Var<T>, Var<T>);    \
  template Var<T> bmm(Var<T>, Var<T>, bool, bool);
TAPENET_INSTANTIATE_LINALG(float)
TAPENET_INSTANTIATE_LINALG(double)

}  // namespace tapenet
