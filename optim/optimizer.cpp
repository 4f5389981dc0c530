#include "optim/optimizer.hpp"

#include "autograd/row_blocks.hpp"
#include "optim/weight_decay.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <set>
#include <stdexcept>

namespace tapenet {

namespace {

// Parameters below this many elements are updated on the calling thread alone.
constexpr std::size_t kMinParallelElements = std::size_t(1) << 17;

// body(first, last) over the n elements of a parameter. The updates are elementwise, so any
// split gives the same bits; a large parameter (an embedding table, a readout) is split over
// OpenBLAS's thread count, as the row-parallel ops are.
template <class Body>
void for_each_element(std::size_t n, const Body& body) {
  detail::for_row_blocks(n, kMinParallelElements, body);
}

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

void require(bool ok, const char* who, const std::string& what) {
  if (!ok) throw std::invalid_argument(std::string(who) + ": " + what);
}

// Written as `v >= 0 && finite` so that NaN and Inf fail too.
void require_non_negative(const char* who, const char* name, double v) {
  require(v >= 0 && std::isfinite(v), who, std::string(name) + " must be >= 0, got " + num(v));
}

void require_unit_interval(const char* who, const char* name, double v) {
  require(v >= 0 && v < 1, who, std::string(name) + " must be in [0, 1), got " + num(v));
}

template <class A, class B>
bool shapes_match(const A& a, const B& b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin());
}

}  // namespace

// ---- Optimizer ----------------------------------------------------------------------------

template <class T>
Optimizer<T>::Optimizer(ParamGroups<T> groups, T lr, double weight_decay, WeightDecay kind)
    : groups_(std::move(groups)), active_rows_(groups_.size()), weight_decay_(weight_decay), decay_kind_(kind) {
  for (std::size_t g = 0; g < groups_.size(); ++g)
    for (Parameter<T>* p : groups_[g].params) {
      params_.push_back(p);
      group_of_.push_back(g);
    }
  check_groups();
  set_lr(lr);
}

template <class T>
void Optimizer<T>::check_groups() const {
  std::set<const Parameter<T>*> seen;
  for (std::size_t i = 0; i < params_.size(); ++i) {
    require(params_[i] != nullptr, "Optimizer", "parameter #" + std::to_string(i) + " is null");
    require(seen.insert(params_[i]).second, "Optimizer",
            "parameter '" + params_[i]->name + "' is listed twice (in one group or in two)");
  }
  require_non_negative("Optimizer", "weight_decay", weight_decay_);
  for (std::size_t g = 0; g < groups_.size(); ++g) {
    const std::string group = "group " + std::to_string(g) + ": ";
    require_non_negative("Optimizer", (group + "lr_scale").c_str(), groups_[g].lr_scale);
    if (groups_[g].weight_decay)
      require_non_negative("Optimizer", (group + "weight_decay").c_str(), *groups_[g].weight_decay);
    if (groups_[g].decay_active_rows_only)
      for (const Parameter<T>* p : groups_[g].params)
        require(p->value.dimension() >= 1, "Optimizer",
                group + "decay_active_rows_only needs tables of rows, but '" + p->name + "' is a scalar");
  }
}

template <class T>
void Optimizer<T>::set_lr(T lr) {
  require_non_negative("Optimizer", "lr", double(lr));
  lr_ = lr;
}

template <class T>
void Optimizer<T>::set_clip_norm(T max_norm) {
  require_non_negative("Optimizer", "clip_norm", double(max_norm));
  clip_norm_ = max_norm;
}

template <class T>
double Optimizer<T>::weight_decay_of(std::size_t index) const {
  const ParamGroup<T>& group = groups_[group_of_[index]];
  return group.weight_decay ? *group.weight_decay : weight_decay_;
}

template <class T>
void Optimizer<T>::set_active_rows(std::size_t group, std::vector<std::int64_t> rows) {
  require(group < groups_.size(), "Optimizer::set_active_rows",
          "group " + std::to_string(group) + " of " + std::to_string(groups_.size()));
  require(groups_[group].decay_active_rows_only, "Optimizer::set_active_rows",
          "group " + std::to_string(group) + " does not decay active rows only");
  for (const Parameter<T>* p : groups_[group].params)
    for (std::int64_t row : rows)
      if (row < 0 || static_cast<std::size_t>(row) >= p->value.shape()[0])
        throw std::out_of_range("Optimizer::set_active_rows: row " + std::to_string(row) + " outside the " +
                                std::to_string(p->value.shape()[0]) + "-row parameter '" + p->name + "'");
  active_rows_[group] = std::move(rows);
}

template <class T>
void Optimizer<T>::zero_grad() {
  for (Parameter<T>* p : params_) p->zero_grad();
}

template <class T>
void Optimizer<T>::reset_state() {
  for (Buffer& b : buffers_)
    for (Tensor<T>& t : b.tensors) t.fill(b.init);
}

// grad += λ·θ per group (the whole parameters, or the active rows); the penalty in group order.
template <class T>
void Optimizer<T>::apply_weight_decay() {
  penalty_ = T(0);
  if (decay_kind_ == WeightDecay::Decoupled) return;
  for (std::size_t g = 0; g < groups_.size(); ++g) {
    const ParamGroup<T>& group = groups_[g];
    const auto lambda = static_cast<T>(group.weight_decay ? *group.weight_decay : weight_decay_);
    if (!group.decay_active_rows_only) {
      penalty_ += add_l2(group.params, lambda);
      continue;
    }
    for (Parameter<T>* p : group.params) penalty_ += add_l2_rows(*p, lambda, active_rows_[g]);
    active_rows_[g].clear();
  }
}

// A group with lr_scale s ≠ 1: θ ← θ₀ + s·(θ_rule − θ₀), from a copy of θ₀.
template <class T>
void Optimizer<T>::update_group(std::size_t group, std::size_t& index) {
  const auto scale = static_cast<T>(groups_[group].lr_scale);
  for (Parameter<T>* p : groups_[group].params) {
    if (scale == T(1)) {
      update(*p, index++);
      continue;
    }
    const Tensor<T> before = p->value;
    update(*p, index++);
    T* now = p->value.data();
    const T* was = before.data();
    for_each_element(before.size(), [&](std::size_t first, std::size_t last) {
      for (std::size_t k = first; k < last; ++k) now[k] = was[k] + scale * (now[k] - was[k]);
    });
  }
}

template <class T>
void Optimizer<T>::step() {
  check_shapes();
  apply_weight_decay();
  if (clip_norm_ > T(0)) clip_grad_norm(params_, clip_norm_);
  ++step_;
  std::size_t index = 0;
  for (std::size_t g = 0; g < groups_.size(); ++g) update_group(g, index);
}

// The raw loops of update() trust that grad and every buffer have the value's size.
template <class T>
void Optimizer<T>::check_shapes() const {
  for (std::size_t i = 0; i < params_.size(); ++i) {
    const Parameter<T>& p = *params_[i];
    require(shapes_match(p.grad.shape(), p.value.shape()), "Optimizer::step",
            "grad of parameter '" + p.name + "' has shape " + shape_str(p.grad.shape()) +
                " but its value has " + shape_str(p.value.shape()));
    for (const Buffer& b : buffers_)
      require(shapes_match(b.tensors[i].shape(), p.value.shape()), "Optimizer::step",
              "parameter '" + p.name + "' changed shape to " + shape_str(p.value.shape()) +
                  " after its " + b.name + " buffer was made as " + shape_str(b.tensors[i].shape()));
  }
}

template <class T>
std::size_t Optimizer<T>::add_buffer(const std::string& name, T init) {
  Buffer b{name, init, {}};
  b.tensors.reserve(params_.size());
  for (const Parameter<T>* p : params_) b.tensors.push_back(full<T>(to_shape(p->value.shape()), init));
  buffers_.push_back(std::move(b));
  return buffers_.size() - 1;
}

template <class T>
std::vector<std::string> Optimizer<T>::param_keys() const {
  std::vector<std::string> keys;
  std::set<std::string> seen;
  for (std::size_t i = 0; i < params_.size(); ++i) {
    const std::string& name = params_[i]->name;
    keys.push_back(name.empty() ? "#" + std::to_string(i) : name);
    require(seen.insert(keys.back()).second, "Optimizer state",
            "two parameters are named '" + keys.back() + "'; checkpoint keys must be unique");
  }
  return keys;
}

template <class T>
std::map<std::string, Shape> Optimizer<T>::expected_shapes() const {
  std::map<std::string, Shape> shapes{{"step", {1}}, {"lr", {1}}};
  const std::vector<std::string> keys = param_keys();
  for (const Buffer& b : buffers_)
    for (std::size_t i = 0; i < params_.size(); ++i)
      shapes[keys[i] + "/" + b.name] = to_shape(params_[i]->value.shape());
  return shapes;
}

template <class T>
typename Optimizer<T>::StateDict Optimizer<T>::state_dict() const {
  // The step counter travels as a T: exact up to 2^24 steps in float, 2^53 in double.
  StateDict state{{"step", full<T>({1}, T(step_))}, {"lr", full<T>({1}, lr_)}};
  const std::vector<std::string> keys = param_keys();
  for (const Buffer& b : buffers_)
    for (std::size_t i = 0; i < params_.size(); ++i) state[keys[i] + "/" + b.name] = b.tensors[i];
  return state;
}

template <class T>
void Optimizer<T>::load_state_dict(const StateDict& state) {
  const char* who = "load_state_dict";
  // Validate everything first, so a bad checkpoint leaves the optimizer as it was.
  const std::map<std::string, Shape> expected = expected_shapes();
  for (const auto& [key, shape] : expected) {
    const auto it = state.find(key);
    require(it != state.end(), who, "missing key '" + key + "'");
    require(shapes_match(it->second.shape(), shape), who,
            "'" + key + "' has shape " + shape_str(it->second.shape()) + ", expected " + shape_str(shape));
  }
  for (const auto& entry : state)
    require(expected.count(entry.first) > 0, who, "unexpected key '" + entry.first + "'");
  const T step = state.at("step")(0);
  const T lr = state.at("lr")(0);
  require(step >= T(0) && std::floor(step) == step, who, "'step' must be a whole number >= 0, got " + num(step));
  require_non_negative(who, "'lr'", double(lr));

  step_ = static_cast<std::int64_t>(step);
  lr_ = lr;
  const std::vector<std::string> keys = param_keys();
  for (Buffer& b : buffers_)
    for (std::size_t i = 0; i < params_.size(); ++i) b.tensors[i] = state.at(keys[i] + "/" + b.name);
}

// ---- SGD ----------------------------------------------------------------------------------

template <class T>
SGD<T>::SGD(ParamGroups<T> groups, const SGDOptions& o)
    : Optimizer<T>(std::move(groups), T(o.lr), o.weight_decay), options_(o) {
  require_non_negative("SGD", "momentum", o.momentum);
  require_non_negative("SGD", "dampening", o.dampening);
  require(!o.nesterov || (o.momentum > 0 && o.dampening == 0), "SGD",
          "Nesterov momentum needs momentum > 0 and dampening 0");
  if (o.momentum > 0) momentum_buffer_ = this->add_buffer("momentum_buffer");
}

template <class T>
void SGD<T>::update(Parameter<T>& p, std::size_t index) {
  const T lr = this->lr(), mu = T(options_.momentum);
  const T damp = T(options_.dampening);
  const bool nesterov = options_.nesterov;
  T* w = p.value.data();
  const T* grad = p.grad.data();
  const std::size_t n = p.size();
  if (mu == T(0)) {
    // p -= lr·g
    for_each_element(n, [&](std::size_t first, std::size_t last) {
      for (std::size_t k = first; k < last; ++k) w[k] -= lr * grad[k];
    });
    return;
  }
  T* buf = this->buffer(momentum_buffer_, index);
  const bool first = this->step_count() == 1;  // PyTorch starts the buffer at g, undamped
  for_each_element(n, [&](std::size_t begin, std::size_t end) {
    for (std::size_t k = begin; k < end; ++k) {
      const T g = grad[k];
      // buf = mu·buf + (1 - dampening)·g
      buf[k] = first ? g : mu * buf[k] + (T(1) - damp) * g;
      // p -= lr·(nesterov ? g + mu·buf : buf)
      w[k] -= lr * (nesterov ? g + mu * buf[k] : buf[k]);
    }
  });
}

// ---- AdaGrad ------------------------------------------------------------------------------

template <class T>
AdaGrad<T>::AdaGrad(ParamGroups<T> groups, const AdaGradOptions& o)
    : Optimizer<T>(std::move(groups), T(o.lr), o.weight_decay), options_(o) {
  require_non_negative("AdaGrad", "lr_decay", o.lr_decay);
  require_non_negative("AdaGrad", "initial_accumulator_value", o.initial_accumulator_value);
  require_non_negative("AdaGrad", "eps", o.eps);
  sum_ = this->add_buffer("sum", T(o.initial_accumulator_value));
}

template <class T>
void AdaGrad<T>::update(Parameter<T>& p, std::size_t index) {
  // lr_t = lr / (1 + (t - 1)·lr_decay)
  const T lr = T(double(this->lr()) / (1.0 + double(this->step_count() - 1) * options_.lr_decay));
  const T eps = T(options_.eps);
  T* w = p.value.data();
  const T* grad = p.grad.data();
  T* sum = this->buffer(sum_, index);
  for_each_element(p.size(), [&](std::size_t first, std::size_t last) {
    for (std::size_t k = first; k < last; ++k) {
      const T g = grad[k];
      // sum += g²
      sum[k] += g * g;
      // p -= lr_t·g / (sqrt(sum) + eps)
      w[k] -= lr * (g / (std::sqrt(sum[k]) + eps));
    }
  });
}

// ---- RMSProp ------------------------------------------------------------------------------

template <class T>
RMSProp<T>::RMSProp(ParamGroups<T> groups, const RMSPropOptions& o)
    : Optimizer<T>(std::move(groups), T(o.lr), o.weight_decay), options_(o) {
  require_non_negative("RMSProp", "alpha", o.alpha);
  require_non_negative("RMSProp", "eps", o.eps);
  require_non_negative("RMSProp", "momentum", o.momentum);
  square_avg_ = this->add_buffer("square_avg");
  if (o.momentum > 0) momentum_buffer_ = this->add_buffer("momentum_buffer");
  if (o.centered) grad_avg_ = this->add_buffer("grad_avg");
}

template <class T>
void RMSProp<T>::update(Parameter<T>& p, std::size_t index) {
  const T lr = this->lr(), alpha = T(options_.alpha), eps = T(options_.eps);
  const T mu = T(options_.momentum);
  const bool centered = options_.centered, momentum = mu > T(0);
  T* w = p.value.data();
  const T* grad = p.grad.data();
  T* sq = this->buffer(square_avg_, index);
  T* buf = momentum ? this->buffer(momentum_buffer_, index) : nullptr;
  T* avg_g = centered ? this->buffer(grad_avg_, index) : nullptr;
  for_each_element(p.size(), [&](std::size_t first, std::size_t last) {
    for (std::size_t k = first; k < last; ++k) {
      const T g = grad[k];
      // E[g²] = alpha·E[g²] + (1 - alpha)·g²
      sq[k] = alpha * sq[k] + (T(1) - alpha) * g * g;
      // denom = sqrt(E[g²] - E[g]²) + eps  (centered),  sqrt(E[g²]) + eps  (plain)
      T var = sq[k];
      if (centered) {
        avg_g[k] = alpha * avg_g[k] + (T(1) - alpha) * g;
        var -= avg_g[k] * avg_g[k];
      }
      const T denom = std::sqrt(var) + eps;
      // buf = mu·buf + g/denom;  p -= lr·buf    (p -= lr·g/denom without momentum)
      if (momentum) {
        buf[k] = mu * buf[k] + g / denom;
        w[k] -= lr * buf[k];
      } else {
        w[k] -= lr * (g / denom);
      }
    }
  });
}

// ---- Adam / AdamW -------------------------------------------------------------------------

template <class T>
Adam<T>::Adam(ParamGroups<T> groups, const AdamOptions& o) : Adam(std::move(groups), o, false) {}

template <class T>
Adam<T>::Adam(ParamGroups<T> groups, const AdamOptions& o, bool decoupled_weight_decay)
    : Optimizer<T>(std::move(groups), T(o.lr), o.weight_decay,
                   decoupled_weight_decay ? Optimizer<T>::WeightDecay::Decoupled : Optimizer<T>::WeightDecay::Coupled),
      options_(o),
      decoupled_(decoupled_weight_decay) {
  const char* who = decoupled_ ? "AdamW" : "Adam";
  require_unit_interval(who, "beta1", o.beta1);
  require_unit_interval(who, "beta2", o.beta2);
  require_non_negative(who, "eps", o.eps);
  exp_avg_ = this->add_buffer("exp_avg");
  exp_avg_sq_ = this->add_buffer("exp_avg_sq");
}

template <class T>
void Adam<T>::update(Parameter<T>& p, std::size_t index) {
  const T lr = this->lr(), b1 = T(options_.beta1), b2 = T(options_.beta2);
  const T eps = T(options_.eps), wd = T(this->weight_decay_of(index));
  // Bias corrections 1 - beta^t, in double as PyTorch does (they are Python floats there).
  const double t = double(this->step_count());
  const T step_size = T(double(lr) / (1.0 - std::pow(options_.beta1, t)));
  const T bc2_sqrt = T(std::sqrt(1.0 - std::pow(options_.beta2, t)));
  T* w = p.value.data();
  const T* grad = p.grad.data();
  T* m = this->buffer(exp_avg_, index);
  T* v = this->buffer(exp_avg_sq_, index);
  const bool decoupled = decoupled_;
  auto range = [=](std::size_t first, std::size_t last) {
    for (std::size_t k = first; k < last; ++k) {
      // AdamW: p *= 1 - lr·wd (Adam's coupled decay is already in grad)
      const T g = grad[k];
      if (decoupled) w[k] *= T(1) - lr * wd;
      // m = b1·m + (1 - b1)·g;   v = b2·v + (1 - b2)·g²
      m[k] = b1 * m[k] + (T(1) - b1) * g;
      v[k] = b2 * v[k] + (T(1) - b2) * g * g;
      // p -= lr/(1 - b1^t) · m / (sqrt(v)/sqrt(1 - b2^t) + eps)
      w[k] -= step_size * (m[k] / (std::sqrt(v[k]) / bc2_sqrt + eps));
    }
  };
  for_each_element(p.size(), range);
}

template class Optimizer<float>;
template class Optimizer<double>;
template class SGD<float>;
template class SGD<double>;
template class AdaGrad<float>;
template class AdaGrad<double>;
template class RMSProp<float>;
template class RMSProp<double>;
template class Adam<float>;
template class Adam<double>;
template class AdamW<float>;
template class AdamW<double>;

}  // namespace tapenet
