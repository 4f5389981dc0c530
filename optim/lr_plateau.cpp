#include "optim/lr_plateau.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <utility>

namespace tapenet {

namespace {

template <class T>
int count_entry(const std::map<std::string, Tensor<T>>& state, const std::string& key, const std::string& where) {
  const auto it = state.find(key);
  if (it == state.end() || it->second.size() != 1 || !(it->second(0) >= 0) || it->second(0) != std::floor(it->second(0)))
    throw std::runtime_error(where + ": no 1-element count 'state/" + key + "'");
  return static_cast<int>(it->second(0));
}

void check_base_lr(double base_lr) {
  if (!(base_lr > 0)) throw std::invalid_argument("ReduceLROnPlateau: base_lr must be positive");
}

}  // namespace

template <class T>
ReduceLROnPlateau<T>::ReduceLROnPlateau(double base_lr, double factor, int patience, double min_lr, std::string name)
    : base_lr_(base_lr), factor_(factor), min_lr_(min_lr), patience_(patience), name_(std::move(name)) {
  check_base_lr(base_lr);
  if (!(factor > 0 && factor <= 1)) throw std::invalid_argument("ReduceLROnPlateau: factor must be in (0, 1]");
  if (patience < 0) throw std::invalid_argument("ReduceLROnPlateau: patience must be >= 0");
  if (!(min_lr >= 0)) throw std::invalid_argument("ReduceLROnPlateau: min_lr must be >= 0");
}

template <class T>
bool ReduceLROnPlateau<T>::step(bool improved) {
  if (improved) {
    bad_ = 0;
    return false;
  }
  if (++bad_ <= patience_) return false;
  bad_ = 0;
  const double before = lr();
  ++reductions_;
  return lr() != before;
}

template <class T>
double ReduceLROnPlateau<T>::lr() const {
  return std::max(min_lr_, base_lr_ * std::pow(factor_, reductions_));
}

template <class T>
void ReduceLROnPlateau<T>::set_base_lr(double base_lr) {
  check_base_lr(base_lr);
  base_lr_ = base_lr;
}

template <class T>
void ReduceLROnPlateau<T>::save(StateDict& state) const {
  state["trainer/" + name_ + "_reductions"] = full<T>({1}, static_cast<T>(reductions_));
  state["trainer/" + name_ + "_bad"] = full<T>({1}, static_cast<T>(bad_));
}

template <class T>
void ReduceLROnPlateau<T>::load(const StateDict& state, const std::string& where) {
  const int reductions = count_entry(state, "trainer/" + name_ + "_reductions", where);
  const int bad = count_entry(state, "trainer/" + name_ + "_bad", where);
  reductions_ = reductions;
  bad_ = bad;
}

template <class T>
bool ReduceLROnPlateau<T>::owns(const std::string& key) const {
  return key == "trainer/" + name_ + "_reductions" || key == "trainer/" + name_ + "_bad";
}

template class ReduceLROnPlateau<float>;
template class ReduceLROnPlateau<double>;

}  // namespace tapenet
