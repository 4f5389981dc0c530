// Optimizers: SGD (momentum, Nesterov), AdaGrad, RMSProp, Adam and AdamW, with PyTorch's
// update rules so results can be checked against torch.optim. As in DyNet's trainers, the
// base class owns what every optimizer shares — the parameter list, the learning rate,
// the step counter, optional gradient clipping and the per-parameter state buffers with
// their checkpointing — and a subclass only writes its update rule for one parameter.
//
// Typical loop:
//   Adam<float> opt(params, AdamOptions().with_lr(1e-3));
//   opt.set_clip_norm(5);            // optional, clips the global norm before each step
//   for (...) { opt.zero_grad(); tape.backward(loss); opt.step(); tape.clear(); }
//
// Options are plain structs: set fields directly, or chain the with_* setters.
// Instantiated for float and double.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "autograd/parameter.hpp"
#include "optim/clip.hpp"

namespace tapenet {

template <class T>
class Optimizer {
 public:
  // Checkpoint: "step" and "lr" as 1-element tensors, plus one tensor per parameter and
  // buffer, keyed "<parameter name>/<buffer>" (e.g. "fc.W/exp_avg"; an unnamed parameter
  // is called "#<index>").
  using StateDict = std::map<std::string, Tensor<T>>;

  Optimizer(ParameterList<T> params, T lr);
  virtual ~Optimizer() = default;

  // Applies one update from each p->grad. Gradients are left as they are (clipping, when
  // on, rescales them in place); call zero_grad() before the next backward().
  virtual void step();
  void zero_grad();

  T lr() const { return lr_; }
  void set_lr(T lr);
  // Updates applied so far (restored by load_state_dict).
  std::int64_t step_count() const { return step_; }
  const ParameterList<T>& parameters() const { return params_; }

  // Clip the global gradient norm to max_norm at the start of every step(); 0 (the
  // default) turns clipping off.
  void set_clip_norm(T max_norm);
  T clip_norm() const { return clip_norm_; }

  // Copies of the state. load_state_dict checks every key first (each required key
  // present with the right shape, no unknown key) and throws std::invalid_argument
  // naming the key before changing anything.
  virtual StateDict state_dict() const;
  virtual void load_state_dict(const StateDict& state);

 protected:
  // Registers a per-parameter buffer (one tensor shaped like each parameter, filled with
  // init) that state_dict() saves; returns the handle for buffer().
  std::size_t add_buffer(const std::string& name, T init = T(0));
  T* buffer(std::size_t handle, std::size_t param) { return buffers_[handle].tensors[param].data(); }

  // The update rule for parameter `index` of the list; step_count() already counts the
  // step being taken (1 on the first step).
  virtual void update(Parameter<T>& p, std::size_t index) = 0;

 private:
  struct Buffer {
    std::string name;
    std::vector<Tensor<T>> tensors;  // one per parameter
  };

  std::vector<std::string> param_keys() const;  // unique names used as key prefixes
  std::map<std::string, Shape> expected_shapes() const;
  void check_shapes() const;

  ParameterList<T> params_;
  T lr_;
  T clip_norm_ = T(0);
  std::int64_t step_ = 0;
  std::vector<Buffer> buffers_;
};

// ---- SGD ------------------------------------------------------------------------------

struct SGDOptions {
  double lr = 0.01;
  double momentum = 0;
  double dampening = 0;
  bool nesterov = false;  // needs momentum > 0 and dampening 0
  double weight_decay = 0;

  SGDOptions& with_lr(double v) { lr = v; return *this; }
  SGDOptions& with_momentum(double v) { momentum = v; return *this; }
  SGDOptions& with_dampening(double v) { dampening = v; return *this; }
  SGDOptions& with_nesterov(bool v = true) { nesterov = v; return *this; }
  SGDOptions& with_weight_decay(double v) { weight_decay = v; return *this; }
};

// Buffer: "momentum_buffer" (only when momentum > 0).
template <class T>
class SGD : public Optimizer<T> {
 public:
  explicit SGD(ParameterList<T> params, const SGDOptions& options = {});
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
  double lr_decay = 0;  // lr_t = lr / (1 + (t - 1) * lr_decay)
  double weight_decay = 0;
  double initial_accumulator_value = 0;
  double eps = 1e-10;

  AdaGradOptions& with_lr(double v) { lr = v; return *this; }
  AdaGradOptions& with_lr_decay(double v) { lr_decay = v; return *this; }
  AdaGradOptions& with_weight_decay(double v) { weight_decay = v; return *this; }
  AdaGradOptions& with_initial_accumulator_value(double v) { initial_accumulator_value = v; return *this; }
  AdaGradOptions& with_eps(double v) { eps = v; return *this; }
};

// Buffer: "sum".
template <class T>
class AdaGrad : public Optimizer<T> {
 public:
  explicit AdaGrad(ParameterList<T> params, const AdaGradOptions& options = {});
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
  bool centered = false;  // divide by the estimated variance instead of the raw 2nd moment

  RMSPropOptions& with_lr(double v) { lr = v; return *this; }
  RMSPropOptions& with_alpha(double v) { alpha = v; return *this; }
  RMSPropOptions& with_eps(double v) { eps = v; return *this; }
  RMSPropOptions& with_weight_decay(double v) { weight_decay = v; return *this; }
  RMSPropOptions& with_momentum(double v) { momentum = v; return *this; }
  RMSPropOptions& with_centered(bool v = true) { centered = v; return *this; }
};

// Buffers: "square_avg", plus "momentum_buffer" when momentum > 0 and "grad_avg" when
// centered.
template <class T>
class RMSProp : public Optimizer<T> {
 public:
  explicit RMSProp(ParameterList<T> params, const RMSPropOptions& options = {});
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
  double weight_decay = 0;  // Adam: L2 added to the gradient; AdamW: decoupled

  AdamOptions& with_lr(double v) { lr = v; return *this; }
  AdamOptions& with_betas(double b1, double b2) { beta1 = b1; beta2 = b2; return *this; }
  AdamOptions& with_eps(double v) { eps = v; return *this; }
  AdamOptions& with_weight_decay(double v) { weight_decay = v; return *this; }
};

// AdamW's options differ from Adam's only in the default weight decay (PyTorch's 1e-2).
struct AdamWOptions : AdamOptions {
  AdamWOptions() { weight_decay = 1e-2; }

  AdamWOptions& with_lr(double v) { lr = v; return *this; }
  AdamWOptions& with_betas(double b1, double b2) { beta1 = b1; beta2 = b2; return *this; }
  AdamWOptions& with_eps(double v) { eps = v; return *this; }
  AdamWOptions& with_weight_decay(double v) { weight_decay = v; return *this; }
};

// Buffers: "exp_avg", "exp_avg_sq".
template <class T>
class Adam : public Optimizer<T> {
 public:
  explicit Adam(ParameterList<T> params, const AdamOptions& options = {});
  const AdamOptions& options() const { return options_; }

 protected:
  Adam(ParameterList<T> params, const AdamOptions& options, bool decoupled_weight_decay);
  void update(Parameter<T>& p, std::size_t index) override;

 private:
  AdamOptions options_;
  bool decoupled_;
  std::size_t exp_avg_ = 0, exp_avg_sq_ = 0;
};

// Adam with decoupled weight decay (Loshchilov & Hutter): p *= 1 - lr·wd before the Adam
// update, so the decay is not rescaled by the adaptive denominator.
template <class T>
class AdamW : public Adam<T> {
 public:
  explicit AdamW(ParameterList<T> params, const AdamWOptions& options = {})
      : Adam<T>(std::move(params), options, /*decoupled_weight_decay=*/true) {}
};

}  // namespace tapenet
