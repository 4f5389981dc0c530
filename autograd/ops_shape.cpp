// Shape ops. Row-major data makes concat and slice along an axis a copy of `outer`
// contiguous blocks, so they are written as block copies rather than strided views.
#include <algorithm>
#include <cstring>
#include <numeric>
#include <stdexcept>
#include <string>

#include <xtensor/xbroadcast.hpp>

#include "autograd/detail.hpp"
#include "autograd/ops.hpp"

namespace tapenet {

namespace {

// Shapes of at most 4 axes without a heap allocation (recording an op in a training loop
// should allocate nothing).
using SmallShape = xt::svector<std::size_t, 4>;

template <class S>
SmallShape small_shape(const S& s) {
  return SmallShape(s.begin(), s.end());
}

template <class S>
std::size_t product(const S& s, std::size_t from, std::size_t to) {
  std::size_t p = 1;
  for (std::size_t i = from; i < to; ++i) p *= s[i];
  return p;
}

// Copies rows of `len` elements: dst[o*dst_stride + dst_off ..] (+)= src[o*src_stride + src_off ..]
template <class T, bool Add>
void copy_blocks(T* dst, std::size_t dst_stride, std::size_t dst_off, const T* src, std::size_t src_stride,
                 std::size_t src_off, std::size_t outer, std::size_t len) {
  for (std::size_t o = 0; o < outer; ++o) {
    T* d = dst + o * dst_stride + dst_off;
    const T* s = src + o * src_stride + src_off;
    if constexpr (Add) {
      for (std::size_t i = 0; i < len; ++i) d[i] += s[i];
    } else {
      std::copy(s, s + len, d);
    }
  }
}

}  // namespace

// y = x viewed with a new shape of the same size;  dx = reshape(g, shape(x))
template <class T>
Var<T> reshape(Var<T> x, const Shape& shape) {
  const std::size_t size = std::accumulate(shape.begin(), shape.end(), std::size_t(1), std::multiplies<>());
  if (size != x.size()) throw ShapeError("reshape", shape_str(x.shape()) + " to " + shape_str(shape));
  Tensor<T> y = x.value();
  y.reshape(shape);
  auto ix = x.id();
  return x.tape().record("reshape", std::move(y), {x}, [ix](Tape<T>& t, const Tensor<T>& g, const Tensor<T>&) {
    Tensor<T> gx = g;
    gx.reshape(t.value(ix).shape());
    t.accumulate(ix, std::move(gx));
  });
}

// y = [x_0, x_1, ...] along axis;  dx_i = the matching block of g
template <class T>
Var<T> concat(const std::vector<Var<T>>& xs, std::size_t axis) {
  if (xs.empty()) throw ShapeError("concat", "needs at least one input");
  SmallShape shape = small_shape(xs[0].shape());
  if (axis >= shape.size()) throw ShapeError("concat", "axis " + std::to_string(axis) + " out of range for " + shape_str(shape));
  std::vector<std::size_t> widths;
  widths.reserve(xs.size());
  shape[axis] = 0;
  for (const auto& x : xs) {
    const auto& s = x.shape();
    bool ok = s.size() == shape.size();
    for (std::size_t d = 0; ok && d < s.size(); ++d) ok = d == axis || s[d] == shape[d];
    if (!ok) throw ShapeError("concat", shape_str(xs[0].shape()) + " and " + shape_str(s) + " along axis " + std::to_string(axis));
    shape[axis] += s[axis];
  }
  const std::size_t outer = product(shape, 0, axis), inner = product(shape, axis + 1, shape.size());
  const std::size_t out_stride = shape[axis] * inner;
  Tensor<T> y = Tensor<T>::from_shape(shape);
  std::vector<std::uint32_t> ids;
  ids.reserve(xs.size());
  std::size_t offset = 0;
  for (const auto& x : xs) {
    const std::size_t len = x.shape()[axis] * inner;
    copy_blocks<T, false>(y.data(), out_stride, offset, x.value().data(), len, 0, outer, len);
    widths.push_back(len);
    ids.push_back(x.id());
    offset += len;
  }
  return xs[0].tape().record("concat", std::move(y), xs,
                             [ids = std::move(ids), widths = std::move(widths), outer, out_stride](Tape<T>& t, const Tensor<T>& g, const Tensor<T>&) {
    std::size_t offset = 0;
    for (std::size_t i = 0; i < ids.size(); ++i) {
      if (t.requires_grad(ids[i]))
        copy_blocks<T, true>(t.grad_buffer(ids[i]).data(), widths[i], 0, g.data(), out_stride, offset, outer, widths[i]);
      offset += widths[i];
    }
  });
}

// y = x[..., begin:end, ...] along axis;  dx[..., begin:end, ...] += g
template <class T>
Var<T> slice(Var<T> x, std::size_t axis, std::size_t begin, std::size_t end) {
  SmallShape shape = small_shape(x.shape());
  if (axis >= shape.size() || begin > end || end > shape[axis])
    throw ShapeError("slice", "[" + std::to_string(begin) + ":" + std::to_string(end) + "] along axis " +
                                  std::to_string(axis) + " of " + shape_str(shape));
  const std::size_t outer = product(shape, 0, axis), inner = product(shape, axis + 1, shape.size());
  const std::size_t in_stride = shape[axis] * inner, len = (end - begin) * inner, off = begin * inner;
  shape[axis] = end - begin;
  Tensor<T> y = Tensor<T>::from_shape(shape);
  copy_blocks<T, false>(y.data(), len, 0, x.value().data(), in_stride, off, outer, len);
  auto ix = x.id();
  return x.tape().record("slice", std::move(y), {x}, [ix, outer, in_stride, len, off](Tape<T>& t, const Tensor<T>& g, const Tensor<T>&) {
    copy_blocks<T, true>(t.grad_buffer(ix).data(), in_stride, off, g.data(), len, 0, outer, len);
  });
}

template <class T>
std::vector<Var<T>> split(Var<T> x, std::size_t axis, const std::vector<std::size_t>& sizes) {
  if (axis >= x.ndim()) throw ShapeError("split", "axis " + std::to_string(axis) + " out of range for " + shape_str(x.shape()));
  const std::size_t total = std::accumulate(sizes.begin(), sizes.end(), std::size_t(0));
  if (total != x.dim(axis))
    throw ShapeError("split", "sizes summing to " + std::to_string(total) + " for axis " + std::to_string(axis) +
                                  " of " + shape_str(x.shape()));
  std::vector<Var<T>> parts;
  std::size_t begin = 0;
  for (std::size_t s : sizes) {
    parts.push_back(slice(x, axis, begin, begin + s));
    begin += s;
  }
  return parts;
}

// y[r] = table[rows[r]];  dtable[rows[r]] += g[r]  (scatter-add: repeated rows sum)
template <class T>
Var<T> gather_rows(Var<T> table, const std::vector<std::int64_t>& rows) {
  const Tensor<T>& W = table.value();
  if (W.dimension() != 2) throw ShapeError("gather_rows", "table must be 2-D, got " + shape_str(W.shape()));
  const std::size_t V = W.shape()[0], D = W.shape()[1];
  for (std::size_t r = 0; r < rows.size(); ++r)
    if (rows[r] < 0 || static_cast<std::size_t>(rows[r]) >= V)
      throw std::out_of_range("gather_rows: index " + std::to_string(rows[r]) + " at position " + std::to_string(r) +
                              " out of range for a table of " + std::to_string(V) + " rows");
  Tensor<T> y = Tensor<T>::from_shape({rows.size(), D});
  for (std::size_t r = 0; r < rows.size(); ++r) std::copy_n(W.data() + rows[r] * D, D, y.data() + r * D);
  auto it = table.id();
  return table.tape().record("gather_rows", std::move(y), {table}, [it, rows, D](Tape<T>& t, const Tensor<T>& g, const Tensor<T>&) {
    t.add_rows_grad(it, rows, g.data(), D);  // a parameter's rows stay sparse
  });
}

// y[.., n, ..] = x_n (a new axis at `axis`);  dx_n = that block of g
template <class T>
Var<T> stack(const std::vector<Var<T>>& xs, std::size_t axis) {
  if (xs.empty()) throw ShapeError("stack", "needs at least one input");
  const auto& s0 = xs[0].shape();
  if (axis > s0.size()) throw ShapeError("stack", "axis " + std::to_string(axis) + " out of range for " + shape_str(s0) + " inputs");
  for (const auto& x : xs)
    if (!detail::shapes_equal(x.shape(), s0)) throw ShapeError("stack", shape_str(s0) + " and " + shape_str(x.shape()));
  const std::size_t outer = product(s0, 0, axis), inner = product(s0, axis, s0.size()), n = xs.size();
  Shape shape = to_shape(s0);
  shape.insert(shape.begin() + static_cast<std::ptrdiff_t>(axis), n);
  Tensor<T> y = Tensor<T>::from_shape(shape);
  std::vector<std::uint32_t> ids;
  for (std::size_t i = 0; i < n; ++i) {
    copy_blocks<T, false>(y.data(), n * inner, i * inner, xs[i].value().data(), inner, 0, outer, inner);
    ids.push_back(xs[i].id());
  }
  return xs[0].tape().record("stack", std::move(y), xs, [ids = std::move(ids), outer, inner](Tape<T>& t, const Tensor<T>& g, const Tensor<T>&) {
    const std::size_t n = ids.size();
    for (std::size_t i = 0; i < n; ++i)
      if (t.requires_grad(ids[i]))
        copy_blocks<T, true>(t.grad_buffer(ids[i]).data(), inner, 0, g.data(), n * inner, i * inner, outer, inner);
  });
}

// y = x stretched to `shape`;  dx = g summed over the stretched axes
template <class T>
Var<T> broadcast_to(Var<T> x, const Shape& shape) {
  const auto& xs = x.shape();
  bool ok = xs.size() <= shape.size();
  for (std::size_t i = 0; ok && i < xs.size(); ++i) {
    const std::size_t d = xs[i], o = shape[shape.size() - xs.size() + i];
    ok = d == o || d == 1;
  }
  if (!ok) throw ShapeError("broadcast_to", shape_str(xs) + " to " + shape_str(shape));
  Tensor<T> y = xt::broadcast(x.value(), shape);
  auto ix = x.id();
  return x.tape().record("broadcast_to", std::move(y), {x}, [ix](Tape<T>& t, const Tensor<T>& g, const Tensor<T>&) {
    t.accumulate(ix, detail::sum_to_shape(g, t.value(ix).shape()));
  });
}

// y = [value × before, x, value × after] along axis;  dx = g[.., before : before + len, ..]
template <class T>
Var<T> pad(Var<T> x, std::size_t axis, std::size_t before, std::size_t after, T value) {
  SmallShape shape = small_shape(x.shape());
  if (axis >= shape.size()) throw ShapeError("pad", "axis " + std::to_string(axis) + " out of range for " + shape_str(shape));
  const std::size_t outer = product(shape, 0, axis), inner = product(shape, axis + 1, shape.size());
  const std::size_t len = shape[axis] * inner, off = before * inner, out_stride = (shape[axis] + before + after) * inner;
  shape[axis] += before + after;
  Tensor<T> y = Tensor<T>::from_shape(shape);
  y.fill(value);
  copy_blocks<T, false>(y.data(), out_stride, off, x.value().data(), len, 0, outer, len);
  auto ix = x.id();
  return x.tape().record("pad", std::move(y), {x}, [ix, outer, len, off, out_stride](Tape<T>& t, const Tensor<T>& g, const Tensor<T>&) {
    copy_blocks<T, true>(t.grad_buffer(ix).data(), len, 0, g.data(), out_stride, off, outer, len);
  });
}

namespace {
void check_index(const char* op, std::int64_t index, std::size_t position, std::size_t axis, std::size_t dim) {
  if (index < 0 || static_cast<std::size_t>(index) >= dim)
    throw std::out_of_range(std::string(op) + ": index " + std::to_string(index) + " at position " + std::to_string(position) +
                            " out of range for axis " + std::to_string(axis) + " of size " + std::to_string(dim));
}
}  // namespace

// y[o, j, i] = x[o, idx[j], i];  dx[o, idx[j], i] += g[o, j, i]  (repeated indices sum)
template <class T>
Var<T> index_select(Var<T> x, std::size_t axis, const std::vector<std::int64_t>& indices) {
  SmallShape shape = small_shape(x.shape());
  if (axis >= shape.size()) throw ShapeError("index_select", "axis " + std::to_string(axis) + " out of range for " + shape_str(shape));
  for (std::size_t j = 0; j < indices.size(); ++j) check_index("index_select", indices[j], j, axis, shape[axis]);
  const std::size_t outer = product(shape, 0, axis), inner = product(shape, axis + 1, shape.size()), len = shape[axis];
  const std::size_t n = indices.size();
  shape[axis] = n;
  Tensor<T> y = Tensor<T>::from_shape(shape);
  const T* xp = x.value().data();
  for (std::size_t o = 0; o < outer; ++o)
    for (std::size_t j = 0; j < n; ++j) std::copy_n(xp + (o * len + indices[j]) * inner, inner, y.data() + (o * n + j) * inner);
  auto ix = x.id();
  return x.tape().record("index_select", std::move(y), {x}, [ix, indices, outer, inner, len](Tape<T>& t, const Tensor<T>& g, const Tensor<T>&) {
    T* dx = t.grad_buffer(ix).data();
    const std::size_t n = indices.size();
    for (std::size_t o = 0; o < outer; ++o)
      for (std::size_t j = 0; j < n; ++j) {
        T* d = dx + (o * len + indices[j]) * inner;
        const T* s = g.data() + (o * n + j) * inner;
        for (std::size_t i = 0; i < inner; ++i) d[i] += s[i];
      }
  });
}

// y[i] = x[i with i_axis := index[i]] over every multi-index i of `index`;  dx at the same place += g[i]
template <class T>
Var<T> gather(Var<T> x, std::size_t axis, const IndexTensor& index) {
  const auto& xs = x.shape();
  const auto& is = index.shape();
  bool ok = axis < xs.size() && is.size() == xs.size();
  for (std::size_t d = 0; ok && d < xs.size(); ++d) ok = d == axis || is[d] <= xs[d];
  if (!ok) throw ShapeError("gather", "index " + shape_str(is) + " along axis " + std::to_string(axis) + " of " + shape_str(xs));
  const std::size_t rank = xs.size();
  std::vector<std::size_t> xstride(rank, 1);
  for (std::size_t d = rank; d-- > 1;) xstride[d - 1] = xstride[d] * xs[d];
  // src[k]: the flat offset in x that output entry k reads.
  std::vector<std::size_t> src(index.size());
  std::vector<std::size_t> at(rank, 0);
  for (std::size_t k = 0; k < index.size(); ++k) {
    const std::int64_t v = index.data()[k];
    check_index("gather", v, k, axis, xs[axis]);
    std::size_t off = 0;
    for (std::size_t d = 0; d < rank; ++d) off += (d == axis ? static_cast<std::size_t>(v) : at[d]) * xstride[d];
    src[k] = off;
    for (std::size_t d = rank; d-- > 0;) {  // odometer over index's shape
      if (++at[d] < is[d]) break;
      at[d] = 0;
    }
  }
  Tensor<T> y = Tensor<T>::from_shape(to_shape(is));
  for (std::size_t k = 0; k < src.size(); ++k) y.data()[k] = x.value().data()[src[k]];
  auto ix = x.id();
  return x.tape().record("gather", std::move(y), {x}, [ix, src = std::move(src)](Tape<T>& t, const Tensor<T>& g, const Tensor<T>&) {
    T* dx = t.grad_buffer(ix).data();
    for (std::size_t k = 0; k < src.size(); ++k) dx[src[k]] += g.data()[k];
  });
}

#define TAPENET_INSTANTIATE_SHAPE(T)                                                     \
  template Var<T> reshape(Var<T>, const Shape&);                                         \
  template Var<T> concat(const std::vector<Var<T>>&, std::size_t);                       \
  template Var<T> slice(Var<T>, std::size_t, std::size_t, std::size_t);                  \
  template std::vector<Var<T>> split(Var<T>, std::size_t, const std::vector<std::size_t>&); \
  template Var<T> gather_rows(Var<T>, const std::vector<std::int64_t>&);                   \
  template Var<T> stack(const std::vector<Var<T>>&, std::size_t);                         \
  template Var<T> broadcast_to(Var<T>, const Shape&);                                     \
  template Var<T> pad(Var<T>, std::size_t, std::size_t, std::size_t, T);                  \
  template Var<T> index_select(Var<T>, std::size_t, const std::vector<std::int64_t>&);    \
  template Var<T> gather(Var<T>, std::size_t, const IndexTensor&);
TAPENET_INSTANTIATE_SHAPE(float)
TAPENET_INSTANTIATE_SHAPE(double)

}  // namespace tapenet
