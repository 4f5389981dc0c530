// Classification and regression losses over a batch of rows.
#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include <xsimd/xsimd.hpp>
#include <xtensor/xbroadcast.hpp>

#include "autograd/detail.hpp"
#include "autograd/ops.hpp"
#include "autograd/row_blocks.hpp"

namespace tapenet {

namespace {

// Rows per thread block for rows of C logits: below 2^16 logits a second thread costs more
// than it saves.
std::size_t min_parallel_rows(std::size_t C) {
  constexpr std::size_t kMinParallelElements = std::size_t(1) << 16;
  return std::max<std::size_t>(1, kMinParallelElements / std::max<std::size_t>(C, 1));
}

// max_c x[c], vectorised (-inf for an empty row).
template <class T>
T row_max(const T* x, std::size_t n) {
  using B = xsimd::batch<T>;
  constexpr std::size_t W = B::size;
  T mx = -std::numeric_limits<T>::infinity();
  std::size_t i = 0;
  if (n >= W) {
    B m = B::load_unaligned(x);
    for (i = W; i + W <= n; i += W) m = xsimd::max(m, B::load_unaligned(x + i));
    alignas(64) T lanes[W];
    m.store_aligned(lanes);
    for (std::size_t k = 0; k < W; ++k) mx = std::max(mx, lanes[k]);
  }
  for (; i < n; ++i) mx = std::max(mx, x[i]);
  return mx;
}

// p[c] = e^{x[c] - shift}; returns Σ_c p[c]. Vectorised with xsimd's exp.
template <class T>
T exp_shifted(const T* x, T shift, T* p, std::size_t n) {
  using B = xsimd::batch<T>;
  constexpr std::size_t W = B::size;
  B acc(T(0));
  const B sh(shift);
  std::size_t i = 0;
  for (; i + W <= n; i += W) {
    const B e = xsimd::exp(B::load_unaligned(x + i) - sh);
    e.store_unaligned(p + i);
    acc += e;
  }
  T z = xsimd::hadd(acc);
  for (; i < n; ++i) z += p[i] = std::exp(x[i] - shift);
  return z;
}

// Per-row weights after the mask and ignore_index, validated against [N, C].
template <class T>
std::vector<T> row_weights(const char* op, const Tensor<T>& x, const std::vector<std::int64_t>& targets,
                           const ClassLossOptions<T>& opt) {
  if (x.dimension() != 2) throw ShapeError(op, "input must be [N,C], got " + shape_str(x.shape()));
  const std::size_t N = x.shape()[0], C = x.shape()[1];
  if (targets.size() != N)
    throw ShapeError(op, "input " + shape_str(x.shape()) + " with " + std::to_string(targets.size()) + " targets");
  if (opt.weights && (opt.weights->dimension() != 1 || opt.weights->size() != N))
    throw ShapeError(op, "weights " + shape_str(opt.weights->shape()) + " for input " + shape_str(x.shape()));
  std::vector<T> w(N);
  for (std::size_t r = 0; r < N; ++r) {
    if (targets[r] == opt.ignore_index) continue;
    if (targets[r] < 0 || static_cast<std::size_t>(targets[r]) >= C)
      throw std::out_of_range(std::string(op) + ": target " + std::to_string(targets[r]) + " at row " +
                              std::to_string(r) + " out of range for " + std::to_string(C) + " classes");
    w[r] = opt.weights ? opt.weights->data()[r] : T(1);
  }
  return w;
}

// Mean divides by the total weight of counted rows (0 when nothing counts).
template <class T>
T reduction_scale(const std::vector<T>& w, Reduction reduction) {
  if (reduction == Reduction::Sum) return T(1);
  T total = 0;
  for (T v : w) total += v;
  return total > 0 ? T(1) / total : T(0);
}

}  // namespace

// L = s Σ_r w_r (log Σ_c e^{x_rc} - x_r,t_r);  dx_r = g s w_r (softmax(x_r) - onehot(t_r))
template <class T>
Var<T> cross_entropy(Var<T> logits, const std::vector<std::int64_t>& targets, const ClassLossOptions<T>& opt) {
  const Tensor<T>& X = logits.value();
  std::vector<T> w = row_weights("cross_entropy", X, targets, opt);
  const T scale = reduction_scale(w, opt.reduction);
  const std::size_t N = X.shape()[0], C = X.shape()[1];
  Tensor<T> probs = Tensor<T>::from_shape({N, C});
  // Rows in parallel (detail::for_row_blocks), the loss summed afterwards in row order so it
  // does not depend on the thread count.
  std::vector<T> row_loss(N, T(0));
  const std::size_t min_rows = min_parallel_rows(C);
  detail::for_row_blocks(N, min_rows, [&](std::size_t r0, std::size_t r1) {
    for (std::size_t r = r0; r < r1; ++r) {
      const T* x = X.data() + r * C;
      T* p = probs.data() + r * C;
      const T mx = row_max(x, C);
      const T z = exp_shifted(x, mx, p, C);  // p = e^{x - max}, returns Σ p
      const T inv = T(1) / z;
      for (std::size_t c = 0; c < C; ++c) p[c] *= inv;
      if (w[r] != 0) row_loss[r] = w[r] * (mx + std::log(z) - x[targets[r]]);
    }
  });
  T loss = 0;
  for (std::size_t r = 0; r < N; ++r) loss += row_loss[r];
  auto il = logits.id();
  return logits.tape().record("cross_entropy", full<T>({1}, loss * scale), {logits},
                              [il, targets, w = std::move(w), scale, probs = std::move(probs), N, C, min_rows](
                                  Tape<T>& t, const Tensor<T>& g, const Tensor<T>&) {
    T* dx = t.grad_buffer(il).data();
    const T gs = g.data()[0] * scale;
    detail::for_row_blocks(N, min_rows, [&](std::size_t r0, std::size_t r1) {
      for (std::size_t r = r0; r < r1; ++r) {
        if (w[r] == 0) continue;
        const T* p = probs.data() + r * C;
        for (std::size_t c = 0; c < C; ++c) dx[r * C + c] += gs * w[r] * p[c];
        dx[r * C + targets[r]] -= gs * w[r];
      }
    });
  });
}

// L = -s Σ_r w_r lp[r, t_r];  dlp[r, t_r] = -g s w_r
template <class T>
Var<T> nll(Var<T> log_probs, const std::vector<std::int64_t>& targets, const ClassLossOptions<T>& opt) {
  const Tensor<T>& LP = log_probs.value();
  std::vector<T> w = row_weights("nll", LP, targets, opt);
  const T scale = reduction_scale(w, opt.reduction);
  const std::size_t C = LP.shape()[1];
  T loss = 0;
  for (std::size_t r = 0; r < w.size(); ++r)
    if (w[r] != 0) loss -= w[r] * LP.data()[r * C + targets[r]];
  auto il = log_probs.id();
  return log_probs.tape().record("nll", full<T>({1}, loss * scale), {log_probs},
                                 [il, targets, w = std::move(w), scale, C](Tape<T>& t, const Tensor<T>& g, const Tensor<T>&) {
    T* dx = t.grad_buffer(il).data();
    for (std::size_t r = 0; r < w.size(); ++r)
      if (w[r] != 0) dx[r * C + targets[r]] -= g.data()[0] * scale * w[r];
  });
}

// L = Σ (p - y)² / N;  dp = 2 g (p - y) / N,  dy = -dp
template <class T>
Var<T> mse(Var<T> prediction, Var<T> target) {
  if (!detail::shapes_equal(prediction.shape(), target.shape()))
    throw ShapeError("mse", "prediction " + shape_str(prediction.shape()) + " vs target " + shape_str(target.shape()));
  if (prediction.size() == 0) throw ShapeError("mse", "of empty tensors");
  return mean(square(sub(prediction, target)));
}

namespace {

// Per-element loss and its two partial derivatives.
template <class T>
struct Pointwise {
  T loss, dp, dy;
};

// L = s Σ_i ℓ(p_i, y_i), s = 1 or 1/n;  dp_i = g s ∂ℓ/∂p_i,  dy_i = g s ∂ℓ/∂y_i
// ℓ returns the loss and both partials for element i, kept for the backward.
template <class T, class F>
Var<T> pointwise_loss(const char* op, Var<T> p, Var<T> y, Reduction reduction, F ell) {
  if (!detail::shapes_equal(p.shape(), y.shape()))
    throw ShapeError(op, "input " + shape_str(p.shape()) + " vs target " + shape_str(y.shape()));
  const std::size_t n = p.size();
  if (n == 0 && reduction == Reduction::Mean) throw ShapeError(op, "mean of empty tensors");
  const T scale = reduction == Reduction::Mean ? T(1) / T(n) : T(1);
  Tensor<T> dp = Tensor<T>::from_shape(p.shape()), dy = Tensor<T>::from_shape(p.shape());
  const T* pp = p.value().data();
  const T* yp = y.value().data();
  T loss = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const Pointwise<T> e = ell(pp[i], yp[i], i);
    loss += e.loss;
    dp.data()[i] = e.dp * scale;
    dy.data()[i] = e.dy * scale;
  }
  auto ip = p.id(), iy = y.id();
  return p.tape().record(op, full<T>({1}, loss * scale), {p, y},
                         [ip, iy, dp = std::move(dp), dy = std::move(dy)](Tape<T>& t, const Tensor<T>& g, const Tensor<T>&) {
    const T gv = g.data()[0];
    if (t.requires_grad(ip)) t.accumulate(ip, dp * gv);
    if (t.requires_grad(iy)) t.accumulate(iy, dy * gv);
  });
}

template <class T>
T sign(T v) {
  return T((v > 0) - (v < 0));
}

}  // namespace

// ℓ = |p - y|;  ∂ℓ/∂p = sign(p - y) = -∂ℓ/∂y
template <class T>
Var<T> l1_loss(Var<T> prediction, Var<T> target, Reduction reduction) {
  return pointwise_loss("l1_loss", prediction, target, reduction, [](T p, T y, std::size_t) {
    const T d = p - y;
    return Pointwise<T>{std::abs(d), sign(d), -sign(d)};
  });
}

// d = p - y;  ℓ = |d| < β ? d²/(2β) : |d| - β/2;  ∂ℓ/∂p = |d| < β ? d/β : sign(d) = -∂ℓ/∂y
template <class T>
Var<T> smooth_l1_loss(Var<T> prediction, Var<T> target, T beta, Reduction reduction) {
  if (!(beta >= 0)) throw std::invalid_argument("smooth_l1_loss: beta must be >= 0, got " + std::to_string(beta));
  return pointwise_loss("smooth_l1_loss", prediction, target, reduction, [beta](T p, T y, std::size_t) {
    const T d = p - y;
    if (std::abs(d) < beta) return Pointwise<T>{T(0.5) * d * d / beta, d / beta, -d / beta};
    return Pointwise<T>{std::abs(d) - T(0.5) * beta, sign(d), -sign(d)};
  });
}

// ℓ = w (max(x,0) - x y + log1p(e^{-|x|}));  ∂ℓ/∂x = w (σ(x) - y),  ∂ℓ/∂y = -w x
template <class T>
Var<T> binary_cross_entropy_with_logits(Var<T> logits, Var<T> targets, const typename detail::Undeduced<Tensor<T>>::type* weights,
                                         Reduction reduction) {
  const char* op = "binary_cross_entropy_with_logits";
  Tensor<T> w;
  if (weights) {
    const auto& ws = weights->shape();
    const auto& xs = logits.shape();
    bool ok = ws.size() <= xs.size();
    for (std::size_t i = 0; ok && i < ws.size(); ++i) ok = ws[i] == 1 || ws[i] == xs[xs.size() - ws.size() + i];
    if (!ok) throw ShapeError(op, "weights " + shape_str(ws) + " do not broadcast to logits " + shape_str(xs));
    w = xt::broadcast(*weights, to_shape(xs));
  }
  return pointwise_loss(op, logits, targets, reduction, [&w, weights](T x, T y, std::size_t i) {
    const T wi = weights ? w.data()[i] : T(1);
    const T e = std::exp(-std::abs(x));
    const T sig = x >= 0 ? T(1) / (T(1) + e) : e / (T(1) + e);
    return Pointwise<T>{wi * (std::max(x, T(0)) - x * y + std::log1p(e)), wi * (sig - y), -wi * x};
  });
}

// ℓ = y (log y - x), 0 where y = 0;  ∂ℓ/∂x = -y,  ∂ℓ/∂y = log y - x + 1 (0 where y = 0)
template <class T>
Var<T> kl_div(Var<T> log_input, Var<T> target, Reduction reduction) {
  return pointwise_loss("kl_div", log_input, target, reduction, [](T x, T y, std::size_t) {
    if (y == 0) return Pointwise<T>{T(0), T(0), T(0)};
    const T log_y = std::log(y);
    return Pointwise<T>{y * (log_y - x), -y, log_y - x + T(1)};
  });
}

#define TAPENET_INSTANTIATE_LOSS(T)                                                                   \
  template Var<T> cross_entropy(Var<T>, const std::vector<std::int64_t>&, const ClassLossOptions<T>&); \
  template Var<T> nll(Var<T>, const std::vector<std::int64_t>&, const ClassLossOptions<T>&);           \
  template Var<T> mse(Var<T>, Var<T>);                                                                 \
  template Var<T> l1_loss(Var<T>, Var<T>, Reduction);                                                  \
  template Var<T> smooth_l1_loss(Var<T>, Var<T>, T, Reduction);                                        \
  template Var<T> binary_cross_entropy_with_logits(Var<T>, Var<T>, const Tensor<T>*, Reduction);       \
  template Var<T> kl_div(Var<T>, Var<T>, Reduction);
TAPENET_INSTANTIATE_LOSS(float)
TAPENET_INSTANTIATE_LOSS(double)

}  // namespace tapenet
