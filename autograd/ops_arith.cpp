// Elementwise arithmetic with numpy broadcasting. The backward of a broadcast input sums
// the output gradient over the stretched axes (detail::sum_to_shape).
#include <algorithm>
#include <string>
#include <vector>

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

// numpy broadcasting of any number of shapes; throws ShapeError naming op and all shapes.
template <class... S>
Shape broadcast_shapes(const char* op, const S&... shapes) {
  const std::size_t rank = std::max({shapes.size()...});
  Shape out(rank, 1);
  bool ok = true;
  auto merge = [&](const auto& s) {
    for (std::size_t i = 0; i < s.size(); ++i) {
      std::size_t& o = out[rank - s.size() + i];
      if (s[i] == o || s[i] == 1) continue;
      if (o == 1) o = s[i];
      else ok = false;
    }
  };
  (merge(shapes), ...);
  if (!ok) {
    std::string all;
    ((all += (all.empty() ? "" : " and ") + shape_str(shapes)), ...);
    throw ShapeError(op, all + " do not broadcast");
  }
  return out;
}

// For each entry of a tensor of shape `out` (row-major), the flat offset of the entry it
// reads in a tensor of shape `in` broadcast to `out`.
template <class S>
std::vector<std::size_t> broadcast_offsets(const Shape& out, const S& in) {
  const std::size_t rank = out.size(), lead = rank - in.size();
  std::vector<std::size_t> stride(rank, 0);
  for (std::size_t j = in.size(), s = 1; j-- > 0; s *= in[j])
    if (in[j] != 1) stride[j + lead] = s;
  std::size_t n = 1;
  for (std::size_t d : out) n *= d;
  std::vector<std::size_t> offsets(n);
  std::vector<std::size_t> index(rank, 0);
  std::size_t at = 0;
  for (std::size_t flat = 0; flat < n; ++flat) {
    offsets[flat] = at;
    for (std::size_t ax = rank; ax-- > 0;) {  // odometer increment
      ++index[ax];
      at += stride[ax];
      if (index[ax] < out[ax]) break;
      at -= stride[ax] * out[ax];
      index[ax] = 0;
    }
  }
  return offsets;
}

// c[i] = take_a[i] ? a[oa[i]] : b[ob[i]];  da[oa[i]] += g[i] where taken from a, db likewise.
// The shared body of maximum, minimum and where.
template <class T>
Var<T> select_op(const char* op, Var<T> a, Var<T> b, const Shape& shape, std::vector<unsigned char> take_a) {
  std::vector<std::size_t> oa = broadcast_offsets(shape, a.shape()), ob = broadcast_offsets(shape, b.shape());
  Tensor<T> c = Tensor<T>::from_shape(shape);
  const T* ap = a.value().data();
  const T* bp = b.value().data();
  for (std::size_t i = 0; i < c.size(); ++i) c.data()[i] = take_a[i] ? ap[oa[i]] : bp[ob[i]];
  auto ia = a.id(), ib = b.id();
  return a.tape().record(op, std::move(c), {a, b},
                         [ia, ib, oa = std::move(oa), ob = std::move(ob), take_a = std::move(take_a)](
                             Tape<T>& t, const Tensor<T>& g, const Tensor<T>&) {
    const T* gp = g.data();
    if (t.requires_grad(ia)) {
      T* da = t.grad_buffer(ia).data();
      for (std::size_t i = 0; i < take_a.size(); ++i)
        if (take_a[i]) da[oa[i]] += gp[i];
    }
    if (t.requires_grad(ib)) {
      T* db = t.grad_buffer(ib).data();
      for (std::size_t i = 0; i < take_a.size(); ++i)
        if (!take_a[i]) db[ob[i]] += gp[i];
    }
  });
}

// take_a[i] = keep_a(a[oa[i]], b[ob[i]]) over the broadcast of a and b.
template <class T, class P>
Var<T> compare_select(const char* op, Var<T> a, Var<T> b, P keep_a) {
  const Shape shape = broadcast_shapes(op, a.shape(), b.shape());
  const std::vector<std::size_t> oa = broadcast_offsets(shape, a.shape()), ob = broadcast_offsets(shape, b.shape());
  std::vector<unsigned char> take_a(oa.size());
  for (std::size_t i = 0; i < take_a.size(); ++i) take_a[i] = keep_a(a.value().data()[oa[i]], b.value().data()[ob[i]]);
  return select_op(op, a, b, shape, std::move(take_a));
}

}  // namespace

// c = a >= b ? a : b;  the gradient goes to the side taken (a at a tie)
template <class T>
Var<T> maximum(Var<T> a, Var<T> b) {
  return compare_select("maximum", a, b, [](T x, T y) { return x >= y; });
}

// c = a <= b ? a : b;  the gradient goes to the side taken (a at a tie)
template <class T>
Var<T> minimum(Var<T> a, Var<T> b) {
  return compare_select("minimum", a, b, [](T x, T y) { return x <= y; });
}

// c = mask != 0 ? a : b;  the gradient goes to the side taken
template <class T>
Var<T> where(const Tensor<T>& mask, Var<T> a, Var<T> b) {
  const Shape shape = broadcast_shapes("where", mask.shape(), a.shape(), b.shape());
  const std::vector<std::size_t> om = broadcast_offsets(shape, mask.shape());
  std::vector<unsigned char> take_a(om.size());
  for (std::size_t i = 0; i < take_a.size(); ++i) take_a[i] = mask.data()[om[i]] != T(0);
  return select_op("where", a, b, shape, std::move(take_a));
}

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
  template Var<T> mask_mul(Var<T>, const Tensor<T>&); \
  template Var<T> maximum(Var<T>, Var<T>);          \
  template Var<T> minimum(Var<T>, Var<T>);          \
  template Var<T> where(const Tensor<T>&, Var<T>, Var<T>);
TAPENET_INSTANTIATE_ARITH(float)
TAPENET_INSTANTIATE_ARITH(double)

}  // namespace tapenet
