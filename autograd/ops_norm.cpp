// Normalisation: layer norm as one node, cosine similarity composed of existing ops.
#include <cmath>
#include <limits>
#include <vector>

#include "autograd/detail.hpp"
#include "autograd/ops.hpp"

namespace tapenet {

// Per row r of x viewed as [R, D]:
//   μ = Σ x / D,  σ² = Σ (x - μ)² / D,  ρ = 1 / √(σ² + ε),  x̂ = (x - μ) ρ,  y = x̂ ⊙ γ + β
// Backward with d̂ = g ⊙ γ:
//   dx = ρ (d̂ - mean(d̂) - x̂ mean(d̂ ⊙ x̂)),  dγ = Σ_r g ⊙ x̂,  dβ = Σ_r g
template <class T>
Var<T> layer_norm(Var<T> x, Var<T> gain, Var<T> bias, T eps) {
  const auto& xs = x.shape();
  if (xs.empty() || xs.back() == 0) throw ShapeError("layer_norm", "input " + shape_str(xs) + " has no last axis to normalise");
  const std::size_t D = xs.back(), R = x.size() / D;
  if (gain.ndim() != 1 || gain.size() != D || bias.ndim() != 1 || bias.size() != D)
    throw ShapeError("layer_norm", "input " + shape_str(xs) + " with gain " + shape_str(gain.shape()) + " and bias " +
                                       shape_str(bias.shape()) + " (both must be [" + std::to_string(D) + "])");
  if (!(eps >= 0)) throw std::invalid_argument("layer_norm: eps must be >= 0, got " + std::to_string(eps));
  Tensor<T> xhat = Tensor<T>::from_shape(xs), y = Tensor<T>::from_shape(xs);
  std::vector<T> rho(R);
  const T* xp = x.value().data();
  const T* gp = gain.value().data();
  const T* bp = bias.value().data();
  for (std::size_t r = 0; r < R; ++r) {
    const T* row = xp + r * D;
    T mu = 0, var = 0;
    for (std::size_t j = 0; j < D; ++j) mu += row[j];
    mu /= T(D);
    for (std::size_t j = 0; j < D; ++j) var += (row[j] - mu) * (row[j] - mu);
    rho[r] = T(1) / std::sqrt(var / T(D) + eps);
    for (std::size_t j = 0; j < D; ++j) {
      const T h = xhat.data()[r * D + j] = (row[j] - mu) * rho[r];
      y.data()[r * D + j] = h * gp[j] + bp[j];
    }
  }
  auto ix = x.id(), ig = gain.id(), ib = bias.id();
  return x.tape().record("layer_norm", std::move(y), {x, gain, bias},
                         [ix, ig, ib, D, R, xhat = std::move(xhat), rho = std::move(rho)](Tape<T>& t, const Tensor<T>& g, const Tensor<T>&) {
    const T* gv = g.data();
    const T* hv = xhat.data();
    if (t.requires_grad(ix)) {
      const T* gam = t.value(ig).data();
      T* dx = t.grad_buffer(ix).data();
      for (std::size_t r = 0; r < R; ++r) {
        T mean_d = 0, mean_dh = 0;
        for (std::size_t j = 0; j < D; ++j) {
          const T d = gv[r * D + j] * gam[j];
          mean_d += d;
          mean_dh += d * hv[r * D + j];
        }
        mean_d /= T(D);
        mean_dh /= T(D);
        for (std::size_t j = 0; j < D; ++j)
          dx[r * D + j] += rho[r] * (gv[r * D + j] * gam[j] - mean_d - hv[r * D + j] * mean_dh);
      }
    }
    if (t.requires_grad(ig)) {
      T* dg = t.grad_buffer(ig).data();
      for (std::size_t r = 0; r < R; ++r)
        for (std::size_t j = 0; j < D; ++j) dg[j] += gv[r * D + j] * hv[r * D + j];
    }
    if (t.requires_grad(ib)) {
      T* db = t.grad_buffer(ib).data();
      for (std::size_t r = 0; r < R; ++r)
        for (std::size_t j = 0; j < D; ++j) db[j] += gv[r * D + j];
    }
  });
}

// cos = Σ a b / √max(Σ a² · Σ b², ε²) along axis, after broadcasting a and b together
// (torch 1.13: w12 / sqrt(clamp_min(w1 * w2, eps²))); the gradient comes from the ops used.
template <class T>
Var<T> cosine_similarity(Var<T> a, Var<T> b, std::size_t axis, T eps) {
  const Shape shape = detail::broadcast_shape("cosine_similarity", a.value(), b.value());
  if (axis >= shape.size())
    throw ShapeError("cosine_similarity", "axis " + std::to_string(axis) + " out of range for " + shape_str(a.shape()) +
                                              " and " + shape_str(b.shape()));
  if (!detail::shapes_equal(a.shape(), shape)) a = broadcast_to(a, shape);
  if (!detail::shapes_equal(b.shape(), shape)) b = broadcast_to(b, shape);
  Var<T> w12 = sum(mul(a, b), axis), w1 = sum(square(a), axis), w2 = sum(square(b), axis);
  return div(w12, sqrt(clamp(mul(w1, w2), eps * eps, std::numeric_limits<T>::infinity())));
}

#define TAPENET_INSTANTIATE_NORM(T)                      \
  template Var<T> layer_norm(Var<T>, Var<T>, Var<T>, T); \
  template Var<T> cosine_similarity(Var<T>, Var<T>, std::size_t, T);
TAPENET_INSTANTIATE_NORM(float)
TAPENET_INSTANTIATE_NORM(double)

}  // namespace tapenet
