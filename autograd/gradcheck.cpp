#include "autograd/gradcheck.hpp"

#include <cmath>
#include <random>
#include <sstream>

#include "autograd/ops.hpp"

namespace tapenet {

namespace {

// A scalar objective: ⟨R, f(x)⟩ with R drawn once from the output's shape.
class Objective {
 public:
  Objective(const GradcheckFn& f, std::uint64_t seed) : f_(f), seed_(seed) {}

  Var<double> build(Tape<double>& tape, const std::vector<Tensor<double>>& inputs, std::vector<Var<double>>& leaves) {
    leaves.clear();
    for (const auto& x : inputs) leaves.push_back(tape.input(x));
    Var<double> y = f_(tape, leaves);
    if (y.size() == 1) return sum(y);
    if (!has_projection_) {  // (a default xarray is 0-D with size 1, so size() can't tell)
      has_projection_ = true;
      std::mt19937_64 rng(seed_);
      std::normal_distribution<double> normal;
      projection_ = Tensor<double>::from_shape(y.shape());
      for (auto& r : projection_) r = normal(rng);
    }
    return sum(mask_mul(y, projection_));
  }

  double value(const std::vector<Tensor<double>>& inputs) {
    NoGradGuard no_grad;
    Tape<double> tape;
    std::vector<Var<double>> leaves;
    return build(tape, inputs, leaves).item();
  }

 private:
  const GradcheckFn& f_;
  std::uint64_t seed_;
  Tensor<double> projection_;
  bool has_projection_ = false;
};

std::string index_str(const Tensor<double>& t, std::size_t flat) {
  std::vector<std::size_t> idx(t.dimension());
  for (std::size_t d = t.dimension(); d-- > 0;) {
    idx[d] = flat % t.shape()[d];
    flat /= t.shape()[d];
  }
  return shape_str(idx);
}

struct Comparison {
  const GradcheckOptions& opt;
  GradcheckResult& result;
  double worst_ratio = -1;

  void operator()(const std::string& what, const Tensor<double>& t, std::size_t i, double analytic, double numeric) {
    const double err = std::abs(analytic - numeric);
    const double allowed = opt.atol + opt.rtol * std::abs(numeric);
    result.max_abs_error = std::max(result.max_abs_error, err);
    result.max_rel_error = std::max(result.max_rel_error, err / std::max(std::abs(numeric), 1e-12));
    ++result.checked;
    if (!(err <= allowed)) result.ok = false;  // also catches NaN
    const double ratio = std::isnan(err) ? INFINITY : err / allowed;
    if (ratio > worst_ratio) {
      worst_ratio = ratio;
      std::ostringstream s;
      s.precision(10);
      s << what << " at " << index_str(t, i) << ": analytic " << analytic << ", numeric " << numeric;
      result.worst = s.str();
    }
  }
};

}  // namespace

std::string GradcheckResult::message() const {
  std::ostringstream s;
  s << (ok ? "gradcheck passed" : "gradcheck FAILED") << " over " << checked << " entries: max abs error "
    << max_abs_error << ", max rel error " << max_rel_error << "; worst " << worst;
  return s.str();
}

GradcheckResult gradcheck(const GradcheckFn& f, const std::vector<Tensor<double>>& inputs,
                          const ParameterList<double>& params, const GradcheckOptions& opt) {
  Objective objective(f, opt.seed);
  // Analytic gradients; parameters' existing gradients are set aside and restored.
  std::vector<Tensor<double>> saved_param_grads;
  for (auto* p : params) {
    saved_param_grads.push_back(p->grad);
    p->zero_grad();
  }
  std::vector<Tensor<double>> input_grads;
  std::vector<Tensor<double>> param_grads;
  {
    Tape<double> tape;
    std::vector<Var<double>> leaves;
    Var<double> loss = objective.build(tape, inputs, leaves);
    if (loss.requires_grad()) tape.backward(loss);
    for (const auto& v : leaves)
      input_grads.push_back(v.has_grad() ? v.grad() : zeros<double>(to_shape(v.shape())));
  }
  for (std::size_t k = 0; k < params.size(); ++k) {
    param_grads.push_back(params[k]->grad);
    params[k]->grad = saved_param_grads[k];
  }

  GradcheckResult result;
  Comparison compare{opt, result};
  // (f(x + eps) - f(x - eps)) / 2eps for one entry x of `point` (inputs or a parameter).
  auto central_difference = [&](double& x, const std::vector<Tensor<double>>& point) {
    const double orig = x;
    x = orig + opt.eps;
    const double plus = objective.value(point);
    x = orig - opt.eps;
    const double minus = objective.value(point);
    x = orig;
    return (plus - minus) / (2 * opt.eps);
  };
  std::vector<Tensor<double>> perturbed = inputs;
  for (std::size_t k = 0; k < perturbed.size(); ++k)
    for (std::size_t i = 0; i < perturbed[k].size(); ++i) {
      const double numeric = central_difference(perturbed[k].data()[i], perturbed);
      compare("input " + std::to_string(k), perturbed[k], i, input_grads[k].data()[i], numeric);
    }
  for (std::size_t k = 0; k < params.size(); ++k)
    for (std::size_t i = 0; i < params[k]->size(); ++i) {
      const double numeric = central_difference(params[k]->value.data()[i], inputs);
      compare("parameter '" + params[k]->name + "'", params[k]->value, i, param_grads[k].data()[i], numeric);
    }
  return result;
}

}  // namespace tapenet
