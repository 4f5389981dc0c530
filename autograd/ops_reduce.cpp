// Reductions and softmax along an axis. A tensor seen along `axis` is a set of lanes:
// lane (o, i) holds x[o, 0..len, i] at stride `inner`; every op here works lane by lane.
#include <cmath>
#include <limits>
#include <vector>

#include "autograd/detail.hpp"
#include "autograd/ops.hpp"

namespace tapenet {

namespace {

struct Lanes {
  std::size_t outer, len, inner;
  // Flat offset of element 0 of lane (o, i), and of the lane's result in a reduced tensor.
  std::size_t base(std::size_t o, std::size_t i) const { return o * len * inner + i; }
  std::size_t reduced(std::size_t o, std::size_t i) const { return o * inner + i; }
};

template <class S>
Lanes lanes_of(const char* op, const S& shape, std::size_t axis) {
  if (axis >= shape.size())
    throw ShapeError(op, "axis " + std::to_string(axis) + " out of range for " + shape_str(shape));
  Lanes l{1, shape[axis], 1};
  for (std::size_t d = 0; d < axis; ++d) l.outer *= shape[d];
  for (std::size_t d = axis + 1; d < shape.size(); ++d) l.inner *= shape[d];
  return l;
}

template <class S>
Shape reduced_shape(const S& shape, std::size_t axis, bool keepdims) {
  Shape out = to_shape(shape);
  if (keepdims) out[axis] = 1;
  else out.erase(out.begin() + static_cast<std::ptrdiff_t>(axis));
  return out;
}

template <class F>
void for_each_lane(const Lanes& l, F f) {
  for (std::size_t o = 0; o < l.outer; ++o)
    for (std::size_t i = 0; i < l.inner; ++i) f(l.base(o, i), l.reduced(o, i));
}

// The whole tensor as one lane (reductions over all entries -> [1]).
template <class S>
Lanes all_lanes(const char* op, const S& shape) {
  std::size_t n = 1;
  for (std::size_t d : shape) n *= d;
  if (n == 0) throw ShapeError(op, "of an empty tensor " + shape_str(shape));
  return Lanes{1, n, 1};
}

// Flat index of the first entry of each lane that `better` prefers to all before it.
template <class T, class B>
std::vector<std::size_t> first_extreme(const Lanes& l, const T* xp, B better) {
  std::vector<std::size_t> at(l.outer * l.inner);
  for_each_lane(l, [&](std::size_t b, std::size_t r) {
    std::size_t best = b;
    for (std::size_t a = 1; a < l.len; ++a)
      if (better(xp[b + a * l.inner], xp[best])) best = b + a * l.inner;
    at[r] = best;
  });
  return at;
}

// y[r] = x[at[r]] for the first extreme entry of lane r;  dx[at[r]] += g[r]
template <class T, class B>
Var<T> extreme(const char* op, Var<T> x, const Lanes& l, Shape shape, B better) {
  if (l.len == 0) throw ShapeError(op, "over an empty axis of " + shape_str(x.shape()));
  std::vector<std::size_t> at = first_extreme(l, x.value().data(), better);
  Tensor<T> y = Tensor<T>::from_shape(shape);
  for (std::size_t r = 0; r < at.size(); ++r) y.data()[r] = x.value().data()[at[r]];
  auto ix = x.id();
  return x.tape().record(op, std::move(y), {x}, [ix, at = std::move(at)](Tape<T>& t, const Tensor<T>& g, const Tensor<T>&) {
    T* dx = t.grad_buffer(ix).data();
    for (std::size_t r = 0; r < at.size(); ++r) dx[at[r]] += g.data()[r];
  });
}

// y = m + log Σ e^{x - m}, m the lane's max (y = m when m = ±inf);  dx = g e^{x - y} (0 when y = -inf)
template <class T>
Var<T> logsumexp_lanes(Var<T> x, const Lanes& l, Shape shape) {
  if (l.len == 0) throw ShapeError("logsumexp", "over an empty axis of " + shape_str(x.shape()));
  const T* xp = x.value().data();
  Tensor<T> y = Tensor<T>::from_shape(shape);
  for_each_lane(l, [&](std::size_t b, std::size_t r) {
    T m = -std::numeric_limits<T>::infinity();
    for (std::size_t a = 0; a < l.len; ++a) m = std::max(m, xp[b + a * l.inner]);
    if (std::isinf(m)) {
      y.data()[r] = m;
      return;
    }
    T z = 0;
    for (std::size_t a = 0; a < l.len; ++a) z += std::exp(xp[b + a * l.inner] - m);
    y.data()[r] = m + std::log(z);
  });
  auto ix = x.id();
  return x.tape().record("logsumexp", std::move(y), {x}, [ix, l](Tape<T>& t, const Tensor<T>& g, const Tensor<T>& y) {
    const T* xp = t.value(ix).data();
    T* dx = t.grad_buffer(ix).data();
    for_each_lane(l, [&](std::size_t b, std::size_t r) {
      const T yr = y.data()[r], gr = g.data()[r];
      if (yr == -std::numeric_limits<T>::infinity()) return;
      for (std::size_t a = 0; a < l.len; ++a) dx[b + a * l.inner] += gr * std::exp(xp[b + a * l.inner] - yr);
    });
  });
}

template <class T, class B>
std::vector<std::int64_t> arg_extreme(const char* op, Var<T> x, std::size_t axis, B better) {
  const Lanes l = lanes_of(op, x.shape(), axis);
  if (l.len == 0) throw ShapeError(op, "over an empty axis of " + shape_str(x.shape()));
  const std::vector<std::size_t> at = first_extreme(l, x.value().data(), better);
  std::vector<std::int64_t> index(at.size());
  for (std::size_t r = 0; r < at.size(); ++r) index[r] = static_cast<std::int64_t>((at[r] / l.inner) % l.len);
  return index;
}

const auto kGreater = [](auto a, auto b) { return a > b; };
const auto kLess = [](auto a, auto b) { return a < b; };

}  // namespace

template <class T>
Var<T> max(Var<T> x) {
  return extreme("max", x, all_lanes("max", x.shape()), Shape{1}, kGreater);
}

template <class T>
Var<T> max(Var<T> x, std::size_t axis, bool keepdims) {
  const Lanes l = lanes_of("max", x.shape(), axis);  // checks axis before reduced_shape uses it
  return extreme("max", x, l, reduced_shape(x.shape(), axis, keepdims), kGreater);
}

template <class T>
Var<T> min(Var<T> x) {
  return extreme("min", x, all_lanes("min", x.shape()), Shape{1}, kLess);
}

template <class T>
Var<T> min(Var<T> x, std::size_t axis, bool keepdims) {
  const Lanes l = lanes_of("min", x.shape(), axis);  // checks axis before reduced_shape uses it
  return extreme("min", x, l, reduced_shape(x.shape(), axis, keepdims), kLess);
}

template <class T>
Var<T> logsumexp(Var<T> x) {
  return logsumexp_lanes(x, all_lanes("logsumexp", x.shape()), Shape{1});
}

template <class T>
Var<T> logsumexp(Var<T> x, std::size_t axis, bool keepdims) {
  const Lanes l = lanes_of("logsumexp", x.shape(), axis);
  return logsumexp_lanes(x, l, reduced_shape(x.shape(), axis, keepdims));
}

// y[a] = Σ_{k <= a} x[k];  dx[a] = Σ_{k >= a} g[k]
template <class T>
Var<T> cumsum(Var<T> x, std::size_t axis) {
  const Lanes l = lanes_of("cumsum", x.shape(), axis);
  const T* xp = x.value().data();
  Tensor<T> y = Tensor<T>::from_shape(x.shape());
  for_each_lane(l, [&](std::size_t b, std::size_t) {
    T run = 0;
    for (std::size_t a = 0; a < l.len; ++a) y.data()[b + a * l.inner] = run += xp[b + a * l.inner];
  });
  auto ix = x.id();
  return x.tape().record("cumsum", std::move(y), {x}, [ix, l](Tape<T>& t, const Tensor<T>& g, const Tensor<T>&) {
    T* dx = t.grad_buffer(ix).data();
    for_each_lane(l, [&](std::size_t b, std::size_t) {
      T run = 0;
      for (std::size_t a = l.len; a-- > 0;) dx[b + a * l.inner] += run += g.data()[b + a * l.inner];
    });
  });
}

template <class T>
std::vector<std::int64_t> argmax(Var<T> x, std::size_t axis) {
  return arg_extreme("argmax", x, axis, kGreater);
}

template <class T>
std::vector<std::int64_t> argmin(Var<T> x, std::size_t axis) {
  return arg_extreme("argmin", x, axis, kLess);
}

// s = Σ x  (shape [1]);  dx = g
template <class T>
Var<T> sum(Var<T> x) {
  T s = 0;
  for (T v : x.value()) s += v;
  auto ix = x.id();
  return x.tape().record("sum", full<T>({1}, s), {x}, [ix](Tape<T>& t, const Tensor<T>& g, const Tensor<T>&) {
    Tensor<T>& dx = t.grad_buffer(ix);
    const T gv = g.data()[0];
    for (auto& d : dx) d += gv;
  });
}

// m = Σ x / N;  dx = g / N
template <class T>
Var<T> mean(Var<T> x) {
  if (x.size() == 0) throw ShapeError("mean", "of an empty tensor " + shape_str(x.shape()));
  return mul_scalar(sum(x), T(1) / T(x.size()));
}

// s[o,i] = Σ_a x[o,a,i];  dx[o,a,i] = g[o,i]
template <class T>
Var<T> sum(Var<T> x, std::size_t axis, bool keepdims) {
  const Lanes l = lanes_of("sum", x.shape(), axis);
  Tensor<T> s = zeros<T>(reduced_shape(x.shape(), axis, keepdims));
  const T* xp = x.value().data();
  for_each_lane(l, [&](std::size_t b, std::size_t r) {
    for (std::size_t a = 0; a < l.len; ++a) s.data()[r] += xp[b + a * l.inner];
  });
  auto ix = x.id();
  return x.tape().record("sum", std::move(s), {x}, [ix, l](Tape<T>& t, const Tensor<T>& g, const Tensor<T>&) {
    T* dx = t.grad_buffer(ix).data();
    for_each_lane(l, [&](std::size_t b, std::size_t r) {
      for (std::size_t a = 0; a < l.len; ++a) dx[b + a * l.inner] += g.data()[r];
    });
  });
}

template <class T>
Var<T> mean(Var<T> x, std::size_t axis, bool keepdims) {
  const Lanes l = lanes_of("mean", x.shape(), axis);
  if (l.len == 0) throw ShapeError("mean", "over an empty axis of " + shape_str(x.shape()));
  return mul_scalar(sum(x, axis, keepdims), T(1) / T(l.len));
}

// y = e^{x - max} / Σ e^{x - max};  dx = y ⊙ (g - Σ g ⊙ y)
template <class T>
Var<T> softmax(Var<T> x, std::size_t axis) {
  const Lanes l = lanes_of("softmax", x.shape(), axis);
  const T* xp = x.value().data();
  Tensor<T> y = Tensor<T>::from_shape(x.shape());
  T* yp = y.data();
  for_each_lane(l, [&](std::size_t b, std::size_t) {
    T mx = -std::numeric_limits<T>::infinity();
    for (std::size_t a = 0; a < l.len; ++a) mx = std::max(mx, xp[b + a * l.inner]);
    T z = 0;
    for (std::size_t a = 0; a < l.len; ++a) z += yp[b + a * l.inner] = std::exp(xp[b + a * l.inner] - mx);
    for (std::size_t a = 0; a < l.len; ++a) yp[b + a * l.inner] /= z;
  });
  auto ix = x.id();
  return x.tape().record("softmax", std::move(y), {x}, [ix, l](Tape<T>& t, const Tensor<T>& g, const Tensor<T>& y) {
    T* dx = t.grad_buffer(ix).data();
    for_each_lane(l, [&](std::size_t b, std::size_t) {
      T dot = 0;
      for (std::size_t a = 0; a < l.len; ++a) dot += g.data()[b + a * l.inner] * y.data()[b + a * l.inner];
      for (std::size_t a = 0; a < l.len; ++a) {
        const std::size_t k = b + a * l.inner;
        dx[k] += y.data()[k] * (g.data()[k] - dot);
      }
    });
  });
}

// y = x - max - log Σ e^{x - max};  dx = g - softmax(x) Σ g
template <class T>
Var<T> log_softmax(Var<T> x, std::size_t axis) {
  const Lanes l = lanes_of("log_softmax", x.shape(), axis);
  const T* xp = x.value().data();
  Tensor<T> y = Tensor<T>::from_shape(x.shape());
  T* yp = y.data();
  for_each_lane(l, [&](std::size_t b, std::size_t) {
    T mx = -std::numeric_limits<T>::infinity();
    for (std::size_t a = 0; a < l.len; ++a) mx = std::max(mx, xp[b + a * l.inner]);
    T z = 0;
    for (std::size_t a = 0; a < l.len; ++a) z += std::exp(xp[b + a * l.inner] - mx);
    const T log_z = mx + std::log(z);
    for (std::size_t a = 0; a < l.len; ++a) yp[b + a * l.inner] = xp[b + a * l.inner] - log_z;
  });
  auto ix = x.id();
  return x.tape().record("log_softmax", std::move(y), {x}, [ix, l](Tape<T>& t, const Tensor<T>& g, const Tensor<T>& y) {
    T* dx = t.grad_buffer(ix).data();
    for_each_lane(l, [&](std::size_t b, std::size_t) {
      T gsum = 0;
      for (std::size_t a = 0; a < l.len; ++a) gsum += g.data()[b + a * l.inner];
      for (std::size_t a = 0; a < l.len; ++a) {
        const std::size_t k = b + a * l.inner;
        dx[k] += g.data()[k] - std::exp(y.data()[k]) * gsum;
      }
    });
  });
}

#define TAPENET_INSTANTIATE_REDUCE(T)                   \
  template Var<T> sum(Var<T>);                          \
  template Var<T> sum(Var<T>, std::size_t, bool);       \
  template Var<T> mean(Var<T>);                         \
  template Var<T> mean(Var<T>, std::size_t, bool);      \
  template Var<T> softmax(Var<T>, std::size_t);         \
  template Var<T> log_softmax(Var<T>, std::size_t);     \
  template Var<T> max(Var<T>);                          \
  template Var<T> max(Var<T>, std::size_t, bool);       \
  template Var<T> min(Var<T>);                          \
  template Var<T> min(Var<T>, std::size_t, bool);       \
  template Var<T> logsumexp(Var<T>);                    \
  template Var<T> logsumexp(Var<T>, std::size_t, bool); \
  template Var<T> cumsum(Var<T>, std::size_t);          \
  template std::vector<std::int64_t> argmax(Var<T>, std::size_t); \
  template std::vector<std::int64_t> argmin(Var<T>, std::size_t);
TAPENET_INSTANTIATE_REDUCE(float)
TAPENET_INSTANTIATE_REDUCE(double)

}  // namespace tapenet
