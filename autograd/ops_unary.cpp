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
  template Var<T> dropout(Var<T>, T, bool, std::mt19937_64&);
TAPENET_INSTANTIATE_UNARY(float)
TAPENET_INSTANTIATE_UNARY(double)

}  // namespace tapenet
