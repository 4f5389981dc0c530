// Elementwise functions. Each is one line of forward f(x) and one line of derivative
// f'(x, y) (in terms of the input x and/or the output y) handed to `unary`.
#include <algorithm>
#include <cmath>
#include <string>

#include <xsimd/xsimd.hpp>

#include "autograd/detail.hpp"
#include "autograd/ops.hpp"

namespace tapenet {

namespace {

// y = f(x) elementwise;  dx += g * dfdx(x, y)
// f is written once for SIMD batches (xsimd's exp, tanh, ... vectorise what libm does one value
// at a time); the tail is padded into one more batch, so every element takes the same code.
template <class T, class F, class D>
Var<T> unary(const char* op, Var<T> x, F f, D dfdx) {
  using Batch = xsimd::batch<T>;
  constexpr std::size_t W = Batch::size;
  const Tensor<T>& xv = x.value();
  Tensor<T> y = Tensor<T>::from_shape(xv.shape());
  const T* xp = xv.data();
  T* yp = y.data();
  const std::size_t n = xv.size(), body = n - n % W;
  for (std::size_t i = 0; i < body; i += W) f(Batch::load_unaligned(xp + i)).store_unaligned(yp + i);
  if (body < n) {
    alignas(64) T tail[W] = {};
    std::copy(xp + body, xp + n, tail);
    f(Batch::load_aligned(tail)).store_aligned(tail);
    std::copy(tail, tail + (n - body), yp + body);
  }
  auto ix = x.id();
  return x.tape().record(op, std::move(y), {x}, [ix, dfdx](Tape<T>& t, const Tensor<T>& g, const Tensor<T>& y) {
    const T* xp = t.value(ix).data();
    const T* yp = y.data();
    const T* gp = g.data();
    T* dx = t.grad_buffer(ix).data();
    for (std::size_t i = 0, n = y.size(); i < n; ++i) dx[i] += gp[i] * dfdx(xp[i], yp[i]);
  });
}

}  // namespace

template <class T>
Var<T> exp(Var<T> x) {  // (eˣ)' = eˣ = y
  return unary("exp", x, [](auto v) { return xsimd::exp(v); }, [](T, T y) { return y; });
}

template <class T>
Var<T> log(Var<T> x) {  // (ln x)' = 1/x
  return unary("log", x, [](auto v) { return xsimd::log(v); }, [](T v, T) { return T(1) / v; });
}

template <class T>
Var<T> tanh(Var<T> x) {  // tanh' = 1 - y²
  return unary("tanh", x, [](auto v) { return xsimd::tanh(v); }, [](T, T y) { return T(1) - y * y; });
}

template <class T>
Var<T> sigmoid(Var<T> x) {  // σ' = y (1 - y); for x → -∞, e^{-x} = inf gives 1/inf = 0
  using Batch = xsimd::batch<T>;
  return unary("sigmoid", x, [](Batch v) { return Batch(T(1)) / (Batch(T(1)) + xsimd::exp(-v)); },
               [](T, T y) { return y * (T(1) - y); });
}

template <class T>
Var<T> relu(Var<T> x) {  // relu' = [x > 0]
  return unary("relu", x, [](auto v) { return xsimd::max(v, decltype(v)(T(0))); }, [](T v, T) { return v > 0 ? T(1) : T(0); });
}

template <class T>
Var<T> square(Var<T> x) {  // (x²)' = 2x
  return unary("square", x, [](auto v) { return v * v; }, [](T v, T) { return T(2) * v; });
}

template <class T>
Var<T> pow(Var<T> x, T p) {  // (xᵖ)' = p xᵖ⁻¹
  auto f = [p](auto v) {  // std::pow per element: a negative base with an integer exponent is defined
    alignas(64) T values[decltype(v)::size];
    v.store_aligned(values);
    for (T& value : values) value = std::pow(value, p);
    return decltype(v)::load_aligned(values);
  };
  return unary("pow", x, f, [p](T v, T) { return p * std::pow(v, p - T(1)); });
}

template <class T>
Var<T> sqrt(Var<T> x) {  // (√x)' = 1 / (2y)
  return unary("sqrt", x, [](auto v) { return xsimd::sqrt(v); }, [](T, T y) { return T(0.5) / y; });
}

template <class T>
Var<T> clamp(Var<T> x, T lo, T hi) {  // clamp' = [lo <= x <= hi]
  if (lo > hi) throw std::invalid_argument("clamp: lo " + std::to_string(lo) + " > hi " + std::to_string(hi));
  return unary("clamp", x, [lo, hi](auto v) { return xsimd::min(xsimd::max(v, decltype(v)(lo)), decltype(v)(hi)); },
               [lo, hi](T v, T) { return (v >= lo && v <= hi) ? T(1) : T(0); });
}

template <class T>
Var<T> abs(Var<T> x) {  // |x|' = sign(x), 0 at 0
  return unary("abs", x, [](auto v) { return xsimd::abs(v); }, [](T v, T) { return T((v > 0) - (v < 0)); });
}

namespace {
// σ(x) without overflow: e^{-|x|} <= 1 is the only exponential taken.
template <class T>
T stable_sigmoid(T x) {
  const T e = std::exp(-std::abs(x));
  return x >= 0 ? T(1) / (T(1) + e) : e / (T(1) + e);
}
}  // namespace

template <class T>
Var<T> softplus(Var<T> x) {  // log(1 + eˣ) = max(x,0) + log1p(e^{-|x|});  softplus' = σ(x)
  return unary("softplus", x, [](auto v) { return xsimd::max(v, decltype(v)(T(0))) + xsimd::log1p(xsimd::exp(-xsimd::abs(v))); },
               [](T v, T) { return stable_sigmoid(v); });
}

template <class T>
Var<T> log_sigmoid(Var<T> x) {  // log σ(x) = min(x,0) - log1p(e^{-|x|});  (log σ)' = 1 - σ(x) = σ(-x)
  return unary("log_sigmoid", x, [](auto v) { return xsimd::min(v, decltype(v)(T(0))) - xsimd::log1p(xsimd::exp(-xsimd::abs(v))); },
               [](T v, T) { return stable_sigmoid(-v); });
}

template <class T>
Var<T> leaky_relu(Var<T> x, T slope) {  // y = x > 0 ? x : s x;  y' = x > 0 ? 1 : s
  return unary("leaky_relu", x, [slope](auto v) { return xsimd::select(v > decltype(v)(T(0)), v, v * decltype(v)(slope)); },
               [slope](T v, T) { return v > 0 ? T(1) : slope; });
}

template <class T>
Var<T> elu(Var<T> x, T alpha) {  // y = x > 0 ? x : α (eˣ - 1);  y' = x > 0 ? 1 : α eˣ = y + α
  return unary("elu", x, [alpha](auto v) { return xsimd::select(v > decltype(v)(T(0)), v, decltype(v)(alpha) * xsimd::expm1(v)); },
               [alpha](T v, T y) { return v > 0 ? T(1) : y + alpha; });
}

template <class T>
Var<T> gelu(Var<T> x) {  // y = x Φ(x), Φ(x) = (1 + erf(x/√2)) / 2;  y' = Φ(x) + x φ(x), φ(x) = e^{-x²/2} / √(2π)
  using Batch = xsimd::batch<T>;
  const T inv_sqrt2 = T(0.70710678118654752440), inv_sqrt_2pi = T(0.39894228040143267794);
  return unary("gelu", x, [inv_sqrt2](Batch v) { return Batch(T(0.5)) * v * (Batch(T(1)) + xsimd::erf(v * Batch(inv_sqrt2))); },
               [inv_sqrt2, inv_sqrt_2pi](T v, T) {
                 return T(0.5) * (T(1) + std::erf(v * inv_sqrt2)) + v * inv_sqrt_2pi * std::exp(T(-0.5) * v * v);
               });
}

// Inverted dropout: y = x * m / (1 - p), m ~ Bernoulli(1 - p);  dx = g * m / (1 - p)
template <class T>
Var<T> dropout(Var<T> x, T p, bool training, std::mt19937_64& rng) {
  if (!(p >= 0 && p < 1)) throw std::invalid_argument("dropout: p must be in [0, 1), got " + std::to_string(p));
  if (!training || p == 0) return x;
  Tensor<T> mask = Tensor<T>::from_shape(x.value().shape());
  std::bernoulli_distribution keep(1.0 - static_cast<double>(p));
  const T scale = T(1) / (T(1) - p);
  for (auto& m : mask) m = keep(rng) ? scale : T(0);
  return mask_mul(x, mask);
}

#define TAPENET_INSTANTIATE_UNARY(T)           \
  template Var<T> exp(Var<T>);                 \
  template Var<T> log(Var<T>);                 \
  template Var<T> tanh(Var<T>);                \
  template Var<T> sigmoid(Var<T>);             \
  template Var<T> relu(Var<T>);                \
  template Var<T> square(Var<T>);              \
  template Var<T> pow(Var<T>, T);              \
  template Var<T> sqrt(Var<T>);                \
  template Var<T> clamp(Var<T>, T, T);         \
  template Var<T> abs(Var<T>);                 \
  template Var<T> softplus(Var<T>);            \
  template Var<T> log_sigmoid(Var<T>);         \
  template Var<T> leaky_relu(Var<T>, T);       \
  template Var<T> elu(Var<T>, T);              \
  template Var<T> gelu(Var<T>);                \
  template Var<T> dropout(Var<T>, T, bool, std::mt19937_64&);
TAPENET_INSTANTIATE_UNARY(float)
TAPENET_INSTANTIATE_UNARY(double)

}  // namespace tapenet
