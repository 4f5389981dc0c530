// Elementwise arithmetic with numpy broadcasting. The backward of a broadcast input sums
// the output gradient over the stretched axes (detail::sum_to_shape).
#include "autograd/detail.hpp"
#include "autograd/ops.hpp"

namespace tapenet {

using detail::broadcast_shape;
using detail::shapes_equal;
using detail::sum_to_shape;

namespace {

// Evaluates a broadcasting binary expression; checks shapes first. The common cases — equal
// shapes, and one side repeated over the rows of the other (a bias) — run as plain loops
// with the scalar function `s`; other broadcasts go through xtensor (`f`).
template <class T, class F, class S>
Tensor<T> broadcast_apply(const char* op, const Tensor<T>& a, const Tensor<T>& b, F f, S s) {
  const Shape shape = broadcast_shape(op, a, b);
  const T* ap = a.data();
  const T* bp = b.data();
  if (shapes_equal(a.shape(), b.shape())) {
    Tensor<T> c = Tensor<T>::from_shape(shape);
    T* cp = c.data();
    for (std::size_t i = 0, n = c.size(); i < n; ++i) cp[i] = s(ap[i], bp[i]);
    return c;
  }
  if (shapes_equal(shape, a.shape())) {
    if (const std::size_t inner = detail::trailing_block(a.shape(), b.shape()); inner > 0) {
      Tensor<T> c = Tensor<T>::from_shape(shape);
      T* cp = c.data();
      for (std::size_t r = 0, rows = c.size() / inner; r < rows; ++r)
        for (std::size_t j = 0; j < inner; ++j) cp[r * inner + j] = s(ap[r * inner + j], bp[j]);
      return c;
    }
  }
  if (shapes_equal(shape, b.shape())) {
    if (const std::size_t inner = detail::trailing_block(b.shape(), a.shape()); inner > 0) {
      Tensor<T> c = Tensor<T>::from_shape(shape);
      T* cp = c.data();
      for (std::size_t r = 0, rows = c.size() / inner; r < rows; ++r)
        for (std::size_t j = 0; j < inner; ++j) cp[r * inner + j] = s(ap[j], bp[r * inner + j]);
      return c;
    }
  }
  return f(a, b);
}

// grad(id) += g, summed over the axes the input was broadcast along (none: no copy of g).
template <class T>
void accumulate_reduced(Tape<T>& t, std::uint32_t id, const Tensor<T>& g) {
  if (!t.requires_grad(id)) return;
  const auto& shape = t.value(id).shape();
  if (shapes_equal(g.shape(), shape))
    t.accumulate(id, g);
  else
    t.accumulate(id, sum_to_shape(g, shape));
}

}  // namespace

// c = a + b;  da = g, db = g (each summed to its own shape)
template <class T>
Var<T> add(Var<T> a, Var<T> b) {
  Tensor<T> c = broadcast_apply("add", a.value(), b.value(), [](auto& x, auto& y) { return Tensor<T>(x + y); },
                                [](T x, T y) { return x + y; });
  auto ia = a.id(), ib = b.id();
  return a.tape().record("add", std::move(c), {a, b}, [ia, ib](Tape<T>& t, const Tensor<T>& g, const Tensor<T>&) {
    accumulate_reduced(t, ia, g);
    accumulate_reduced(t, ib, g);
  });
}

// c = a - b;  da = g, db = -g
template <class T>
Var<T> sub(Var<T> a, Var<T> b) {
  Tensor<T> c = broadcast_apply("sub", a.value(), b.value(), [](auto& x, auto& y) { return Tensor<T>(x - y); },
                                [](T x, T y) { return x - y; });
  auto ia = a.id(), ib = b.id();
  return a.tape().record("sub", std::move(c), {a, b}, [ia, ib](Tape<T>& t, const Tensor<T>& g, const Tensor<T>&) {
    accumulate_reduced(t, ia, g);
    if (!t.requires_grad(ib)) return;
    if (shapes_equal(g.shape(), t.value(ib).shape()))
      t.accumulate(ib, -g);
    else
      t.accumulate(ib, Tensor<T>(-sum_to_shape(g, t.value(ib).shape())));
  });
}

// c = a * b;  da = g * b, db = g * a
template <class T>
Var<T> mul(Var<T> a, Var<T> b) {
  Tensor<T> c = broadcast_apply("mul", a.value(), b.value(), [](auto& x, auto& y) { return Tensor<T>(x * y); },
                                [](T x, T y) { return x * y; });
  auto ia = a.id(), ib = b.id();
  return a.tape().record("mul", std::move(c), {a, b}, [ia, ib](Tape<T>& t, const Tensor<T>& g, const Tensor<T>&) {
    const Tensor<T>& av = t.value(ia);
    const Tensor<T>& bv = t.value(ib);
    if (shapes_equal(av.shape(), bv.shape())) {  // the common case: one pass, no temporary
      t.accumulate(ia, g * bv);
      t.accumulate(ib, g * av);
      return;
    }
    if (t.requires_grad(ia)) t.accumulate(ia, sum_to_shape(Tensor<T>(g * bv), av.shape()));
    if (t.requires_grad(ib)) t.accumulate(ib, sum_to_shape(Tensor<T>(g * av), bv.shape()));
  });
}

// c = a / b;  da = g / b, db = -g * a / b² = -g * c / b
template <class T>
Var<T> div(Var<T> a, Var<T> b) {
  Tensor<T> c = broadcast_apply("div", a.value(), b.value(), [](auto& x, auto& y) { return Tensor<T>(x / y); },
                                [](T x, T y) { return x / y; });
  auto ia = a.id(), ib = b.id();
  return a.tape().record("div", std::move(c), {a, b}, [ia, ib](Tape<T>& t, const Tensor<T>& g, const Tensor<T>& c) {
    const Tensor<T>& bv = t.value(ib);
    if (t.requires_grad(ia)) t.accumulate(ia, sum_to_shape(Tensor<T>(g / bv), t.value(ia).shape()));
    if (t.requires_grad(ib)) t.accumulate(ib, sum_to_shape(Tensor<T>(-g * c / bv), bv.shape()));
  });
}

// c = -a;  da = -g
template <class T>
Var<T> neg(Var<T> a) {
  auto ia = a.id();
  return a.tape().record("neg", Tensor<T>(-a.value()), {a}, [ia](Tape<T>& t, const Tensor<T>& g, const Tensor<T>&) {
    t.accumulate(ia, -g);
  });
}

// c = a + s;  da = g
template <class T>
Var<T> add_scalar(Var<T> a, T s) {
  auto ia = a.id();
  return a.tape().record("add_scalar", Tensor<T>(a.value() + s), {a}, [ia](Tape<T>& t, const Tensor<T>& g, const Tensor<T>&) {
    t.accumulate(ia, g);
  });
}

// c = a * s;  da = g * s
template <class T>
Var<T> mul_scalar(Var<T> a, T s) {
  auto ia = a.id();
  return a.tape().record("mul_scalar", Tensor<T>(a.value() * s), {a}, [ia, s](Tape<T>& t, const Tensor<T>& g, const Tensor<T>&) {
    t.accumulate(ia, g * s);
  });
}

// c = a * m for a constant mask m;  da = g * m
template <class T>
Var<T> mask_mul(Var<T> a, const Tensor<T>& mask) {
  Tensor<T> c = broadcast_apply("mask_mul", a.value(), mask, [](auto& x, auto& y) { return Tensor<T>(x * y); },
                                [](T x, T y) { return x * y; });
  auto ia = a.id();
  return a.tape().record("mask_mul", std::move(c), {a}, [ia, mask](Tape<T>& t, const Tensor<T>& g, const Tensor<T>&) {
    t.accumulate(ia, sum_to_shape(Tensor<T>(g * mask), t.value(ia).shape()));
  });
}

#define TAPENET_INSTANTIATE_ARITH(T)                \
  template Var<T> add(Var<T>, Var<T>);              \
  template Var<T> sub(Var<T>, Var<T>);              \
  template Var<T> mul(Var<T>, Var<T>);              \
  template Var<T> div(Var<T>, Var<T>);              \
  template Var<T> neg(Var<T>);                      \
  template Var<T> add_scalar(Var<T>, T);            \
  template Var<T> mul_scalar(Var<T>, T);            \
  template Var<T> mask_mul(Var<T>, const Tensor<T>&);
TAPENET_INSTANTIATE_ARITH(float)
TAPENET_INSTANTIATE_ARITH(double)

}  // namespace tapenet
