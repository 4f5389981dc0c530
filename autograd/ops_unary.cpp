// Elementwise functions. Each is one line of forward f(x) and one line of derivative
// f'(x, y) (in terms of the input x and/or the output y) handed to `unary`.
#include <cmath>
#include <string>

#include "autograd/detail.hpp"
#include "autograd/ops.hpp"

namespace tapenet {

namespace {

// y = f(x) elementwise;  dx += g * dfdx(x, y)
template <class T, class F, class D>
Var<T> unary(const char* op, Var<T> x, F f, D dfdx) {
  const Tensor<T>& xv = x.value();
  Tensor<T> y = Tensor<T>::from_shape(xv.shape());
  const T* xp = xv.data();
  T* yp = y.data();
  for (std::size_t i = 0, n = xv.size(); i < n; ++i) yp[i] = f(xp[i]);
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
  return unary("exp", x, [](T v) { return std::exp(v); }, [](T, T y) { return y; });
}

template <class T>
Var<T> log(Var<T> x) {  // (ln x)' = 1/x
  return unary("log", x, [](T v) { return std::log(v); }, [](T v, T) { return T(1) / v; });
}

template <class T>
Var<T> tanh(Var<T> x) {  // tanh' = 1 - y²
  return unary("tanh", x, [](T v) { return std::tanh(v); }, [](T, T y) { return T(1) - y * y; });
}

template <class T>
Var<T> sigmoid(Var<T> x) {  // σ' = y (1 - y); the two branches avoid overflow of e^{-x}
  auto f = [](T v) {
    if (v >= 0) return T(1) / (T(1) + std::exp(-v));
    T e = std::exp(v);
    return e / (T(1) + e);
  };
  return unary("sigmoid", x, f, [](T, T y) { return y * (T(1) - y); });
}

template <class T>
Var<T> relu(Var<T> x) {  // relu' = [x > 0]
  return unary("relu", x, [](T v) { return v > 0 ? v : T(0); }, [](T v, T) { return v > 0 ? T(1) : T(0); });
}

template <class T>
Var<T> square(Var<T> x) {  // (x²)' = 2x
  return unary("square", x, [](T v) { return v * v; }, [](T v, T) { return T(2) * v; });
}

template <class T>
Var<T> pow(Var<T> x, T p) {  // (xᵖ)' = p xᵖ⁻¹
  return unary("pow", x, [p](T v) { return std::pow(v, p); }, [p](T v, T) { return p * std::pow(v, p - T(1)); });
}

template <class T>
Var<T> sqrt(Var<T> x) {  // (√x)' = 1 / (2y)
  return unary("sqrt", x, [](T v) { return std::sqrt(v); }, [](T, T y) { return T(0.5) / y; });
}

template <class T>
Var<T> clamp(Var<T> x, T lo, T hi) {  // clamp' = [lo <= x <= hi]
  if (lo > hi) throw std::invalid_argument("clamp: lo " + std::to_string(lo) + " > hi " + std::to_string(hi));
  return unary("clamp", x, [lo, hi](T v) { return v < lo ? lo : (v > hi ? hi : v); },
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
