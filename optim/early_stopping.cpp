#include "optim/early_stopping.hpp"

#include <stdexcept>
#include <utility>

namespace tapenet {

namespace {

template <class T>
std::vector<Tensor<T>> copy_values(const ParameterList<T>& params) {
  std::vector<Tensor<T>> out;
  out.reserve(params.size());
  for (const Parameter<T>* p : params) out.push_back(p->value);
  return out;
}

template <class T>
double scalar_entry(const std::map<std::string, Tensor<T>>& state, const std::string& key, const std::string& where) {
  const auto it = state.find(key);
  if (it == state.end() || it->second.size() != 1)
    throw std::runtime_error(where + ": no 1-element entry 'state/" + key + "'");
  return static_cast<double>(it->second(0));
}

template <class T>
Tensor<T> scalar(double v) {
  return full<T>({1}, static_cast<T>(v));
}

}  // namespace

// ---- BestSnapshot ---------------------------------------------------------------------------

template <class T>
BestSnapshot<T>::BestSnapshot(ParameterList<T> params, std::string name)
    : params_(std::move(params)), name_(std::move(name)), values_(copy_values(params_)) {}

template <class T>
bool BestSnapshot<T>::offer(double score, int epoch) {
  if (!(score > score_)) return false;
  score_ = score;
  epoch_ = epoch;
  values_ = copy_values(params_);
  return true;
}

template <class T>
void BestSnapshot<T>::restore() const {
  for (std::size_t i = 0; i < params_.size(); ++i) params_[i]->value = values_[i];
}

template <class T>
void BestSnapshot<T>::start_from(const BestSnapshot& other) {
  score_ = -std::numeric_limits<double>::infinity();
  epoch_ = other.epoch_;
  values_ = other.values_;
}

template <class T>
void BestSnapshot<T>::save(StateDict& state) const {
  state["trainer/" + name_ + "_dev"] = scalar<T>(score_);
  state["trainer/" + name_ + "_epoch"] = scalar<T>(epoch_);
  for (std::size_t i = 0; i < params_.size(); ++i) state[name_ + "/" + params_[i]->name] = values_[i];
}

template <class T>
bool BestSnapshot<T>::saved_in(const StateDict& state) const {
  return state.count("trainer/" + name_ + "_dev") > 0;
}

template <class T>
void BestSnapshot<T>::load(const StateDict& state, const std::string& where) {
  const double score = scalar_entry(state, "trainer/" + name_ + "_dev", where);
  const int epoch = static_cast<int>(scalar_entry(state, "trainer/" + name_ + "_epoch", where));
  std::vector<Tensor<T>> values;
  for (const Parameter<T>* p : params_) {
    const auto it = state.find(name_ + "/" + p->name);
    if (it == state.end()) throw std::runtime_error(where + ": no entry 'state/" + name_ + "/" + p->name + "'");
    if (it->second.shape() != p->value.shape())
      throw std::runtime_error(where + ": 'state/" + name_ + "/" + p->name + "' has shape " +
                               shape_str(it->second.shape()) + ", the parameter " + shape_str(p->value.shape()));
    values.push_back(it->second);
  }
  score_ = score;
  epoch_ = epoch;
  values_ = std::move(values);
}

// ---- EarlyStopping ----------------------------------------------------------------------------

template <class T>
EarlyStopping<T>::EarlyStopping(ParameterList<T> params, int patience, std::string name)
    : best_(std::move(params), std::move(name)), patience_(patience) {
  if (patience < 0) throw std::invalid_argument("EarlyStopping: patience must be >= 0, got " + std::to_string(patience));
}

template <class T>
bool EarlyStopping<T>::offer(double score, int epoch) {
  const bool better = best_.offer(score, epoch);
  bad_epochs_ = better ? 0 : bad_epochs_ + 1;
  return better;
}

template <class T>
void EarlyStopping<T>::save(StateDict& state) const {
  best_.save(state);
  state["trainer/bad_epochs"] = scalar<T>(bad_epochs_);
}

template <class T>
void EarlyStopping<T>::load(const StateDict& state, const std::string& where) {
  const int bad = static_cast<int>(scalar_entry(state, "trainer/bad_epochs", where));
  best_.load(state, where);
  bad_epochs_ = bad;
}

template <class T>
bool EarlyStopping<T>::owns(const std::string& key) const {
  const std::string& name = best_.name();
  return key == "trainer/bad_epochs" || key == "trainer/" + name + "_dev" || key == "trainer/" + name + "_epoch" ||
         key.rfind(name + "/", 0) == 0;
}

template class BestSnapshot<float>;
template class BestSnapshot<double>;
template class EarlyStopping<float>;
template class EarlyStopping<double>;

}  // namespace tapenet
