/// @file
/// Optimizers: SGD (momentum, Nesterov), AdaGrad, RMSProp, Adam and AdamW, with PyTorch's
/// update rules so results can be checked against torch.optim. As in DyNet's trainers, the
/// base class owns what every optimizer shares — the parameter groups, the learning rate,
/// the step counter, weight decay, optional gradient clipping and the per-parameter state
/// buffers with their checkpointing — and a subclass only writes its update rule for one
/// parameter.
///
/// Typical loop:
/// @code
///   Adam<float> opt(params, AdamOptions().with_lr(1e-3));
///   opt.set_clip_norm(5);            // optional, clips the global norm before each step
///   for (...) { opt.zero_grad(); tape.backward(loss); opt.step(); tape.clear(); }
/// @endcode
///
/// Parameter groups (torch.optim's param_groups, DyNet's per-parameter scales): each group
/// has its own learning-rate scale and weight decay,
/// @code
///   AdaGrad<float> opt({ParamGroup<float>(weights).with_weight_decay(1e-3),
///                       ParamGroup<float>(biases),
///                       ParamGroup<float>(embedding).with_lr_scale(0.1)}, AdaGradOptions());
/// @endcode
/// and a group that needs another rule gets its own optimizer (optim/optimizer_set.hpp).
///
/// Options are plain structs: set fields directly, or chain the with_* setters.
/// Instantiated for float and double.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "autograd/parameter.hpp"
#include "optim/clip.hpp"

namespace tapenet {

/// Parameters that share their hyper-parameters.
template <class T>
struct ParamGroup {
  ParameterList<T> params;
  /// The group's update is lr_scale times the rule's: θ ← θ₀ + s·(θ_rule − θ₀), θ₀ the
  /// value before the step. For every rule here that equals the rule at lr·s (up to
  /// rounding), and it keeps the rule's state exactly as with s = 1.
  double lr_scale = 1;
  /// Coupled L2 λ: p.grad += λ·p.value at the start of step(). Unset: the options'
  /// weight_decay (AdamW: the decoupled decay of its rule, per group the same way).
  std::optional<double> weight_decay;
  /// λ only on the rows of each parameter (a table [n, ...], e.g. an embedding) named by
  /// set_active_rows() before the step, each once (CoreNLP regularises only the word
  /// vectors a minibatch uses); without rows, none.
  bool decay_active_rows_only = false;

  ParamGroup() = default;
  explicit ParamGroup(ParameterList<T> p) : params(std::move(p)) {}
  ParamGroup& with_lr_scale(double s) { lr_scale = s; return *this; }
  ParamGroup& with_weight_decay(double lambda) { weight_decay = lambda; return *this; }
  ParamGroup& with_decay_active_rows_only(bool on = true) { decay_active_rows_only = on; return *this; }
};

/// A list of groups. A class rather than an alias of std::vector, so that a braced list of
/// parameters, Adam<float> opt({&w, &b}), still means one group (std::vector's iterator-pair
/// constructor would make that call ambiguous).
template <class T>
struct ParamGroups : std::vector<ParamGroup<T>> {
  ParamGroups() = default;
  ParamGroups(std::initializer_list<ParamGroup<T>> groups) : std::vector<ParamGroup<T>>(groups) {}
  ParamGroups(std::vector<ParamGroup<T>> groups) : std::vector<ParamGroup<T>>(std::move(groups)) {}
};

template <class T>
class Optimizer {
 public:
  /// Checkpoint: "step" and "lr" as 1-element tensors, plus one tensor per parameter and
  /// buffer, keyed "<parameter name>/<buffer>" (e.g. "fc.W/exp_avg"; an unnamed parameter
  /// is called "#<index>", its place over all groups). Groups add no keys: their settings
  /// come from the code that builds them.
  using StateDict = std::map<std::string, Tensor<T>>;

  /// How the options' weight_decay acts: on the gradient (L2, torch's weight_decay) or, in
  /// the rule itself, on the value (AdamW's decoupled decay).
  enum class WeightDecay { Coupled, Decoupled };

  Optimizer(ParamGroups<T> groups, T lr, double weight_decay, WeightDecay kind = WeightDecay::Coupled);
  virtual ~Optimizer() = default;

  /// One update from each p->grad, in this order: each group's coupled weight decay is
  /// added to p->grad in place (the gradient of the regularised objective); clipping, when
  /// on, rescales the gradients in place; every parameter takes its rule's update, scaled
  /// by its group's lr_scale. Call zero_grad() before the next backward().
  virtual void step();
  void zero_grad();

  /// Every per-parameter buffer back to its initial value (AdaGrad's sums to
  /// initial_accumulator_value, momenta and moments to 0), as for a fresh optimizer. The
  /// step count and the learning rate are kept: Adam's bias correction and SGD's
  /// first-step rule go on from the current step.
  void reset_state();

  T lr() const { return lr_; }
  void set_lr(T lr);
  /// Updates applied so far (restored by load_state_dict).
  std::int64_t step_count() const { return step_; }
  /// Every parameter of every group, in group order.
  const ParameterList<T>& parameters() const { return params_; }
  const ParamGroups<T>& groups() const { return groups_; }

  /// The rows of each parameter of group `group` (one with decay_active_rows_only) that the
  /// next step() decays; that step() forgets them. Throws std::out_of_range naming a row
  /// outside a parameter, before keeping any.
  void set_active_rows(std::size_t group, std::vector<std::int64_t> rows);
  /// Σ (λ/2)·‖θ‖² of the coupled weight decay of the last step(), at the values before it.
  T weight_decay_penalty() const { return penalty_; }

  /// Clip the global gradient norm to max_norm at the start of every step(); 0 (the
  /// default) turns clipping off.
  void set_clip_norm(T max_norm);
  T clip_norm() const { return clip_norm_; }

  /// Copies of the state. load_state_dict checks every key first (each required key
  /// present with the right shape, no unknown key) and throws std::invalid_argument
  /// naming the key before changing anything.
  virtual StateDict state_dict() const;
  virtual void load_state_dict(const StateDict& state);

 protected:
  /// Registers a per-parameter buffer (one tensor shaped like each parameter, filled with
  /// init) that state_dict() saves and reset_state() refills; returns the handle for buffer().
  std::size_t add_buffer(const std::string& name, T init = T(0));
  T* buffer(std::size_t handle, std::size_t param) { return buffers_[handle].tensors[param].data(); }
  /// The λ of parameter `index`'s group (its own, or the options').
  double weight_decay_of(std::size_t index) const;

  /// The update rule for parameter `index` of parameters(); step_count() already counts
  /// the step being taken (1 on the first step). Coupled weight decay is already in p.grad.
  virtual void update(Parameter<T>& p, std::size_t index) = 0;

 private:
  struct Buffer {
    std::string name;
    T init;
    std::vector<Tensor<T>> tensors;  ///< one per parameter
  };

  void check_groups() const;
  void apply_weight_decay();
  void update_group(std::size_t group, std::size_t& index);
  std::vector<std::string> param_keys() const;  // unique names used as key prefixes
  std::map<std::string, Shape> expected_shapes() const;
  void check_shapes() const;

  ParamGroups<T> groups_;
  ParameterList<T> params_;          // the groups' parameters, flattened
  std::vector<std::size_t> group_of_;  // per parameter
  std::vector<std::vector<std::int64_t>> active_rows_;  // per group, for the next step
  T lr_;
  double weight_decay_;
  WeightDecay decay_kind_;
  T clip_norm_ = T(0);
  T penalty_ = T(0);
  std::int64_t step_ = 0;
  std::vector<Buffer> buffers_;
};

/// One group holding `params`.
template <class T>
ParamGroups<T> single_group(ParameterList<T> params) {
  return {ParamGroup<T>(std::move(params))};
}

// ---- SGD ------------------------------------------------------------------------------

struct SGDOptions {
  double lr = 0.01;
  double momentum = 0;
  double dampening = 0;
  bool nesterov = false;  ///< needs momentum > 0 and dampening 0
  double weight_decay = 0;

  SGDOptions& with_lr(double v) { lr = v; return *this; }
  SGDOptions& with_momentum(double v) { momentum = v; return *this; }
  SGDOptions& with_dampening(double v) { dampening = v; return *this; }
  SGDOptions& with_nesterov(bool v = true) { nesterov = v; return *this; }
  SGDOptions& with_weight_decay(double v) { weight_decay = v; return *this; }
};

/// Buffer: "momentum_buffer" (only when momentum > 0).
template <class T>
class SGD : public Optimizer<T> {
 public:
  explicit SGD(ParameterList<T> params, const SGDOptions& options = {})
      : SGD(single_group(std::move(params)), options) {}
  explicit SGD(ParamGroups<T> groups, const SGDOptions& options = {});
  const SGDOptions& options() const { return options_; }

 protected:
  void update(Parameter<T>& p, std::size_t index) override;

 private:
  SGDOptions options_;
  std::size_t momentum_buffer_ = 0;
};

// ---- AdaGrad ----------------------------------------------------------------------------

struct AdaGradOptions {
  double lr = 0.01;
  double lr_decay = 0;  ///< lr_t = lr / (1 + (t - 1) * lr_decay)
  double weight_decay = 0;
  double initial_accumulator_value = 0;
  double eps = 1e-10;

  AdaGradOptions& with_lr(double v) { lr = v; return *this; }
  AdaGradOptions& with_lr_decay(double v) { lr_decay = v; return *this; }
  AdaGradOptions& with_weight_decay(double v) { weight_decay = v; return *this; }
  AdaGradOptions& with_initial_accumulator_value(double v) { initial_accumulator_value = v; return *this; }
  AdaGradOptions& with_eps(double v) { eps = v; return *this; }
};

/// Buffer: "sum".
template <class T>
class AdaGrad : public Optimizer<T> {
 public:
  explicit AdaGrad(ParameterList<T> params, const AdaGradOptions& options = {})
      : AdaGrad(single_group(std::move(params)), options) {}
  explicit AdaGrad(ParamGroups<T> groups, const AdaGradOptions& options = {});
  const AdaGradOptions& options() const { return options_; }

 protected:
  void update(Parameter<T>& p, std::size_t index) override;

 private:
  AdaGradOptions options_;
  std::size_t sum_ = 0;
};

// ---- RMSProp ----------------------------------------------------------------------------

struct RMSPropOptions {
  double lr = 0.01;
  double alpha = 0.99;
  double eps = 1e-8;
  double weight_decay = 0;
  double momentum = 0;
  bool centered = false;  ///< divide by the estimated variance instead of the raw 2nd moment

  RMSPropOptions& with_lr(double v) { lr = v; return *this; }
  RMSPropOptions& with_alpha(double v) { alpha = v; return *this; }
  RMSPropOptions& with_eps(double v) { eps = v; return *this; }
  RMSPropOptions& with_weight_decay(double v) { weight_decay = v; return *this; }
  RMSPropOptions& with_momentum(double v) { momentum = v; return *this; }
  RMSPropOptions& with_centered(bool v = true) { centered = v; return *this; }
};

/// Buffers: "square_avg", plus "momentum_buffer" when momentum > 0 and "grad_avg" when
/// centered.
template <class T>
class RMSProp : public Optimizer<T> {
 public:
  explicit RMSProp(ParameterList<T> params, const RMSPropOptions& options = {})
      : RMSProp(single_group(std::move(params)), options) {}
  explicit RMSProp(ParamGroups<T> groups, const RMSPropOptions& options = {});
  const RMSPropOptions& options() const { return options_; }

 protected:
  void update(Parameter<T>& p, std::size_t index) override;

 private:
  RMSPropOptions options_;
  std::size_t square_avg_ = 0, momentum_buffer_ = 0, grad_avg_ = 0;
};

// ---- Adam / AdamW -------------------------------------------------------------------------

struct AdamOptions {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0;  ///< Adam: L2 added to the gradient; AdamW: decoupled

  AdamOptions& with_lr(double v) { lr = v; return *this; }
  AdamOptions& with_betas(double b1, double b2) { beta1 = b1; beta2 = b2; return *this; }
  AdamOptions& with_eps(double v) { eps = v; return *this; }
  AdamOptions& with_weight_decay(double v) { weight_decay = v; return *this; }
};

/// AdamW's options differ from Adam's only in the default weight decay (PyTorch's 1e-2).
struct AdamWOptions : AdamOptions {
  AdamWOptions() { weight_decay = 1e-2; }

  AdamWOptions& with_lr(double v) { lr = v; return *this; }
  AdamWOptions& with_betas(double b1, double b2) { beta1 = b1; beta2 = b2; return *this; }
  AdamWOptions& with_eps(double v) { eps = v; return *this; }
  AdamWOptions& with_weight_decay(double v) { weight_decay = v; return *this; }
};

/// Buffers: "exp_avg", "exp_avg_sq".
template <class T>
class Adam : public Optimizer<T> {
 public:
  explicit Adam(ParameterList<T> params, const AdamOptions& options = {})
      : Adam(single_group(std::move(params)), options) {}
  explicit Adam(ParamGroups<T> groups, const AdamOptions& options = {});
  const AdamOptions& options() const { return options_; }

 protected:
  Adam(ParamGroups<T> groups, const AdamOptions& options, bool decoupled_weight_decay);
  void update(Parameter<T>& p, std::size_t index) override;

 private:
  AdamOptions options_;
  bool decoupled_;
  std::size_t exp_avg_ = 0, exp_avg_sq_ = 0;
};

/// Adam with decoupled weight decay (Loshchilov & Hutter): p *= 1 - lr·wd before the Adam
/// update, so the decay is not rescaled by the adaptive denominator.
template <class T>
class AdamW : public Adam<T> {
 public:
  explicit AdamW(ParameterList<T> params, const AdamWOptions& options = {})
      : AdamW(single_group(std::move(params)), options) {}
  explicit AdamW(ParamGroups<T> groups, const AdamWOptions& options = {})
      : Adam<T>(std::move(groups), options, /*decoupled_weight_decay=*/true) {}
};

}  // namespace tapenet
