/// @file
/// Model selection on held-out data: keep the parameters of the epoch with the best score
/// (BestSnapshot), and stop after `patience` epochs without a better one (EarlyStopping).
/// Both save into and load from a checkpoint's state map (optim/checkpoint.hpp), so a
/// resumed run selects exactly as an uninterrupted one.
///
/// @code
///   EarlyStopping<float> stopping(params, /*patience=*/10);
///   for (int epoch = 0; epoch < epochs && !stopping.stop(); ++epoch) {
///     train(...);
///     stopping.offer(evaluate(dev), epoch + 1);
///   }
///   stopping.best().restore();   // the parameters of the best epoch
/// @endcode
///
/// Instantiated for float and double.
#pragma once

#include <limits>
#include <map>
#include <string>
#include <vector>

#include "autograd/parameter.hpp"

namespace tapenet {

template <class T>
class BestSnapshot {
 public:
  using StateDict = std::map<std::string, Tensor<T>>;

  /// `name` names the checkpoint entries: "trainer/<name>_dev" (the best score, a figure
  /// on the dev data), "trainer/<name>_epoch" and "<name>/<parameter name>" per parameter.
  /// Starts with no score and a copy of the parameters' current values (epoch 0).
  BestSnapshot(ParameterList<T> params, std::string name);

  /// Keeps a copy of the parameters if `score` beats the best so far (strictly; a NaN
  /// never does) and says whether it did.
  bool offer(double score, int epoch);

  bool has_score() const { return score_ > -std::numeric_limits<double>::infinity(); }
  double score() const { return score_; }  ///< -infinity before the first offer
  int epoch() const { return epoch_; }
  const std::vector<Tensor<T>>& values() const { return values_; }
  const std::string& name() const { return name_; }

  /// Copies the kept values into the parameters.
  void restore() const;
  /// Takes `other`'s epoch and values, without its score: the next offer wins.
  void start_from(const BestSnapshot& other);

  /// The score travels as a T, so a loaded score compares as the saved one rounded to T.
  void save(StateDict& state) const;
  bool saved_in(const StateDict& state) const;  ///< whether state holds "trainer/<name>_dev"
  /// Throws std::runtime_error naming `where` (e.g. the checkpoint's path) and the key of
  /// a missing or malformed entry; on failure the snapshot is unchanged.
  void load(const StateDict& state, const std::string& where);

 private:
  ParameterList<T> params_;
  std::string name_;
  double score_ = -std::numeric_limits<double>::infinity();
  int epoch_ = 0;
  std::vector<Tensor<T>> values_;
};

template <class T>
class EarlyStopping {
 public:
  using StateDict = typename BestSnapshot<T>::StateDict;

  /// patience >= 1, or 0 for a run that keeps the best parameters and never stops
  /// (std::invalid_argument when negative). Checkpoint entries: the snapshot's, under
  /// `name`, and "trainer/bad_epochs".
  EarlyStopping(ParameterList<T> params, int patience, std::string name = "best");

  /// BestSnapshot::offer; an epoch that is not better counts as bad, a better one resets the count.
  bool offer(double score, int epoch);
  bool stop() const { return patience_ > 0 && bad_epochs_ >= patience_; }
  int bad_epochs() const { return bad_epochs_; }
  int patience() const { return patience_; }
  const BestSnapshot<T>& best() const { return best_; }

  void save(StateDict& state) const;
  void load(const StateDict& state, const std::string& where);
  /// Whether a checkpoint entry (without "state/") is one save() writes.
  bool owns(const std::string& key) const;

 private:
  BestSnapshot<T> best_;
  int patience_;
  int bad_epochs_ = 0;
};

}  // namespace tapenet
