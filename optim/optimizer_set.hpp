/// @file
/// Several optimizers stepped as one, for parameter groups that need different update rules
/// (e.g. Tai et al. 2015's Tree-LSTM: the word vectors by plain SGD, the rest by AdaGrad).
/// Each member keeps its own groups, learning rate, weight decay and clipping: a member's
/// clip norm covers that member's parameters only.
///
/// @code
///   OptimizerSet<float> opt;
///   opt.add("", std::make_unique<AdaGrad<float>>(weights, AdaGradOptions().with_lr(0.05)));
///   opt.add("embedding/", std::make_unique<SGD<float>>(words, SGDOptions().with_lr(0.1)));
///   for (...) { opt.zero_grad(); tape.backward(loss); opt.step(); }
/// @endcode
///
/// Instantiated for float and double.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "optim/optimizer.hpp"

namespace tapenet {

template <class T>
class OptimizerSet {
 public:
  using StateDict = typename Optimizer<T>::StateDict;

  /// Adds a member whose state_dict() keys get `prefix` (one member may have the empty
  /// prefix: a set of one member saves exactly that member's keys). Throws
  /// std::invalid_argument for a prefix already used or a parameter another member holds.
  void add(std::string prefix, std::unique_ptr<Optimizer<T>> optimizer);

  /// zero_grad(), step() and reset_state() of every member, in the order they were added.
  void zero_grad();
  void step();
  void reset_state();

  std::size_t size() const { return members_.size(); }
  Optimizer<T>& operator[](std::size_t i) { return *members_.at(i).optimizer; }
  const Optimizer<T>& operator[](std::size_t i) const { return *members_.at(i).optimizer; }

  /// Every member's state_dict() under its prefix. load_state_dict gives each member the
  /// keys under its prefix (the empty prefix: the keys no other member's prefix claims);
  /// every member checks its own keys before any is changed.
  StateDict state_dict() const;
  void load_state_dict(const StateDict& state);

 private:
  struct Member {
    std::string prefix;
    std::unique_ptr<Optimizer<T>> optimizer;
  };
  std::vector<StateDict> split(const StateDict& state) const;

  std::vector<Member> members_;
};

}  // namespace tapenet
