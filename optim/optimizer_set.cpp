#include "optim/optimizer_set.hpp"

#include <set>
#include <stdexcept>

namespace tapenet {

template <class T>
void OptimizerSet<T>::add(std::string prefix, std::unique_ptr<Optimizer<T>> optimizer) {
  if (!optimizer) throw std::invalid_argument("OptimizerSet::add: null optimizer");
  for (const Member& m : members_) {
    if (m.prefix == prefix) throw std::invalid_argument("OptimizerSet::add: prefix '" + prefix + "' is used twice");
    const ParameterList<T>& held = m.optimizer->parameters();
    const std::set<const Parameter<T>*> theirs(held.begin(), held.end());
    for (const Parameter<T>* p : optimizer->parameters())
      if (theirs.count(p))
        throw std::invalid_argument("OptimizerSet::add: parameter '" + p->name + "' already has an optimizer");
  }
  members_.push_back({std::move(prefix), std::move(optimizer)});
}

template <class T>
void OptimizerSet<T>::zero_grad() {
  for (Member& m : members_) m.optimizer->zero_grad();
}

template <class T>
void OptimizerSet<T>::step() {
  for (Member& m : members_) m.optimizer->step();
}

template <class T>
void OptimizerSet<T>::reset_state() {
  for (Member& m : members_) m.optimizer->reset_state();
}

template <class T>
typename OptimizerSet<T>::StateDict OptimizerSet<T>::state_dict() const {
  StateDict out;
  for (const Member& m : members_)
    for (auto& [key, value] : m.optimizer->state_dict()) out[m.prefix + key] = value;
  return out;
}

// A key goes to the member with the longest prefix that starts it.
template <class T>
std::vector<typename OptimizerSet<T>::StateDict> OptimizerSet<T>::split(const StateDict& state) const {
  std::vector<StateDict> parts(members_.size());
  for (const auto& [key, value] : state) {
    std::size_t best = members_.size();
    for (std::size_t i = 0; i < members_.size(); ++i)
      if (key.rfind(members_[i].prefix, 0) == 0 &&
          (best == members_.size() || members_[i].prefix.size() > members_[best].prefix.size()))
        best = i;
    if (best == members_.size()) throw std::invalid_argument("OptimizerSet::load_state_dict: unexpected key '" + key + "'");
    parts[best][key.substr(members_[best].prefix.size())] = value;
  }
  return parts;
}

// A member that rejects its part is left unchanged (Optimizer::load_state_dict checks
// first); the members loaded before it get their previous state back, so a bad state
// changes nothing.
template <class T>
void OptimizerSet<T>::load_state_dict(const StateDict& state) {
  const std::vector<StateDict> parts = split(state);
  std::vector<StateDict> backups;
  for (const Member& m : members_) backups.push_back(m.optimizer->state_dict());
  std::size_t loaded = 0;
  try {
    for (; loaded < members_.size(); ++loaded) members_[loaded].optimizer->load_state_dict(parts[loaded]);
  } catch (...) {
    for (std::size_t i = 0; i < loaded; ++i) members_[i].optimizer->load_state_dict(backups[i]);
    throw;
  }
}

template class OptimizerSet<float>;
template class OptimizerSet<double>;

}  // namespace tapenet
