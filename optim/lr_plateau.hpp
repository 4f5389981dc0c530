/// @file
/// Learning-rate decay on a plateau of the held-out score, as torch.optim.lr_scheduler's
/// ReduceLROnPlateau: after more than `patience` evaluations in a row without a better
/// score, the rate is multiplied by `factor` (never below `min_lr`) and the count restarts.
///
/// It is told whether an evaluation improved rather than the score itself, so that it
/// agrees with the model selection (BestSnapshot / EarlyStopping::offer) on what counts as
/// better. The rate is kept as the number of reductions, and computed from the base rate,
/// so a resumed run has bit-for-bit the rate of an uninterrupted one.
///
/// @code
///   ReduceLROnPlateau<float> schedule(/*base_lr=*/1e-3, /*factor=*/0.5, /*patience=*/2);
///   for (int epoch = 0; epoch < epochs; ++epoch) {
///     train(...);
///     if (schedule.step(stopping.offer(evaluate(dev), epoch + 1))) optimizer.set_lr(schedule.lr());
///   }
/// @endcode
///
/// Instantiated for float and double (the type of the checkpoint's state map).
#pragma once

#include <map>
#include <string>

#include "autograd/tensor.hpp"

namespace tapenet {

template <class T>
class ReduceLROnPlateau {
 public:
  using StateDict = std::map<std::string, Tensor<T>>;

  /// base_lr > 0, factor in (0, 1], patience >= 0, min_lr >= 0 (std::invalid_argument
  /// otherwise). Checkpoint entries: "trainer/<name>_reductions", "trainer/<name>_bad".
  ReduceLROnPlateau(double base_lr, double factor, int patience, double min_lr = 0, std::string name = "lr_plateau");

  /// One evaluation: a better one resets the count of bad ones; a bad one past the
  /// patience reduces the rate. Returns whether the rate changed.
  bool step(bool improved);

  double lr() const;  ///< base_lr · factor^reductions, at least min_lr
  int reductions() const { return reductions_; }
  int bad_evaluations() const { return bad_; }

  /// A new base rate (a resumed run given --lr again); the reductions so far still apply.
  void set_base_lr(double base_lr);

  void save(StateDict& state) const;
  /// Throws std::runtime_error naming `where` and the key of a missing or malformed entry.
  void load(const StateDict& state, const std::string& where);
  /// Whether a checkpoint entry (without "state/") is one save() writes.
  bool owns(const std::string& key) const;

 private:
  double base_lr_, factor_, min_lr_;
  int patience_;
  std::string name_;
  int reductions_ = 0;
  int bad_ = 0;
};

}  // namespace tapenet
