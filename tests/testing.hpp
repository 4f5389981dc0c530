// Helpers shared by the test modules.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <stdexcept>
#include <string>

#include "layers/init.hpp"
#include "layers/module.hpp"

namespace tapenet::testing {

// Draws every parameter of m anew from N(0, scale²), so no bias or peephole sits at its
// neutral initial value (zero biases hide wrong bias gradients from a gradient check).
template <class T>
void randomise(Module<T>& m, std::uint64_t seed, double scale = 0.5) {
  std::mt19937_64 rng(seed);
  for (auto* p : m.parameters()) p->value = init::normal<T>(to_shape(p->value.shape()), scale, rng);
}

// max |a_i - b_i| over two tensors (or vectors) of the same size; throws when the sizes differ.
template <class A, class B>
double max_abs_diff(const A& a, const B& b) {
  if (a.size() != b.size())
    throw std::invalid_argument("max_abs_diff: " + std::to_string(a.size()) + " vs " + std::to_string(b.size()) + " values");
  double m = 0;
  for (std::size_t i = 0; i < a.size(); ++i) m = std::max(m, std::abs(double(a.data()[i]) - double(b.data()[i])));
  return m;
}

}  // namespace tapenet::testing
