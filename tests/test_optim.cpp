// Optimizers and clipping. The expected values are written out from the update equations
// (PyTorch's torch.optim rules), in double, independently of the implementation's loops.
#define BOOST_TEST_MODULE optim
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <cstring>
#include <functional>
#include <iomanip>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "optim/averaging.hpp"
#include "optim/clip.hpp"
#include "optim/optimizer.hpp"

using namespace tapenet;

namespace {

constexpr double kTol = 1e-12;

std::string str(double v) {
  std::ostringstream s;
  s << std::setprecision(17) << v;
  return s.str();
}

void check_close(double got, double expected, const std::string& what, double tol = kTol) {
  BOOST_CHECK_MESSAGE(std::abs(got - expected) <= tol,
                      what << ": got " << str(got) << ", expected " << str(expected));
}

// The fixed scenario of the hand-computed tests: p = (1, -1) and g = (0.5, -0.5) at every
// step. Every rule here is odd in (p, g), so the second coordinate must mirror the first.
// expected[t] is p[0] after step t + 1.
template <class Opt, class Options>
void expect_steps(const Options& options, const std::vector<double>& expected) {
  Parameter<double> p("w", Tensor<double>{1.0, -1.0});
  Opt opt({&p}, options);
  for (std::size_t t = 0; t < expected.size(); ++t) {
    p.grad = Tensor<double>{0.5, -0.5};
    opt.step();
    const std::string step = "step " + std::to_string(t + 1);
    check_close(p.value(0), expected[t], step);
    check_close(p.value(1), -expected[t], step + " (mirrored)");
  }
}

bool bitwise_equal(const Tensor<double>& a, const Tensor<double>& b) {
  return a.shape() == b.shape() && std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0;
}

bool same_state(const Optimizer<double>::StateDict& a, const Optimizer<double>::StateDict& b) {
  if (a.size() != b.size()) return false;
  for (const auto& [key, t] : a) {
    const auto it = b.find(key);
    if (it == b.end() || !bitwise_equal(t, it->second)) return false;
  }
  return true;
}

// Asserts that `f` throws std::invalid_argument whose message contains every `part`.
void expect_invalid(const std::function<void()>& f, const std::vector<std::string>& parts) {
  try {
    f();
    BOOST_ERROR("expected std::invalid_argument");
  } catch (const std::invalid_argument& e) {
    const std::string msg = e.what();
    for (const std::string& part : parts)
      BOOST_CHECK_MESSAGE(msg.find(part) != std::string::npos, "'" << msg << "' should mention '" << part << "'");
  }
}

}  // namespace

// ---- SGD ----------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(sgd_plain) {
  // p -= 0.1·0.5 each step
  expect_steps<SGD<double>>(SGDOptions().with_lr(0.1), {0.95, 0.9, 0.85});
}

BOOST_AUTO_TEST_CASE(sgd_momentum) {
  // buf: 0.5, 0.9·0.5 + 0.5 = 0.95, 0.9·0.95 + 0.5 = 1.355;  p -= 0.1·buf
  expect_steps<SGD<double>>(SGDOptions().with_lr(0.1).with_momentum(0.9), {0.95, 0.855, 0.7195});
}

BOOST_AUTO_TEST_CASE(sgd_nesterov_differs_from_momentum) {
  // buf as above; the step is g + 0.9·buf: 0.95, 1.355, 1.7195
  expect_steps<SGD<double>>(SGDOptions().with_lr(0.1).with_momentum(0.9).with_nesterov(),
                            {0.905, 0.7695, 0.59755});
}

BOOST_AUTO_TEST_CASE(sgd_dampening) {
  // buf: 0.5 (undamped first step), 0.9·0.5 + 0.5·0.5 = 0.7, 0.9·0.7 + 0.25 = 0.88
  expect_steps<SGD<double>>(SGDOptions().with_lr(0.1).with_momentum(0.9).with_dampening(0.5),
                            {0.95, 0.88, 0.792});
}

BOOST_AUTO_TEST_CASE(sgd_weight_decay) {
  // g = 0.5 + 0.1·p: 0.6, 0.594, 0.58806;  p -= 0.1·g
  expect_steps<SGD<double>>(SGDOptions().with_lr(0.1).with_weight_decay(0.1), {0.94, 0.8806, 0.821794});
}

BOOST_AUTO_TEST_CASE(sgd_momentum_with_weight_decay) {
  const double lr = 0.1, mu = 0.9, wd = 0.01;
  double p = 1, buf = 0;
  std::vector<double> expected;
  for (int t = 1; t <= 3; ++t) {
    const double g = 0.5 + wd * p;
    buf = t == 1 ? g : mu * buf + g;
    p -= lr * buf;
    expected.push_back(p);
  }
  expect_steps<SGD<double>>(SGDOptions().with_lr(lr).with_momentum(mu).with_weight_decay(wd), expected);
}

BOOST_AUTO_TEST_CASE(sgd_rejects_bad_options) {
  Parameter<double> p("w", Tensor<double>{1.0});
  expect_invalid([&] { SGD<double>({&p}, SGDOptions().with_nesterov()); }, {"Nesterov"});
  expect_invalid([&] { SGD<double>({&p}, SGDOptions().with_lr(-1)); }, {"lr"});
  expect_invalid([&] { SGD<double>({&p}, SGDOptions().with_momentum(-0.5)); }, {"momentum"});
  expect_invalid([&] { SGD<double>({&p, nullptr}); }, {"null"});
}

// ---- AdaGrad ------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(adagrad_plain) {
  // sum: 0.25, 0.5, 0.75;  p -= 0.1·0.5 / (sqrt(sum) + 1e-10)
  const double eps = 1e-10;
  const double p1 = 1 - 0.1 * 0.5 / (std::sqrt(0.25) + eps);
  const double p2 = p1 - 0.1 * 0.5 / (std::sqrt(0.5) + eps);
  const double p3 = p2 - 0.1 * 0.5 / (std::sqrt(0.75) + eps);
  check_close(p1, 0.9, "hand value of step 1", 1e-9);
  expect_steps<AdaGrad<double>>(AdaGradOptions().with_lr(0.1), {p1, p2, p3});
}

BOOST_AUTO_TEST_CASE(adagrad_accumulator_decay_and_weight_decay) {
  // lr_t = 0.1 / (1 + (t-1)·0.5);  g = 0.5 + 0.1·p;  sum starts at 0.1
  const double eps = 1e-10;
  const double g1 = 0.5 + 0.1 * 1, s1 = 0.1 + g1 * g1, p1 = 1 - 0.1 * g1 / (std::sqrt(s1) + eps);
  const double g2 = 0.5 + 0.1 * p1, s2 = s1 + g2 * g2, p2 = p1 - 0.1 / 1.5 * g2 / (std::sqrt(s2) + eps);
  const double g3 = 0.5 + 0.1 * p2, s3 = s2 + g3 * g3, p3 = p2 - 0.1 / 2.0 * g3 / (std::sqrt(s3) + eps);
  expect_steps<AdaGrad<double>>(AdaGradOptions()
                                    .with_lr(0.1)
                                    .with_lr_decay(0.5)
                                    .with_weight_decay(0.1)
                                    .with_initial_accumulator_value(0.1),
                                {p1, p2, p3});
}

// ---- RMSProp ------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(rmsprop_defaults) {
  // v = 0.99·v + 0.01·0.25;  p -= 0.01·0.5 / (sqrt(v) + 1e-8)
  const double eps = 1e-8;
  const double v1 = 0.0025, p1 = 1 - 0.01 * 0.5 / (std::sqrt(v1) + eps);
  const double v2 = 0.99 * v1 + 0.0025, p2 = p1 - 0.01 * 0.5 / (std::sqrt(v2) + eps);
  const double v3 = 0.99 * v2 + 0.0025, p3 = p2 - 0.01 * 0.5 / (std::sqrt(v3) + eps);
  expect_steps<RMSProp<double>>(RMSPropOptions(), {p1, p2, p3});
}

BOOST_AUTO_TEST_CASE(rmsprop_centered_momentum_weight_decay) {
  const double lr = 0.01, alpha = 0.9, eps = 1e-8, mu = 0.5, wd = 0.1;
  double p = 1, v = 0, mean = 0, buf = 0;
  std::vector<double> expected;
  for (int t = 1; t <= 3; ++t) {
    const double g = 0.5 + wd * p;
    v = alpha * v + (1 - alpha) * g * g;
    mean = alpha * mean + (1 - alpha) * g;
    buf = mu * buf + g / (std::sqrt(v - mean * mean) + eps);
    p -= lr * buf;
    expected.push_back(p);
  }
  expect_steps<RMSProp<double>>(RMSPropOptions()
                                    .with_lr(lr)
                                    .with_alpha(alpha)
                                    .with_momentum(mu)
                                    .with_weight_decay(wd)
                                    .with_centered(),
                                expected);
}

// ---- Adam / AdamW -------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(adam_constant_gradient) {
  // With a constant g the bias-corrected moments are exactly g and g², so every step moves
  // p by lr·g / (|g| + eps).
  const double delta = 0.01 * 0.5 / (0.5 + 1e-8);
  expect_steps<Adam<double>>(AdamOptions().with_lr(0.01), {1 - delta, 1 - 2 * delta, 1 - 3 * delta});
}

// Textbook Adam (Kingma & Ba) with L2 weight decay; AdamW decays p before the same update.
static std::vector<double> textbook_adam(double wd, bool decoupled) {
  const double lr = 0.01, b1 = 0.9, b2 = 0.999, eps = 1e-8;
  double p = 1, m = 0, v = 0;
  std::vector<double> expected;
  for (int t = 1; t <= 3; ++t) {
    double g = 0.5;
    if (decoupled) p *= 1 - lr * wd;
    else g += wd * p;
    m = b1 * m + (1 - b1) * g;
    v = b2 * v + (1 - b2) * g * g;
    const double m_hat = m / (1 - std::pow(b1, t)), v_hat = v / (1 - std::pow(b2, t));
    p -= lr * m_hat / (std::sqrt(v_hat) + eps);
    expected.push_back(p);
  }
  return expected;
}

BOOST_AUTO_TEST_CASE(adam_l2_weight_decay) {
  expect_steps<Adam<double>>(AdamOptions().with_lr(0.01).with_weight_decay(0.1), textbook_adam(0.1, false));
}

BOOST_AUTO_TEST_CASE(adamw_decoupled_weight_decay) {
  // p *= 1 - 0.01·0.1, then the constant-gradient Adam step lr·g / (|g| + eps).
  const double decay = 1 - 0.01 * 0.1, delta = 0.01 * 0.5 / (0.5 + 1e-8);
  const double p1 = 1 * decay - delta, p2 = p1 * decay - delta, p3 = p2 * decay - delta;
  const std::vector<double> adamw = textbook_adam(0.1, true);
  check_close(adamw[2], p3, "textbook AdamW vs the closed form");
  expect_steps<AdamW<double>>(AdamWOptions().with_lr(0.01).with_weight_decay(0.1), {p1, p2, p3});
}

BOOST_AUTO_TEST_CASE(adamw_differs_from_adam) {
  const std::vector<double> adam = textbook_adam(0.1, false), adamw = textbook_adam(0.1, true);
  BOOST_TEST(std::abs(adam[2] - adamw[2]) > 1e-6);
  // AdamW's default weight decay is PyTorch's 1e-2; Adam's is 0.
  BOOST_TEST(AdamWOptions().weight_decay == 1e-2);
  BOOST_TEST(AdamOptions().weight_decay == 0);
  Parameter<double> a("w", Tensor<double>{1.0}), b("w", Tensor<double>{1.0});
  Adam<double> adam_opt({&a}, AdamOptions().with_weight_decay(0.1));
  AdamW<double> adamw_opt({&b}, AdamWOptions().with_weight_decay(0.1));
  a.grad = b.grad = Tensor<double>{0.5};
  adam_opt.step();
  adamw_opt.step();
  BOOST_TEST(a.value(0) != b.value(0));
}

// Each parameter of a list is updated on its own: two parameters in one Adam equal two Adams.
BOOST_AUTO_TEST_CASE(adam_several_parameters) {
  Parameter<double> w("W", Tensor<double>{{1.0, -2.0, 3.0}, {0.5, 0.0, -1.0}}), b("b", Tensor<double>{0.1, 0.2});
  Parameter<double> w_alone = w, b_alone = b;
  Adam<double> both({&w, &b}, AdamOptions().with_lr(0.1));
  Adam<double> only_w({&w_alone}, AdamOptions().with_lr(0.1)), only_b({&b_alone}, AdamOptions().with_lr(0.1));
  for (int t = 0; t < 3; ++t) {
    w.grad = w_alone.grad = Tensor<double>{{0.3, -0.1 * t, 2.0}, {1.0, -0.7, 0.01 * t}};
    b.grad = b_alone.grad = Tensor<double>{-0.2 + t, 0.4};
    both.step();
    only_w.step();
    only_b.step();
  }
  BOOST_TEST(bitwise_equal(w.value, w_alone.value));
  BOOST_TEST(bitwise_equal(b.value, b_alone.value));
}

// ---- the shared base --------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(step_keeps_grads_zero_grad_clears_them) {
  Parameter<double> p("w", Tensor<double>{1.0, 2.0});
  SGD<double> opt({&p}, SGDOptions().with_lr(0.5));
  BOOST_TEST(opt.step_count() == 0);
  p.grad = Tensor<double>{1.0, 1.0};
  opt.step();
  BOOST_TEST(opt.step_count() == 1);
  BOOST_TEST(p.grad(0) == 1.0);  // step() does not zero
  opt.zero_grad();
  BOOST_TEST(p.grad(0) == 0.0);
  BOOST_TEST(p.grad(1) == 0.0);

  opt.set_lr(0.25);
  BOOST_TEST(opt.lr() == 0.25);
  p.grad = Tensor<double>{1.0, 1.0};
  opt.step();
  check_close(p.value(0), 1 - 0.5 - 0.25, "after lr change");
  expect_invalid([&] { opt.set_lr(-1); }, {"lr"});
}

BOOST_AUTO_TEST_CASE(step_rejects_grad_of_wrong_shape) {
  Parameter<double> p("w", Tensor<double>{1.0, 2.0});
  SGD<double> opt({&p});
  p.grad = Tensor<double>{1.0, 2.0, 3.0};
  expect_invalid([&] { opt.step(); }, {"'w'", "[3]", "[2]"});
  BOOST_TEST(opt.step_count() == 0);
}

BOOST_AUTO_TEST_CASE(optimizer_clip_norm_clips_before_the_update) {
  Parameter<double> p("w", Tensor<double>{0.0, 0.0});
  SGD<double> opt({&p}, SGDOptions().with_lr(1));
  opt.set_clip_norm(1);
  p.grad = Tensor<double>{3.0, 4.0};  // norm 5
  opt.step();
  const double scale = 1 / (5 + 1e-6);
  check_close(p.value(0), -3 * scale, "x");
  check_close(p.value(1), -4 * scale, "y");
}

// ---- clipping -------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(clip_grad_norm_rescales_to_max_norm) {
  Parameter<double> a("a", Tensor<double>{3.0, 4.0}), b("b", zeros<double>({1, 1}));
  a.grad = Tensor<double>{3.0, 4.0};
  b.grad = full<double>({1, 1}, 12.0);
  const ParameterList<double> params{&a, &b};
  check_close(grad_norm(params), 13, "global norm");  // sqrt(9 + 16 + 144)

  const double before = clip_grad_norm(params, 6.5);
  BOOST_TEST(before == 13.0);
  const double after = grad_norm(params);
  BOOST_TEST(std::abs(after - 6.5) / 6.5 <= 1e-6);
  // g *= 6.5 / (13 + 1e-6): the direction is kept.
  const double scale = 6.5 / (13 + 1e-6);
  check_close(a.grad(0), 3 * scale, "a[0]");
  check_close(a.grad(1), 4 * scale, "a[1]");
  check_close(b.grad(0, 0), 12 * scale, "b[0]");
}

BOOST_AUTO_TEST_CASE(clip_grad_norm_leaves_small_gradients_alone) {
  Parameter<double> a("a", Tensor<double>{0.0, 0.0});
  const ParameterList<double> params{&a};
  for (double max_norm : {20.0, 5.0}) {  // below and exactly at the threshold
    a.grad = Tensor<double>{3.0, 4.0};
    BOOST_TEST(clip_grad_norm(params, max_norm) == 5.0);
    BOOST_TEST(a.grad(0) == 3.0);
    BOOST_TEST(a.grad(1) == 4.0);
  }
  expect_invalid([&] { clip_grad_norm(params, -1.0); }, {"max_norm"});
}

BOOST_AUTO_TEST_CASE(clip_grad_norm_reports_non_finite_norm_untouched) {
  Parameter<double> a("a", Tensor<double>{0.0, 0.0});
  a.grad = Tensor<double>{NAN, 1.0};
  BOOST_TEST(std::isnan(clip_grad_norm(ParameterList<double>{&a}, 1.0)));
  BOOST_TEST(a.grad(1) == 1.0);
}

BOOST_AUTO_TEST_CASE(clip_grad_norm_float_accumulates_in_double) {
  // 10^6 gradients of 1e-3: the norm is exactly 1; a float running sum would drift.
  Parameter<float> a("a", zeros<float>({1000000}));
  a.grad.fill(1e-3f);
  const float norm = clip_grad_norm(ParameterList<float>{&a}, 0.5);  // a double literal is fine
  BOOST_TEST(std::abs(norm - 1.0f) <= 1e-6f);
  BOOST_TEST(std::abs(grad_norm(ParameterList<float>{&a}) - 0.5f) <= 1e-6f);
}

BOOST_AUTO_TEST_CASE(clip_grad_value_clamps_each_element) {
  Parameter<double> a("a", Tensor<double>{0.0, 0.0, 0.0, 0.0});
  a.grad = Tensor<double>{-3.0, 0.5, 2.0, -1.0};
  clip_grad_value(ParameterList<double>{&a}, 1.0);
  BOOST_TEST(a.grad(0) == -1.0);
  BOOST_TEST(a.grad(1) == 0.5);
  BOOST_TEST(a.grad(2) == 1.0);
  BOOST_TEST(a.grad(3) == -1.0);
  expect_invalid([&] { clip_grad_value(ParameterList<double>{&a}, -1.0); }, {"clip"});
}

// ---- checkpoints ------------------------------------------------------------------------------

using Factory = std::function<std::unique_ptr<Optimizer<double>>(ParameterList<double>)>;

static std::vector<std::pair<std::string, Factory>> all_optimizers() {
  return {
      {"sgd_nesterov",
       [](ParameterList<double> ps) {
         return std::make_unique<SGD<double>>(ps, SGDOptions().with_lr(0.1).with_momentum(0.9).with_nesterov().with_weight_decay(0.01));
       }},
      // Dampening and lr_decay depend on the restored step counter.
      {"sgd_dampening",
       [](ParameterList<double> ps) {
         return std::make_unique<SGD<double>>(ps, SGDOptions().with_lr(0.1).with_momentum(0.9).with_dampening(0.3));
       }},
      {"adagrad",
       [](ParameterList<double> ps) {
         return std::make_unique<AdaGrad<double>>(ps, AdaGradOptions().with_lr(0.1).with_lr_decay(0.1).with_initial_accumulator_value(0.1));
       }},
      {"rmsprop_centered",
       [](ParameterList<double> ps) {
         return std::make_unique<RMSProp<double>>(ps, RMSPropOptions().with_momentum(0.5).with_centered());
       }},
      {"adam", [](ParameterList<double> ps) { return std::make_unique<Adam<double>>(ps, AdamOptions().with_lr(0.01)); }},
      {"adamw", [](ParameterList<double> ps) { return std::make_unique<AdamW<double>>(ps, AdamWOptions().with_lr(0.01)); }},
  };
}

// Two parameters of different shapes and a gradient that changes every step.
struct Model {
  Parameter<double> w{"layer.W", Tensor<double>{{1.0, -2.0, 3.0}, {0.5, 0.25, -1.0}}};
  Parameter<double> b{"layer.b", Tensor<double>{0.1, -0.2, 0.3}};
  ParameterList<double> params() { return {&w, &b}; }
  void set_grads(int t) {
    w.grad = Tensor<double>{{0.3, -0.1 * t, 2.0}, {1.0 - t, -0.7, 0.01 * t}};
    b.grad = Tensor<double>{-0.2 + t, 0.4, 0.05 * t * t};
  }
};

BOOST_AUTO_TEST_CASE(state_dict_round_trip_is_bit_exact) {
  for (const auto& [name, make] : all_optimizers()) {
    BOOST_TEST_CONTEXT(name) {
      Model a, b;
      auto opt_a = make(a.params());
      for (int t = 0; t < 3; ++t) {
        a.set_grads(t);
        opt_a->step();
      }
      opt_a->set_lr(opt_a->lr() / 2);  // a scheduled lr must travel too

      // A checkpoint of the model values plus the optimizer state.
      b.w.value = a.w.value;
      b.b.value = a.b.value;
      auto opt_b = make(b.params());
      opt_b->load_state_dict(opt_a->state_dict());
      BOOST_TEST(opt_b->step_count() == 3);
      BOOST_TEST(opt_b->lr() == opt_a->lr());
      BOOST_TEST(same_state(opt_a->state_dict(), opt_b->state_dict()));

      for (int t = 3; t < 5; ++t) {
        a.set_grads(t);
        b.set_grads(t);
        opt_a->step();
        opt_b->step();
      }
      BOOST_TEST(bitwise_equal(a.w.value, b.w.value));
      BOOST_TEST(bitwise_equal(a.b.value, b.b.value));
    }
  }
}

BOOST_AUTO_TEST_CASE(state_dict_keys) {
  Model m;
  Adam<double> opt(m.params());
  const auto state = opt.state_dict();
  std::vector<std::string> keys;
  for (const auto& entry : state) keys.push_back(entry.first);
  const std::vector<std::string> expected{"layer.W/exp_avg", "layer.W/exp_avg_sq", "layer.b/exp_avg",
                                          "layer.b/exp_avg_sq", "lr", "step"};
  BOOST_TEST(keys == expected, boost::test_tools::per_element());
  BOOST_TEST(state.at("layer.W/exp_avg").shape() == m.w.value.shape());
  BOOST_TEST(state.at("lr").size() == 1u);

  // Unnamed parameters get "#<index>"; two parameters with one name cannot be saved.
  Parameter<double> unnamed("", Tensor<double>{1.0}), twin("layer.W", Tensor<double>{1.0});
  BOOST_TEST(SGD<double>({&unnamed}, SGDOptions().with_momentum(0.9)).state_dict().count("#0/momentum_buffer") == 1u);
  Adam<double> clash({&m.w, &twin});
  expect_invalid([&] { clash.state_dict(); }, {"layer.W"});
}

BOOST_AUTO_TEST_CASE(load_state_dict_rejects_bad_checkpoints_without_changes) {
  Model a, b;
  Adam<double> opt_a(a.params()), opt_b(b.params(), AdamOptions().with_lr(0.5));
  a.set_grads(1);
  opt_a.step();
  opt_a.step();
  b.set_grads(2);
  opt_b.step();
  const auto before = opt_b.state_dict();
  const auto good = opt_a.state_dict();

  auto missing = good;
  missing.erase("layer.b/exp_avg_sq");
  expect_invalid([&] { opt_b.load_state_dict(missing); }, {"missing", "layer.b/exp_avg_sq"});

  auto wrong_shape = good;
  wrong_shape["layer.W/exp_avg"] = zeros<double>({3, 2});
  expect_invalid([&] { opt_b.load_state_dict(wrong_shape); }, {"layer.W/exp_avg", "[3,2]", "[2,3]"});

  auto unexpected = good;
  unexpected["layer.W/momentum_buffer"] = zeros<double>({2, 3});
  expect_invalid([&] { opt_b.load_state_dict(unexpected); }, {"unexpected", "layer.W/momentum_buffer"});

  auto fractional_step = good;
  fractional_step["step"] = Tensor<double>{2.5};
  expect_invalid([&] { opt_b.load_state_dict(fractional_step); }, {"step"});

  BOOST_TEST(same_state(opt_b.state_dict(), before));
  BOOST_TEST(opt_b.step_count() == 1);
  BOOST_TEST(opt_b.lr() == 0.5);

  opt_b.load_state_dict(good);  // and a good one goes through
  BOOST_TEST(same_state(opt_b.state_dict(), good));
}

// ---- ParameterAverage ------------------------------------------------------------------------

// The debiased average after values θ_1..θ_t, written out as the weighted mean it is.
double weighted_mean(const std::vector<double>& values, double decay) {
  double num = 0, den = 0;
  for (std::size_t s = 0; s < values.size(); ++s) {
    const double w = (1 - decay) * std::pow(decay, double(values.size() - 1 - s));
    num += w * values[s];
    den += w;
  }
  return num / den;
}

BOOST_AUTO_TEST_CASE(parameter_average_is_the_debiased_weighted_mean) {
  Parameter<double> p("w", Tensor<double>{100.0, -100.0});  // the initial value must not leak in
  ParameterAverage<double> average({&p}, 0.9);
  std::vector<double> seen;
  for (int t = 1; t <= 6; ++t) {
    p.value = Tensor<double>{double(t * t), -double(t * t)};
    seen.push_back(t * t);
    average.update();
    check_close(average.averages()[0](0), weighted_mean(seen, 0.9), "update " + std::to_string(t));
    check_close(average.averages()[0](1), -weighted_mean(seen, 0.9), "update " + std::to_string(t) + " (mirrored)");
  }
  BOOST_TEST(average.update_count() == 6);

  ParameterAverage<double> last({&p}, 0.0);  // β = 0 keeps the last value
  last.update();
  check_close(last.averages()[0](0), 36.0, "decay 0");
}

BOOST_AUTO_TEST_CASE(parameter_average_swap_exchanges_and_restores) {
  Parameter<double> w("w", Tensor<double>{1.0, 2.0}), b("b", Tensor<double>{3.0});
  ParameterAverage<double> average({&w, &b}, 0.5);
  average.update();
  w.value = Tensor<double>{5.0, 6.0};
  b.value = Tensor<double>{7.0};
  average.update();
  const Tensor<double> trained_w = w.value, trained_b = b.value;
  average.swap();
  check_close(w.value(0), weighted_mean({1, 5}, 0.5), "w[0] swapped in");
  check_close(w.value(1), weighted_mean({2, 6}, 0.5), "w[1] swapped in");
  check_close(b.value(0), weighted_mean({3, 7}, 0.5), "b swapped in");
  average.swap();
  BOOST_TEST(bitwise_equal(w.value, trained_w));
  BOOST_TEST(bitwise_equal(b.value, trained_b));
}

BOOST_AUTO_TEST_CASE(parameter_average_state_round_trip_and_bad_states) {
  Parameter<double> w("w", Tensor<double>{1.0, 2.0}), b("b", Tensor<double>{3.0});
  ParameterAverage<double> a({&w, &b}, 0.9);
  for (int t = 0; t < 3; ++t) {
    w.value += 1.0;
    a.update();
  }
  const auto good = a.state_dict();
  BOOST_TEST(good.count("w/average") == 1u);
  BOOST_TEST(good.at("updates")(0) == 3.0);

  ParameterAverage<double> c({&w, &b}, 0.9);
  const auto before = c.state_dict();
  auto missing = good;
  missing.erase("b/average");
  expect_invalid([&] { c.load_state_dict(missing); }, {"b/average"});
  auto wrong_shape = good;
  wrong_shape["w/average"] = zeros<double>({3});
  expect_invalid([&] { c.load_state_dict(wrong_shape); }, {"w/average", "[3]", "[2]"});
  auto unexpected = good;
  unexpected["v/average"] = zeros<double>({1});
  expect_invalid([&] { c.load_state_dict(unexpected); }, {"unexpected", "v/average"});
  auto no_count = good;
  no_count.erase("updates");
  expect_invalid([&] { c.load_state_dict(no_count); }, {"updates"});
  BOOST_TEST(same_state(c.state_dict(), before));

  c.load_state_dict(good);  // the restored average continues exactly like the original
  w.value += 1.0;
  a.update();
  c.update();
  BOOST_TEST(same_state(c.state_dict(), a.state_dict()));
}

BOOST_AUTO_TEST_CASE(parameter_average_rejects_bad_options) {
  Parameter<double> w("w", Tensor<double>{1.0}), twin("w", Tensor<double>{2.0});
  expect_invalid([&] { ParameterAverage<double>({&w}, 1.0); }, {"decay", "[0, 1)"});
  expect_invalid([&] { ParameterAverage<double>({&w}, -0.1); }, {"decay"});
  expect_invalid([&] { ParameterAverage<double>({&w, &twin}, 0.9); }, {"'w'", "unique"});
}

// ---- float ------------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(float_instantiation_tracks_double) {
  Parameter<float> pf("w", Tensor<float>{1.0f, -2.0f, 0.5f});
  Parameter<double> pd("w", Tensor<double>{1.0, -2.0, 0.5});
  AdamW<float> opt_f({&pf}, AdamWOptions().with_lr(0.01));
  AdamW<double> opt_d({&pd}, AdamWOptions().with_lr(0.01));
  SGD<float> sgd_f({&pf}, SGDOptions().with_lr(0.1).with_momentum(0.9).with_nesterov());
  SGD<double> sgd_d({&pd}, SGDOptions().with_lr(0.1).with_momentum(0.9).with_nesterov());
  for (int t = 0; t < 3; ++t) {
    pf.grad = Tensor<float>{0.5f, -1.0f + t, 0.25f * t};
    pd.grad = Tensor<double>{0.5, -1.0 + t, 0.25 * t};
    opt_f.step();
    opt_d.step();
    sgd_f.step();
    sgd_d.step();
  }
  for (std::size_t k = 0; k < 3; ++k) check_close(pf.value(k), pd.value(k), "element " + std::to_string(k), 1e-6);

  // A float checkpoint round trip is exact too.
  Parameter<float> qf("w", pf.value);
  AdamW<float> copy({&qf}, AdamWOptions().with_lr(0.01));
  copy.load_state_dict(opt_f.state_dict());
  pf.grad = qf.grad = Tensor<float>{0.1f, 0.2f, 0.3f};
  opt_f.step();
  copy.step();
  BOOST_TEST(std::memcmp(pf.value.data(), qf.value.data(), 3 * sizeof(float)) == 0);
}
