/// @file
/// The tensor type of tapenet: a row-major, dynamically shaped xtensor array.
/// Everything in the engine is templated on the scalar T and instantiated for
/// float (speed) and double (gradient tests).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include <xtensor/xarray.hpp>

#include "autograd/storage.hpp"

namespace tapenet {

/// Storage comes from TensorAllocator: recycled per thread, see autograd/storage.hpp.
template <class T>
using Tensor = xt::xarray<T, xt::layout_type::row_major, TensorAllocator<T>>;

using Shape = std::vector<std::size_t>;

/// "[3,4]" — how every error message prints a shape.
template <class S>
std::string shape_str(const S& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ",";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

template <class S>
Shape to_shape(const S& shape) {
  return Shape(shape.begin(), shape.end());
}

template <class T>
Tensor<T> zeros(const Shape& shape) {
  Tensor<T> t(shape);
  t.fill(T(0));
  return t;
}

template <class T>
Tensor<T> full(const Shape& shape, T value) {
  Tensor<T> t(shape);
  t.fill(value);
  return t;
}

}  // namespace tapenet
