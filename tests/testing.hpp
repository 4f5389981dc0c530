// Helpers shared by the test modules.
#pragma once

#include <cstdint>
#include <random>

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

}  // namespace tapenet::testing
