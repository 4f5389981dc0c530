// Parameter groups (lr scale, weight decay, active rows), reset_state, OptimizerSet, the
// early-stopping helpers and the learning-rate plateau schedule. Expected values come from
// the update equations written out here or from separate optimizers over the groups' parameters.
#define BOOST_TEST_MODULE param_groups
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <cstring>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "layers/tree_nets.hpp"
#include "optim/early_stopping.hpp"
#include "optim/lr_plateau.hpp"
#include "optim/optimizer.hpp"
#include "optim/optimizer_set.hpp"
#include "optim/weight_decay.hpp"
#include "tests/testing.hpp"

using namespace tapenet;
using tapenet::testing::max_abs_diff;
using tapenet::testing::randomise;

namespace {

bool bitwise_equal(const Tensor<double>& a, const Tensor<double>& b) {
  return a.shape() == b.shape() && std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0;
}

// Two parameters and gradients that change every step.
struct Pair {
  Parameter<double> a{"a", Tensor<double>{{1.0, -2.0}, {0.5, 3.0}}};
  Parameter<double> b{"b", Tensor<double>{0.25, -0.75, 2.0}};
  void set_grads(int t) {
    a.grad = Tensor<double>{{0.3 - t, 0.1 * t}, {-1.0, 0.02 * t * t}};
    b.grad = Tensor<double>{0.5, -0.4 + t, 0.7};
  }
};

}  // namespace

// ---- learning-rate scale ---------------------------------------------------------------------

// A group with lr_scale s steps as a separate optimizer at lr·s; the unscaled group exactly
// as a separate optimizer at lr.
BOOST_AUTO_TEST_CASE(groups_with_different_lr_match_separate_optimizers) {
  for (double scale : {0.5, 3.0}) {
    BOOST_TEST_CONTEXT("lr_scale " << scale) {
      Pair grouped, alone;
      AdaGrad<double> both({ParamGroup<double>({&grouped.a}), ParamGroup<double>({&grouped.b}).with_lr_scale(scale)},
                           AdaGradOptions().with_lr(0.1));
      AdaGrad<double> only_a({&alone.a}, AdaGradOptions().with_lr(0.1));
      AdaGrad<double> only_b({&alone.b}, AdaGradOptions().with_lr(0.1 * scale));
      for (int t = 0; t < 4; ++t) {
        grouped.set_grads(t);
        alone.set_grads(t);
        both.step();
        only_a.step();
        only_b.step();
      }
      BOOST_TEST(bitwise_equal(grouped.a.value, alone.a.value));
      BOOST_TEST(max_abs_diff(grouped.b.value, alone.b.value) < 1e-14);
      // The rule's state is that of lr_scale 1: the sums of g² do not depend on lr.
      BOOST_TEST(bitwise_equal(both.state_dict().at("b/sum"), only_b.state_dict().at("b/sum")));
      // and the scaled group really moved differently from an unscaled one
      Pair unscaled;
      AdaGrad<double> plain({&unscaled.b}, AdaGradOptions().with_lr(0.1));
      for (int t = 0; t < 4; ++t) {
        unscaled.set_grads(t);
        plain.step();
      }
      BOOST_TEST(max_abs_diff(unscaled.b.value, grouped.b.value) > 1e-3);
    }
  }
}

// ---- weight decay ----------------------------------------------------------------------------

// SGD: θ -= lr·(g + λ_group·θ); a group without its own λ takes the options' weight_decay.
BOOST_AUTO_TEST_CASE(weight_decay_per_group_follows_the_hand_formula) {
  Parameter<double> a("a", Tensor<double>{1.0, -2.0}), b("b", Tensor<double>{0.5, 4.0}), c("c", Tensor<double>{3.0});
  SGD<double> opt({ParamGroup<double>({&a}).with_weight_decay(0.1), ParamGroup<double>({&b}).with_weight_decay(0.0),
                   ParamGroup<double>({&c})},
                  SGDOptions().with_lr(0.5).with_weight_decay(0.2));
  double pa[2] = {1.0, -2.0}, pb[2] = {0.5, 4.0}, pc = 3.0;
  for (int t = 0; t < 3; ++t) {
    a.grad = Tensor<double>{0.5, -0.25};
    b.grad = Tensor<double>{1.0, 1.0};
    c.grad = Tensor<double>{-1.0};
    const double penalty = 0.1 / 2 * (pa[0] * pa[0] + pa[1] * pa[1]) + 0.2 / 2 * pc * pc;
    opt.step();
    pa[0] -= 0.5 * (0.5 + 0.1 * pa[0]);
    pa[1] -= 0.5 * (-0.25 + 0.1 * pa[1]);
    pb[0] -= 0.5 * 1.0;
    pb[1] -= 0.5 * 1.0;
    pc -= 0.5 * (-1.0 + 0.2 * pc);
    BOOST_TEST(opt.weight_decay_penalty() == penalty, boost::test_tools::tolerance(1e-14));
    BOOST_TEST(a.value(0) == pa[0], boost::test_tools::tolerance(1e-14));
    BOOST_TEST(a.value(1) == pa[1], boost::test_tools::tolerance(1e-14));
    BOOST_TEST(b.value(0) == pb[0], boost::test_tools::tolerance(1e-14));
    BOOST_TEST(b.value(1) == pb[1], boost::test_tools::tolerance(1e-14));
    BOOST_TEST(c.value(0) == pc, boost::test_tools::tolerance(1e-14));
  }
}

// The coupled decay is in the gradient the clip sees: g = clip(grad + λθ).
BOOST_AUTO_TEST_CASE(clipping_sees_the_decayed_gradient) {
  Parameter<double> p("w", Tensor<double>{10.0, 0.0});
  SGD<double> opt({ParamGroup<double>({&p}).with_weight_decay(0.3)}, SGDOptions().with_lr(1));
  opt.set_clip_norm(1);
  p.grad = Tensor<double>{0.0, 4.0};  // + 0.3·θ = (3, 4): norm 5
  opt.step();
  const double scale = 1 / (5 + 1e-6);
  BOOST_TEST(p.grad(0) == 3 * scale, boost::test_tools::tolerance(1e-14));
  BOOST_TEST(p.value(0) == 10 - 3 * scale, boost::test_tools::tolerance(1e-14));
  BOOST_TEST(p.value(1) == -4 * scale, boost::test_tools::tolerance(1e-14));
}

// decay_active_rows_only: λ·θ on the listed rows only, once each, for the next step only.
BOOST_AUTO_TEST_CASE(weight_decay_on_the_active_rows_only) {
  Parameter<double> table("table", Tensor<double>{{1.0, 2.0}, {3.0, 4.0}, {5.0, 6.0}});
  SGD<double> opt({ParamGroup<double>({&table}).with_weight_decay(0.5).with_decay_active_rows_only()},
                  SGDOptions().with_lr(0));
  table.grad.fill(1.0);
  opt.set_active_rows(0, {2, 0, 2, 2});
  opt.step();
  const Tensor<double> expected{{1.5, 2.0}, {1.0, 1.0}, {3.5, 4.0}};
  BOOST_TEST(bitwise_equal(table.grad, expected));
  BOOST_TEST(opt.weight_decay_penalty() == 0.25 * (1 + 4 + 25 + 36), boost::test_tools::tolerance(1e-14));
  table.grad.fill(1.0);
  opt.step();  // the rows were forgotten
  BOOST_TEST(opt.weight_decay_penalty() == 0.0);
  for (double g : table.grad) BOOST_TEST(g == 1.0);
  BOOST_CHECK_THROW(opt.set_active_rows(0, {3}), std::out_of_range);
  BOOST_CHECK_THROW(opt.set_active_rows(0, {-1}), std::out_of_range);
  BOOST_CHECK_THROW(add_l2_rows(table, 0.5, {3}), std::out_of_range);
  Parameter<double> other("other", Tensor<double>{1.0});
  SGD<double> plain({&other});
  BOOST_CHECK_THROW(plain.set_active_rows(0, {0}), std::invalid_argument);  // not a rows-only group
}

// TreeNet's parameter classes as groups, each with its λ (CoreNLP's per-class L2).
BOOST_AUTO_TEST_CASE(per_class_l2_of_a_tree_net) {
  std::mt19937_64 rng(23);
  TreeNet<double> net(10, 4, 5, TreeModel::TreeLSTM, rng);
  randomise(net, 24);
  const std::vector<std::pair<ParamClass, double>> lambdas = {
      {ParamClass::Composition, 1e-3}, {ParamClass::Bias, 0.5}, {ParamClass::Classifier, 1e-4}, {ParamClass::WordVectors, 2e-4}};
  ParamGroups<double> groups;
  for (const auto& [c, lambda] : lambdas) groups.push_back(ParamGroup<double>(net.parameters_of(c)).with_weight_decay(lambda));
  SGD<double> opt(groups, SGDOptions().with_lr(0));
  for (auto* p : net.parameters()) p->grad.fill(1.0);
  opt.step();
  double expected = 0;
  for (auto* p : net.parameters()) {
    double lambda = 0;
    for (const auto& [c, l] : lambdas)
      if (c == net.parameter_class(*p)) lambda = l;
    BOOST_TEST_CONTEXT(p->name << " λ " << lambda) {
      for (std::size_t i = 0; i < p->size(); ++i) {
        BOOST_TEST(p->grad.data()[i] == 1.0 + lambda * p->value.data()[i], boost::test_tools::tolerance(1e-15));
        expected += lambda / 2 * p->value.data()[i] * p->value.data()[i];
      }
    }
  }
  BOOST_TEST(opt.weight_decay_penalty() == expected, boost::test_tools::tolerance(1e-12));
}

BOOST_AUTO_TEST_CASE(groups_reject_bad_settings) {
  Parameter<double> a("a", Tensor<double>{1.0}), b("b", Tensor<double>{1.0});
  BOOST_CHECK_THROW(SGD<double>({ParamGroup<double>({&a}), ParamGroup<double>({&a, &b})}), std::invalid_argument);
  BOOST_CHECK_THROW(SGD<double>({ParamGroup<double>({&a}).with_lr_scale(-1)}), std::invalid_argument);
  BOOST_CHECK_THROW(SGD<double>({ParamGroup<double>({&a}).with_weight_decay(-0.1)}), std::invalid_argument);
  BOOST_CHECK_THROW(SGD<double>({ParamGroup<double>({&a, nullptr})}), std::invalid_argument);
}

// ---- reset_state -------------------------------------------------------------------------------

// Every buffer back to its initial value, step count and lr kept: the next AdaGrad step is a
// fresh optimizer's first step from the same values.
BOOST_AUTO_TEST_CASE(reset_state_refills_the_buffers_and_keeps_the_step) {
  Pair trained, fresh;
  AdaGrad<double> opt({&trained.a, &trained.b}, AdaGradOptions().with_lr(0.1).with_initial_accumulator_value(0.1));
  for (int t = 0; t < 3; ++t) {
    trained.set_grads(t);
    opt.step();
  }
  opt.set_lr(0.05);
  opt.reset_state();
  BOOST_TEST(opt.step_count() == 3);
  BOOST_TEST(opt.lr() == 0.05);
  for (const auto& [key, t] : opt.state_dict())
    if (key.size() > 4 && key.compare(key.size() - 4, 4, "/sum") == 0)
      for (double v : t) BOOST_TEST(v == 0.1);

  fresh.a.value = trained.a.value;
  fresh.b.value = trained.b.value;
  AdaGrad<double> new_opt({&fresh.a, &fresh.b}, AdaGradOptions().with_lr(0.05).with_initial_accumulator_value(0.1));
  trained.set_grads(7);
  fresh.set_grads(7);
  opt.step();
  new_opt.step();
  BOOST_TEST(bitwise_equal(trained.a.value, fresh.a.value));
  BOOST_TEST(bitwise_equal(trained.b.value, fresh.b.value));

  Adam<double> adam({&trained.a});
  trained.set_grads(1);
  adam.step();
  adam.reset_state();
  BOOST_TEST(adam.step_count() == 1);
  for (const auto& [key, t] : adam.state_dict())
    if (key != "step" && key != "lr")
      for (double v : t) BOOST_TEST(v == 0.0);
}

// ---- OptimizerSet ----------------------------------------------------------------------------------

// A set of an SGD group and an AdaGrad group equals the two optimizers stepped on their own.
BOOST_AUTO_TEST_CASE(optimizer_set_steps_each_group_with_its_rule) {
  Pair in_set, alone;
  OptimizerSet<double> set;
  set.add("", std::make_unique<AdaGrad<double>>(ParameterList<double>{&in_set.a}, AdaGradOptions().with_lr(0.1)));
  set.add("words/", std::make_unique<SGD<double>>(
                        ParamGroups<double>{ParamGroup<double>({&in_set.b}).with_weight_decay(0.01)}, SGDOptions().with_lr(0.2)));
  AdaGrad<double> adagrad({&alone.a}, AdaGradOptions().with_lr(0.1));
  SGD<double> sgd({&alone.b}, SGDOptions().with_lr(0.2).with_weight_decay(0.01));
  for (int t = 0; t < 3; ++t) {
    set.zero_grad();
    in_set.set_grads(t);
    alone.set_grads(t);
    set.step();
    adagrad.step();
    sgd.step();
  }
  BOOST_TEST(bitwise_equal(in_set.a.value, alone.a.value));
  BOOST_TEST(bitwise_equal(in_set.b.value, alone.b.value));
  BOOST_TEST(max_abs_diff(in_set.b.value, Tensor<double>{0.25, -0.75, 2.0}) > 0.1);  // SGD did move b

  // Keys: the first member's as they are, the second's under its prefix.
  const auto state = set.state_dict();
  std::vector<std::string> keys;
  for (const auto& entry : state) keys.push_back(entry.first);
  const std::vector<std::string> expected{"a/sum", "lr", "step", "words/lr", "words/step"};
  BOOST_TEST(keys == expected, boost::test_tools::per_element());

  // Round trip into a second set; a bad state changes no member.
  Pair copy;
  copy.a.value = in_set.a.value;
  copy.b.value = in_set.b.value;
  OptimizerSet<double> restored;
  restored.add("", std::make_unique<AdaGrad<double>>(ParameterList<double>{&copy.a}, AdaGradOptions().with_lr(0.1)));
  restored.add("words/", std::make_unique<SGD<double>>(
                             ParamGroups<double>{ParamGroup<double>({&copy.b}).with_weight_decay(0.01)}, SGDOptions().with_lr(0.2)));
  auto bad = state;
  bad.erase("words/step");
  BOOST_CHECK_THROW(restored.load_state_dict(bad), std::invalid_argument);
  BOOST_TEST(restored[0].step_count() == 0);
  restored.load_state_dict(state);
  BOOST_TEST(restored[0].step_count() == 3);
  BOOST_TEST(restored[1].step_count() == 3);
  in_set.set_grads(5);
  copy.set_grads(5);
  set.step();
  restored.step();
  BOOST_TEST(bitwise_equal(in_set.a.value, copy.a.value));
  BOOST_TEST(bitwise_equal(in_set.b.value, copy.b.value));

  BOOST_CHECK_THROW(set.add("other/", std::make_unique<SGD<double>>(ParameterList<double>{&in_set.a})), std::invalid_argument);
  Parameter<double> z("z", Tensor<double>{1.0});
  BOOST_CHECK_THROW(set.add("words/", std::make_unique<SGD<double>>(ParameterList<double>{&z})), std::invalid_argument);
}

// ---- early stopping --------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(early_stopping_keeps_the_best_epoch_and_stops_after_patience) {
  Parameter<double> p("w", Tensor<double>{0.0, 0.0});
  EarlyStopping<double> stopping({&p}, 2);
  BOOST_TEST(!stopping.best().has_score());
  const std::vector<double> scores = {40, 30, 55, 55, 50};  // a better epoch resets the count; a tie is not better
  for (std::size_t e = 0; e < scores.size(); ++e) {
    BOOST_TEST(!stopping.stop());
    p.value = Tensor<double>{double(e + 1), -double(e + 1)};
    stopping.offer(scores[e], int(e + 1));
  }
  BOOST_TEST(stopping.stop());
  BOOST_TEST(stopping.bad_epochs() == 2);
  BOOST_TEST(stopping.best().epoch() == 3);
  BOOST_TEST(stopping.best().score() == 55.0);
  stopping.best().restore();
  BOOST_TEST(bitwise_equal(p.value, Tensor<double>{3.0, -3.0}));
  BOOST_TEST(!stopping.offer(std::nan(""), 6));
  BOOST_CHECK_THROW(EarlyStopping<double>({&p}, -1), std::invalid_argument);
  EarlyStopping<double> keeper({&p}, 0);  // patience 0: keeps the best, never stops
  for (int e = 1; e <= 5; ++e) keeper.offer(-double(e), e);
  BOOST_TEST(!keeper.stop());
  BOOST_TEST(keeper.bad_epochs() == 4);
  BOOST_TEST(keeper.owns("trainer/bad_epochs"));
  BOOST_TEST(keeper.owns("best/" + p.name));
  BOOST_TEST(!keeper.owns("fc.W/exp_avg"));
}

// save/load through a checkpoint state map: the same keys, and a resumed helper decides as
// the original one.
BOOST_AUTO_TEST_CASE(early_stopping_save_load_round_trip) {
  Parameter<double> p("w", Tensor<double>{1.0, 2.0});
  EarlyStopping<double> stopping({&p}, 3);
  BestSnapshot<double> second({&p}, "best_binary");
  stopping.offer(61.5, 1);
  second.offer(70.25, 1);
  p.value = Tensor<double>{3.0, 4.0};
  stopping.offer(60.0, 2);
  std::map<std::string, Tensor<double>> state;
  stopping.save(state);
  second.save(state);
  std::vector<std::string> keys;
  for (const auto& entry : state) keys.push_back(entry.first);
  const std::vector<std::string> expected{"best/w", "best_binary/w", "trainer/bad_epochs", "trainer/best_binary_dev",
                                          "trainer/best_binary_epoch", "trainer/best_dev", "trainer/best_epoch"};
  BOOST_TEST(keys == expected, boost::test_tools::per_element());

  Parameter<double> q("w", Tensor<double>{9.0, 9.0});
  EarlyStopping<double> resumed({&q}, 3);
  BestSnapshot<double> resumed_second({&q}, "best_binary");
  BOOST_TEST(resumed_second.saved_in(state));
  resumed.load(state, "ckpt.npz");
  resumed_second.load(state, "ckpt.npz");
  BOOST_TEST(resumed.bad_epochs() == 1);
  BOOST_TEST(resumed.best().epoch() == 1);
  BOOST_TEST(resumed.best().score() == 61.5);
  BOOST_TEST(resumed_second.score() == 70.25);
  resumed.best().restore();
  BOOST_TEST(bitwise_equal(q.value, Tensor<double>{1.0, 2.0}));
  for (int e = 3; e <= 4; ++e) {
    BOOST_TEST(stopping.offer(50, e) == resumed.offer(50, e));
    BOOST_TEST(stopping.stop() == resumed.stop());
  }
  BOOST_TEST(resumed.stop());

  BestSnapshot<double> fallback({&q}, "best_binary");
  fallback.start_from(resumed.best());
  BOOST_TEST(fallback.epoch() == 1);
  BOOST_TEST(!fallback.has_score());

  auto missing = state;
  missing.erase("best/w");
  EarlyStopping<double> broken({&q}, 3);
  try {
    broken.load(missing, "ckpt.npz");
    BOOST_ERROR("expected std::runtime_error");
  } catch (const std::runtime_error& e) {
    BOOST_TEST(std::string(e.what()).find("ckpt.npz") != std::string::npos);
    BOOST_TEST(std::string(e.what()).find("best/w") != std::string::npos);
  }
  BOOST_TEST(broken.bad_epochs() == 0);
  BOOST_TEST(!broken.best().has_score());
}

// The rate is reduced at the (patience+1)-th bad evaluation in a row, as torch's
// ReduceLROnPlateau; a better evaluation resets the count; min_lr bounds it.
BOOST_AUTO_TEST_CASE(lr_plateau_reduces_after_patience_and_resumes_exactly) {
  ReduceLROnPlateau<float> schedule(1e-3, 0.5, 2, 2e-4);
  const std::vector<bool> improved = {true, false, false, false, true, false, false, false, false, false, false};
  std::vector<double> rates;
  std::vector<bool> changed;
  for (bool b : improved) {
    changed.push_back(schedule.step(b));
    rates.push_back(schedule.lr());
  }
  const std::vector<double> expected = {1e-3, 1e-3, 1e-3, 5e-4, 5e-4, 5e-4, 5e-4, 2.5e-4, 2.5e-4, 2.5e-4, 2e-4};
  BOOST_TEST(rates == expected, boost::test_tools::per_element());
  BOOST_TEST(changed[3]);
  BOOST_TEST(!changed[4]);
  BOOST_TEST(changed[10]);

  std::map<std::string, Tensor<float>> state;
  schedule.step(false);
  schedule.save(state);
  BOOST_TEST(state.size() == 2u);
  BOOST_TEST(schedule.owns("trainer/lr_plateau_reductions"));
  BOOST_TEST(!schedule.owns("trainer/bad_epochs"));
  ReduceLROnPlateau<float> resumed(1e-3, 0.5, 2, 2e-4);
  resumed.load(state, "ckpt.npz");
  BOOST_TEST(resumed.lr() == schedule.lr());
  BOOST_TEST(resumed.bad_evaluations() == 1);
  for (int k = 0; k < 5; ++k) {
    BOOST_TEST(resumed.step(false) == schedule.step(false));
    BOOST_TEST(resumed.lr() == schedule.lr());
  }
  resumed.set_base_lr(1e-2);  // a new --lr on resume: the reductions still apply
  BOOST_TEST(resumed.reductions() == 5);
  BOOST_TEST(resumed.lr() == 1e-2 * std::pow(0.5, 5));

  state.erase("trainer/lr_plateau_bad");
  try {
    resumed.load(state, "ckpt.npz");
    BOOST_ERROR("expected std::runtime_error");
  } catch (const std::runtime_error& e) {
    BOOST_TEST(std::string(e.what()).find("lr_plateau_bad") != std::string::npos);
  }
  BOOST_CHECK_THROW(ReduceLROnPlateau<float>(1e-3, 1.5, 2), std::invalid_argument);
  BOOST_CHECK_THROW(ReduceLROnPlateau<float>(0, 0.5, 2), std::invalid_argument);
  BOOST_CHECK_THROW(ReduceLROnPlateau<float>(1e-3, 0.5, -1), std::invalid_argument);
}
