// Differentiable ops. Each is a free function that checks shapes, computes its value and
// records a closure for its backward; the two halves sit side by side in ops_*.cpp.
// All are instantiated for float and double.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

#include "autograd/tape.hpp"

namespace tapenet {

// ---- elementwise arithmetic with numpy broadcasting (ops_arith.cpp) ----------
template <class T> Var<T> add(Var<T> a, Var<T> b);
template <class T> Var<T> sub(Var<T> a, Var<T> b);
template <class T> Var<T> mul(Var<T> a, Var<T> b);
template <class T> Var<T> div(Var<T> a, Var<T> b);
template <class T> Var<T> neg(Var<T> a);
template <class T> Var<T> add_scalar(Var<T> a, T s);
template <class T> Var<T> mul_scalar(Var<T> a, T s);
// a * mask for a constant mask (no gradient to the mask), broadcast like mul.
template <class T> Var<T> mask_mul(Var<T> a, const Tensor<T>& mask);

template <class T> Var<T> operator+(Var<T> a, Var<T> b) { return add(a, b); }
template <class T> Var<T> operator-(Var<T> a, Var<T> b) { return sub(a, b); }
template <class T> Var<T> operator*(Var<T> a, Var<T> b) { return mul(a, b); }
template <class T> Var<T> operator/(Var<T> a, Var<T> b) { return div(a, b); }
template <class T> Var<T> operator-(Var<T> a) { return neg(a); }
template <class T> Var<T> operator+(Var<T> a, T s) { return add_scalar(a, s); }
template <class T> Var<T> operator+(T s, Var<T> a) { return add_scalar(a, s); }
template <class T> Var<T> operator-(Var<T> a, T s) { return add_scalar(a, -s); }
template <class T> Var<T> operator-(T s, Var<T> a) { return add_scalar(neg(a), s); }
template <class T> Var<T> operator*(Var<T> a, T s) { return mul_scalar(a, s); }
template <class T> Var<T> operator*(T s, Var<T> a) { return mul_scalar(a, s); }
template <class T> Var<T> operator/(Var<T> a, T s) { return mul_scalar(a, T(1) / s); }

// ---- elementwise functions (ops_unary.cpp) -----------------------------------
template <class T> Var<T> exp(Var<T> x);
template <class T> Var<T> log(Var<T> x);
template <class T> Var<T> tanh(Var<T> x);
template <class T> Var<T> sigmoid(Var<T> x);
template <class T> Var<T> relu(Var<T> x);
template <class T> Var<T> square(Var<T> x);
template <class T> Var<T> pow(Var<T> x, T exponent);
template <class T> Var<T> sqrt(Var<T> x);
template <class T> Var<T> clamp(Var<T> x, T lo, T hi);  // gradient 0 outside [lo, hi]

// ---- linear algebra (ops_linalg.cpp) -------------------------------------------
// 2-D product op(a) · op(b) through BLAS gemm; the flags transpose without copying.
template <class T> Var<T> matmul(Var<T> a, Var<T> b, bool transpose_a = false, bool transpose_b = false);
template <class T> Var<T> transpose(Var<T> x);  // 2-D, materialised
// y = x Wᵀ + b for x [N, D], W [M, D], b [1, M]: matmul and bias in one node (the bias is
// written before the GEMM, which then accumulates with beta = 1; backward: db = column
// sums of g, no copy of g). Defined in ops_rnn.cpp beside the fused recurrent ops.
template <class T> Var<T> linear(Var<T> x, Var<T> W, Var<T> b);
// Bilinear tensor product (RNTN): x [B,n], V [K,n,m], y [B,m] -> out [B,K],
// out[b,k] = x_bᵀ V_k y_b. Pass the same Var as x and y for xᵀ V x.
template <class T> Var<T> bilinear(Var<T> x, Var<T> V, Var<T> y);

// ---- shapes (ops_shape.cpp) ------------------------------------------------------
template <class T> Var<T> reshape(Var<T> x, const Shape& shape);
template <class T> Var<T> concat(const std::vector<Var<T>>& xs, std::size_t axis);
template <class T> Var<T> slice(Var<T> x, std::size_t axis, std::size_t begin, std::size_t end);
template <class T> std::vector<Var<T>> split(Var<T> x, std::size_t axis, const std::vector<std::size_t>& sizes);
// Rows of a [V,D] table (embedding lookup) -> [N,D]; backward scatter-adds.
template <class T> Var<T> gather_rows(Var<T> table, const std::vector<std::int64_t>& rows);

// ---- reductions (ops_reduce.cpp) ---------------------------------------------------
template <class T> Var<T> sum(Var<T> x);  // -> shape [1]
template <class T> Var<T> sum(Var<T> x, std::size_t axis, bool keepdims = false);
template <class T> Var<T> mean(Var<T> x);
template <class T> Var<T> mean(Var<T> x, std::size_t axis, bool keepdims = false);
template <class T> Var<T> softmax(Var<T> x, std::size_t axis);
template <class T> Var<T> log_softmax(Var<T> x, std::size_t axis);

// ---- losses (ops_loss.cpp) -----------------------------------------------------------
enum class Reduction { Mean, Sum };
template <class T>
struct ClassLossOptions {
  std::int64_t ignore_index = -100;  // targets equal to this add nothing
  const Tensor<T>* weights = nullptr;  // optional per-row mask/weight [N]
  Reduction reduction = Reduction::Mean;  // Mean divides by the total weight of counted rows
};
// logits [N,C], integer targets -> [1]; fused log_softmax + NLL for stability.
template <class T> Var<T> cross_entropy(Var<T> logits, const std::vector<std::int64_t>& targets,
                                        const ClassLossOptions<T>& options = {});
// log-probabilities [N,C] -> -mean/sum of the target entries.
template <class T> Var<T> nll(Var<T> log_probs, const std::vector<std::int64_t>& targets,
                              const ClassLossOptions<T>& options = {});
template <class T> Var<T> mse(Var<T> prediction, Var<T> target);  // mean of squared error

// ---- regularisation (ops_unary.cpp) ------------------------------------------------------
// Inverted dropout: in training zero each element with probability p and scale by 1/(1-p);
// identity in evaluation.
template <class T> Var<T> dropout(Var<T> x, T p, bool training, std::mt19937_64& rng);

}  // namespace tapenet
