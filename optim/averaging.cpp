#include "optim/averaging.hpp"

#include <algorithm>
#include <cmath>
#include <set>
#include <stdexcept>
#include <utility>

namespace tapenet {

namespace {

void require(bool ok, const std::string& what) {
  if (!ok) throw std::invalid_argument("ParameterAverage: " + what);
}

std::string average_key(const std::string& name) { return name + "/average"; }

}  // namespace

template <class T>
ParameterAverage<T>::ParameterAverage(ParameterList<T> params, double decay) : params_(std::move(params)), decay_(decay) {
  require(decay >= 0 && decay < 1, "decay must be in [0, 1), got " + std::to_string(decay));
  std::set<std::string> names;
  for (std::size_t i = 0; i < params_.size(); ++i) {
    require(params_[i] != nullptr, "parameter #" + std::to_string(i) + " is null");
    require(names.insert(params_[i]->name).second, "parameter name '" + params_[i]->name + "' is not unique");
    averages_.push_back(params_[i]->value);
  }
}

// With w_t = 1 − β^t the debiased mean obeys m_t = m_{t−1} + ((1−β)/w_t)·(θ_t − m_{t−1}):
// the same recurrence as the biased b_t = β·b_{t−1} + (1−β)·θ_t, divided by w_t as it goes.
template <class T>
void ParameterAverage<T>::update() {
  ++updates_;
  const double weight = 1.0 - std::pow(decay_, static_cast<double>(updates_));
  const auto rate = static_cast<T>((1.0 - decay_) / weight);
  for (std::size_t i = 0; i < params_.size(); ++i) {
    const Tensor<T>& value = params_[i]->value;
    Tensor<T>& average = averages_[i];
    require(value.size() == average.size(), "parameter '" + params_[i]->name + "' changed its size");
    const T* v = value.data();
    T* m = average.data();
    for (std::size_t k = 0, n = average.size(); k < n; ++k) m[k] += rate * (v[k] - m[k]);
  }
}

template <class T>
void ParameterAverage<T>::swap() {
  for (std::size_t i = 0; i < params_.size(); ++i) std::swap(params_[i]->value, averages_[i]);
}

template <class T>
typename ParameterAverage<T>::StateDict ParameterAverage<T>::state_dict() const {
  StateDict state;
  state["updates"] = full<T>({1}, static_cast<T>(updates_));
  for (std::size_t i = 0; i < params_.size(); ++i) state[average_key(params_[i]->name)] = averages_[i];
  return state;
}

template <class T>
void ParameterAverage<T>::load_state_dict(const StateDict& state) {
  auto updates = state.find("updates");
  require(updates != state.end() && updates->second.size() == 1, "state has no 1-element 'updates'");
  require(updates->second(0) >= 0, "'updates' is negative");
  std::set<std::string> expected = {"updates"};
  for (std::size_t i = 0; i < params_.size(); ++i) {
    const std::string key = average_key(params_[i]->name);
    auto it = state.find(key);
    require(it != state.end(), "state has no '" + key + "'");
    const auto& want = params_[i]->value.shape();
    const auto& got = it->second.shape();
    require(got.size() == want.size() && std::equal(got.begin(), got.end(), want.begin()),
            "'" + key + "' has shape " + shape_str(got) + ", the parameter " + shape_str(want));
    expected.insert(key);
  }
  for (const auto& entry : state) require(expected.count(entry.first) == 1, "unexpected entry '" + entry.first + "'");
  updates_ = static_cast<std::int64_t>(updates->second(0));
  for (std::size_t i = 0; i < params_.size(); ++i) averages_[i] = state.at(average_key(params_[i]->name));
}

template class ParameterAverage<float>;
template class ParameterAverage<double>;

}  // namespace tapenet
