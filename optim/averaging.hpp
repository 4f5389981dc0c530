/// @file
/// An exponential moving average of the parameters (Polyak averaging), as DyNet's trainers
/// (exponential_moving_average, swap_params_to_moving_average) and PyTorch's
/// torch.optim.swa_utils.AveragedModel offer it: evaluate with the average of the last few
/// hundred updates instead of the last one, which smooths out the noise of small minibatches.
///
/// @code
///   ParameterAverage<float> average(params, 0.999);
///   for (...) { ...; optimizer.step(); average.update(); }
///   average.swap();  evaluate(...);  average.swap();   // evaluate with the average
/// @endcode
///
/// The average is debiased (Adam's correction): after t updates it is the weighted mean
/// Σ_s (1−β)·β^(t−s)·θ_s / (1 − β^t) of the values seen, so it is never pulled towards the
/// initial values, and after one update it equals θ_1.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "autograd/parameter.hpp"

namespace tapenet {

template <class T>
class ParameterAverage {
 public:
  using StateDict = std::map<std::string, Tensor<T>>;

  /// decay β in [0, 1); β = 0 keeps the last value. Names must be unique (checkpoint keys).
  ParameterAverage(ParameterList<T> params, double decay);

  /// Folds the parameters' current values into the average.
  void update();

  /// Exchanges every parameter's value with its average; a second swap() undoes it.
  void swap();

  double decay() const { return decay_; }
  std::int64_t update_count() const { return updates_; }
  const std::vector<Tensor<T>>& averages() const { return averages_; }

  /// "<name>/average" per parameter and "updates" (a 1-element tensor). load_state_dict
  /// checks every key and shape first and throws std::invalid_argument naming the key
  /// before changing anything.
  StateDict state_dict() const;
  void load_state_dict(const StateDict& state);

 private:
  ParameterList<T> params_;
  double decay_;
  std::int64_t updates_ = 0;
  std::vector<Tensor<T>> averages_;  // one per parameter, debiased
};

}  // namespace tapenet
