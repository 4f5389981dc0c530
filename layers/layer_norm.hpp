/// @file
/// Layer normalisation (Ba, Kiros & Hinton 2016, "Layer Normalization") as a module:
/// y = (x - μ) / √(σ² + ε) ⊙ γ + β over the last axis of x, with a learned gain γ [D]
/// (initialised to 1) and bias β [D] (initialised to 0), as torch.nn.LayerNorm(D).
#pragma once

#include <cstddef>

#include "autograd/ops.hpp"
#include "layers/module.hpp"

namespace tapenet {

template <class T>
class LayerNorm : public Module<T> {
 public:
  explicit LayerNorm(std::size_t dim, double eps = 1e-5);
  /// x [..., dim] -> the same shape; throws ShapeError naming layer_norm for another last axis.
  Var<T> forward(Tape<T>& tape, Var<T> x) const;
  std::size_t dim() const { return gain.value.size(); }
  double eps() const { return eps_; }

  Parameter<T>& gain;
  Parameter<T>& bias;

 private:
  double eps_;
};

}  // namespace tapenet
