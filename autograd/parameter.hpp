/// @file
/// A trainable parameter: a named value with a gradient that backward() accumulates into.
/// Parameters live outside any tape; a tape only borrows their value (read-only), so one
/// parameter can be used by many tapes on many threads at once.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "autograd/tensor.hpp"

namespace tapenet {

template <class T>
struct Parameter {
  std::string name;
  Tensor<T> value;
  Tensor<T> grad;  ///< same shape as value; zero until a backward() adds to it

  Parameter() = default;
  Parameter(std::string name_, Tensor<T> init)
      : name(std::move(name_)), value(std::move(init)), grad(zeros<T>(to_shape(value.shape()))) {}

  void zero_grad() { grad.fill(T(0)); }
  std::size_t size() const { return value.size(); }
};

template <class T>
using ParameterList = std::vector<Parameter<T>*>;

}  // namespace tapenet
