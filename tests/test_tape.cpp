// Engine behaviour of the tape: accumulation, freeing and retaining, clear(), gradient mode,
// detach, seeds, anomaly mode, error messages, float, long unrolls, gradient sinks.
#define BOOST_TEST_MODULE tape
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <cstdint>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <xtensor/xmath.hpp>

#include "autograd/gradcheck.hpp"
#include "autograd/ops.hpp"
#include "autograd/parallel_batch.hpp"

using namespace tapenet;
using Tn = Tensor<double>;
using V = Var<double>;

namespace {

template <class T = double>
Tensor<T> rnd(const Shape& shape, std::uint64_t seed, double lo = -1.0, double hi = 1.0) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(lo, hi);
  Tensor<T> t = Tensor<T>::from_shape(shape);
  for (auto& v : t) v = static_cast<T>(u(rng));
  return t;
}

template <class A, class B>
std::pair<bool, std::string> close(const A& got, const B& want, double tol) {
  std::ostringstream s;
  s.precision(12);
  if (to_shape(got.shape()) != to_shape(want.shape())) {
    s << "shape " << shape_str(got.shape()) << " != " << shape_str(want.shape());
    return {false, s.str()};
  }
  double worst = 0;
  std::size_t at = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    const double d = std::abs(double(got.flat(i)) - double(want.flat(i)));
    if (!(d <= worst)) {
      worst = d;
      at = i;
    }
  }
  s << "max |got - want| = " << worst << " at flat " << at;
  if (got.size()) s << " (got " << got.flat(at) << ", want " << want.flat(at) << ")";
  return {worst <= tol, s.str()};
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

}  // namespace

#define CHECK_CLOSE(got, want, tol)              \
  do {                                           \
    const auto c_ = close((got), (want), (tol)); \
    BOOST_TEST(c_.first, c_.second);             \
  } while (0)

// Checks that `expr` throws E and that what() contains `part`.
#define CHECK_THROW_MSG(expr, E, part)                                                          \
  BOOST_CHECK_EXCEPTION(expr, E, [](const E& e_) {                                              \
    const bool ok_ = contains(e_.what(), part);                                                 \
    if (!ok_) BOOST_TEST_MESSAGE("message was: " << e_.what());                                 \
    return ok_;                                                                                 \
  })

// ---------------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(parameter_used_at_many_steps_accumulates_exactly) {
  // loss = Σ_t sum(p ⊙ c_t)  ->  dL/dp = Σ_t c_t (small integers: exact in floating point).
  Parameter<double> p("p", Tn({0.5, -1.5, 2.0}));
  std::vector<Tn> cs = {{1, 2, 3}, {-4, 0, 5}, {2, 2, -1}, {7, -3, 0}, {1, 1, 1}};
  Tape<double> tape;
  V loss;
  for (std::size_t t = 0; t < cs.size(); ++t) {
    V term = sum(mul(tape.param(p), tape.constant(cs[t])));
    loss = t == 0 ? term : add(loss, term);
  }
  BOOST_TEST(tape.param(p).id() == tape.param(p).id());  // one node per parameter per tape
  tape.backward(loss);
  const Tn want = {7, 2, 8};
  CHECK_CLOSE(p.grad, want, 0.0);

  // A second tape adds on top of the existing gradient (+=, not =).
  Tape<double> tape2;
  tape2.backward(sum(mul(tape2.param(p), tape2.constant(cs[0]))));
  CHECK_CLOSE(p.grad, Tn(want + cs[0]), 0.0);
  p.zero_grad();
  CHECK_CLOSE(p.grad, Tn(xt::zeros<double>({3})), 0.0);

  // Input leaves accumulate the same way, and the gradient matches the recurrence
  // h_{t+1} = h_t ⊙ p with h_0 = 1 used at many steps (d/dp Σ_t h_t).
  Tape<double> t3;
  V x = t3.input(Tn({2.0}));
  V acc = x;
  for (int i = 0; i < 6; ++i) acc = add(acc, x);
  t3.backward(acc);
  CHECK_CLOSE(x.grad(), Tn({7.0}), 0.0);
}

BOOST_AUTO_TEST_CASE(backward_twice_without_retain_throws_freed) {
  Tape<double> tape;
  V x = tape.input(Tn({1.0, 2.0}));
  V loss = sum(mul(x, x));
  tape.backward(loss);
  BOOST_TEST(tape.freed());
  CHECK_THROW_MSG(tape.backward(loss), TapeError, "freed");
  // The gradient from the first backward is untouched by the failed second call.
  CHECK_CLOSE(x.grad(), Tn({2.0, 4.0}), 0.0);
}

BOOST_AUTO_TEST_CASE(retain_graph_allows_second_backward_and_doubles) {
  Parameter<double> p("p", Tn({1.5, -0.5}));
  Tape<double> tape;
  V x = tape.input(Tn({1.0, 2.0, -3.0}));
  // Intermediate nodes between the leaves and the loss, each reached by a gradient.
  V h = tanh(mul_scalar(x, 0.5));
  V loss = add(sum(mul(h, h)), sum(square(tape.param(p))));
  tape.backward(loss, true);
  BOOST_TEST(!tape.freed());
  const Tn gx = x.grad();
  const Tn gp = p.grad;
  CHECK_CLOSE(gp, Tn(2.0 * p.value), 1e-15);
  tape.backward(loss);
  CHECK_CLOSE(x.grad(), Tn(2.0 * gx), 1e-15);
  CHECK_CLOSE(p.grad, Tn(2.0 * gp), 1e-15);
  BOOST_TEST(tape.freed());
  CHECK_THROW_MSG(tape.backward(loss), TapeError, "freed");
}

BOOST_AUTO_TEST_CASE(retain_graph_two_losses_sharing_a_subgraph) {
  // backward(l1, retain) then backward(l2) must give dl1/dx + dl2/dx, nothing more.
  Tape<double> tape;
  V x = tape.input(Tn({0.3, -0.7}));
  V h = exp(x);
  V l1 = sum(h);
  V l2 = sum(mul_scalar(h, 3.0));
  tape.backward(l1, true);
  tape.backward(l2);
  CHECK_CLOSE(x.grad(), Tn(4.0 * xt::exp(x.value())), 1e-14);
}

BOOST_AUTO_TEST_CASE(clear_then_rerecord) {
  Parameter<double> p("p", Tn({2.0, 3.0}));
  Tape<double> tape;
  tape.backward(sum(mul(tape.param(p), tape.param(p))));
  CHECK_CLOSE(p.grad, Tn({4.0, 6.0}), 0.0);
  tape.clear();
  BOOST_TEST(tape.size() == 0u);
  BOOST_TEST(!tape.freed());
  p.zero_grad();
  p.value = Tn({-1.0, 5.0});  // parameters are borrowed: the new value is used
  V loss = sum(mul_scalar(tape.param(p), 3.0));
  BOOST_TEST(loss.item() == 12.0);
  tape.backward(loss);
  CHECK_CLOSE(p.grad, Tn({3.0, 3.0}), 0.0);
  // Repeated steps on one tape keep working.
  for (int step = 0; step < 3; ++step) {
    tape.clear();
    V x = tape.input(Tn({double(step)}));
    tape.backward(sum(square(x)));
    CHECK_CLOSE(x.grad(), Tn({2.0 * step}), 0.0);
  }
}

BOOST_AUTO_TEST_CASE(no_grad_guard_records_no_closures) {
  Tape<double> tape;
  V x = tape.input(Tn({1.0, 2.0}));
  V loss;
  BOOST_TEST(grad_enabled());
  {
    NoGradGuard guard;
    BOOST_TEST(!grad_enabled());
    {
      NoGradGuard nested;
      BOOST_TEST(!grad_enabled());
    }
    BOOST_TEST(!grad_enabled());  // nested guard restores the outer state
    V y = mul(x, x);
    loss = sum(y);
    BOOST_TEST(!y.requires_grad());
    BOOST_TEST(!static_cast<bool>(tape.node(y.id()).backward));
    BOOST_TEST(!static_cast<bool>(tape.node(loss.id()).backward));
  }
  BOOST_TEST(grad_enabled());
  BOOST_TEST(loss.item() == 5.0);  // values are still computed
  CHECK_THROW_MSG(tape.backward(loss), TapeError, "does not depend");
  // After the guard, recording resumes.
  V l2 = sum(mul(x, x));
  BOOST_TEST(l2.requires_grad());
  tape.backward(l2);
  CHECK_CLOSE(x.grad(), Tn({2.0, 4.0}), 0.0);
}

BOOST_AUTO_TEST_CASE(detach_cuts_gradient_flow) {
  Tape<double> tape;
  V x = tape.input(Tn({1.5, -2.0}));
  V d = detach(x);
  BOOST_TEST(!d.requires_grad());
  CHECK_CLOSE(d.value(), x.value(), 0.0);
  // d/dx sum(detach(x) * x) = x (not 2x).
  tape.backward(sum(mul(d, x)));
  CHECK_CLOSE(x.grad(), x.value(), 0.0);
  BOOST_TEST(!d.has_grad());
  BOOST_CHECK_THROW(d.grad(), TapeError);

  Tape<double> t2;
  V y = t2.input(Tn({1.0}));
  CHECK_THROW_MSG(t2.backward(sum(exp(detach(y)))), TapeError, "does not depend");
}

BOOST_AUTO_TEST_CASE(non_scalar_backward_needs_a_seed) {
  Tape<double> tape;
  V x = tape.input(rnd({2, 3}, 1));
  V y = mul_scalar(x, 3.0);
  CHECK_THROW_MSG(tape.backward(y), TapeError, "one element");
  BOOST_TEST(!tape.freed());  // the failed call freed nothing
  // With a seed: dx = 3 * seed.
  const Tn seed = {{1, 2, 3}, {-1, 0, 4}};
  BOOST_CHECK_THROW(tape.backward(y, Tn({1.0, 2.0}), true), ShapeError);
  tape.backward(y, seed);
  CHECK_CLOSE(x.grad(), Tn(3.0 * seed), 0.0);
}

BOOST_AUTO_TEST_CASE(backward_seed_through_a_chain) {
  // y = tanh(W x) seeded with s: dW = ((1 - y²) ⊙ s) xᵀ, against gradcheck-free hand formula.
  Tape<double> tape;
  const Tn W = rnd({3, 2}, 2), xv = rnd({2, 1}, 3), s = rnd({3, 1}, 4);
  V vw = tape.input(W), vx = tape.input(xv);
  V y = tanh(matmul(vw, vx));
  tape.backward(y, s);
  Tn want = Tn::from_shape({3, 2});
  for (std::size_t i = 0; i < 3; ++i)
    for (std::size_t j = 0; j < 2; ++j) {
      const double yi = y.value()(i, 0);
      want(i, j) = (1 - yi * yi) * s(i, 0) * xv(j, 0);
    }
  CHECK_CLOSE(vw.grad(), want, 1e-15);
}

BOOST_AUTO_TEST_CASE(backward_from_another_tape_throws) {
  Tape<double> a, b;
  V x = a.input(Tn({1.0}));
  BOOST_CHECK_THROW(b.backward(sum(x)), TapeError);
}

BOOST_AUTO_TEST_CASE(inputs_from_another_tape_throw_naming_the_op) {
  Tape<double> a, b;
  V x = a.input(rnd({2, 3}, 1)), y = b.input(rnd({2, 3}, 2)), z = a.input(rnd({2, 3}, 3));
  const std::size_t before = a.size();
  CHECK_THROW_MSG(add(x, y), TapeError, "add: input 2 is recorded on another tape");
  CHECK_THROW_MSG(mul(y, x), TapeError, "mul: input 2 is recorded on another tape");
  CHECK_THROW_MSG(concat(std::vector<V>{x, z, y}, 0), TapeError, "concat: input 3 is recorded on another tape");
  CHECK_THROW_MSG(bilinear(x, b.input(rnd({2, 3, 3}, 4)), z), TapeError, "bilinear: input 2");
  // matmul against a parameter of the other tape: both the one-row and the packed path.
  Parameter<double> W("W", rnd({3, 64}, 5));
  V Wb = b.param(W);
  CHECK_THROW_MSG(matmul(a.input(rnd({1, 3}, 6)), Wb), TapeError, "matmul: input 2 is recorded on another tape");
  CHECK_THROW_MSG(matmul(a.input(rnd({64, 3}, 7)), Wb), TapeError, "matmul: input 2 is recorded on another tape");
  Parameter<double> L("L", rnd({4, 3}, 9)), c("c", rnd({1, 4}, 10));
  CHECK_THROW_MSG(linear(x, b.param(L), a.param(c)), TapeError, "linear: input 2 is recorded on another tape");
  BOOST_TEST(a.size() == before + 3);  // the two matmul inputs and c; no op node
  // The same parameter on its own tape, and a value carried over as a constant, are fine.
  BOOST_CHECK_NO_THROW(matmul(a.input(rnd({64, 3}, 8)), a.param(W)));
  BOOST_CHECK_NO_THROW(add(x, a.constant(y.value())));
  BOOST_CHECK_NO_THROW(add(detach(x), z));
}

BOOST_AUTO_TEST_CASE(empty_or_stale_inputs_throw) {
  Tape<double> tape;
  V x = tape.input(Tn({1.0}));
  auto identity = [](Tape<double>&, const Tn&, const Tn&) {};
  CHECK_THROW_MSG(tape.record("custom", Tn({2.0}), {x, V()}, identity), TapeError, "custom: input 2 is an empty Var");
  V kept = tape.input(Tn({3.0}));  // node 1
  tape.clear();
  V fresh = tape.input(Tn({4.0}));  // node 0 again
  CHECK_THROW_MSG(add(fresh, kept), TapeError, "add: input 2 was recorded before this tape's clear()");
  BOOST_CHECK_NO_THROW(add(fresh, fresh));
}

BOOST_AUTO_TEST_CASE(parallel_batch_rejects_a_var_of_the_outer_tape) {
  Parameter<double> p("p", Tn({0.5, -1.0}));
  Tape<double> outer;
  V w_outer = outer.param(p);  // the mistake: a Var of the caller's tape used in every chunk
  auto wrong = [&](Tape<double>& t, std::size_t i) { return sum(mul(t.input(Tn({double(i), 1.0})), w_outer)); };
  CHECK_THROW_MSG(parallel_batch<double>(8, wrong, {2, 2}), TapeError, "mul: input 2 is recorded on another tape");
  auto right = [&](Tape<double>& t, std::size_t i) { return sum(mul(t.input(Tn({double(i), 1.0})), t.param(p))); };
  BOOST_CHECK_NO_THROW(parallel_batch<double>(8, right, {2, 2}));
}

BOOST_AUTO_TEST_CASE(anomaly_mode_names_the_op) {
  BOOST_TEST(!anomaly_detection());
  for (double bad : {-1.0, 0.0}) {
    BOOST_TEST_CONTEXT("log(" << bad << ")") {
      AnomalyGuard guard;
      BOOST_TEST(anomaly_detection());
      Tape<double> tape;
      V x = tape.input(Tn({1.0, bad}));
      CHECK_THROW_MSG(log(x), AnomalyError, "'log'");
      BOOST_CHECK_EXCEPTION(log(x), AnomalyError, [](const AnomalyError& e) { return contains(e.op(), "log"); });
    }
  }
  BOOST_TEST(!anomaly_detection());  // the guard restored the previous state
  {
    Tape<double> tape;
    V x = tape.input(Tn({1.0, -1.0}));
    V y;
    BOOST_CHECK_NO_THROW(y = log(x));
    BOOST_TEST(std::isnan(y.value()(1)));
  }
  {
    // Backward anomalies: sqrt'(0) = inf. The error names the node that received the bad
    // gradient: an op node ...
    AnomalyGuard guard;
    Tape<double> tape;
    V x = tape.input(Tn({0.0, 4.0}));
    V loss = sum(sqrt(mul_scalar(x, 1.0)));
    CHECK_THROW_MSG(tape.backward(loss), AnomalyError, "backward of 'mul_scalar' received a NaN/Inf");
  }
  {
    // ... or a leaf: an input, or a parameter by name.
    AnomalyGuard guard;
    Tape<double> tape;
    V x = tape.input(Tn({0.0, 4.0}));
    CHECK_THROW_MSG(tape.backward(sum(sqrt(x))), AnomalyError, "gradient of leaf 'input'");
    Parameter<double> W("W", Tn({1.0, 0.0}));
    Tape<double> t2;
    CHECK_THROW_MSG(t2.backward(sum(sqrt(t2.param(W)))), AnomalyError, "'W' received a NaN/Inf");
  }
  {
    // Off: the same graph runs through and leaves an Inf in the gradient.
    Tape<double> tape;
    V x = tape.input(Tn({0.0, 4.0}));
    BOOST_CHECK_NO_THROW(tape.backward(sum(sqrt(x))));
    BOOST_TEST(std::isinf(x.grad()(0)));
  }
  {
    AnomalyGuard off(false);
    BOOST_TEST(!anomaly_detection());
  }
}

BOOST_AUTO_TEST_CASE(shape_errors_name_the_op) {
  Tape<double> tape;
  V a = tape.input(rnd({3, 4}, 1)), b = tape.input(rnd({5, 2}, 2));
  BOOST_CHECK_EXCEPTION(matmul(a, b), ShapeError, [](const ShapeError& e) {
    BOOST_TEST(std::string(e.what()) == "matmul: [3,4] x [5,2]");
    BOOST_TEST(e.op() == "matmul");
    return std::string(e.what()) == "matmul: [3,4] x [5,2]";
  });
  V c = tape.input(rnd({5}, 3));
  BOOST_CHECK_EXCEPTION(add(a, c), ShapeError, [](const ShapeError& e) {
    BOOST_TEST_MESSAGE("add error: " << e.what());
    return e.op() == "add" && contains(e.what(), "add") && contains(e.what(), "[3,4]") && contains(e.what(), "[5]");
  });
  BOOST_CHECK_EXCEPTION(mul(a, c), ShapeError, [](const ShapeError& e) { return e.op() == "mul"; });
  // Errors are raised before anything is recorded.
  const std::size_t before = tape.size();
  BOOST_CHECK_THROW(sub(a, c), ShapeError);
  BOOST_TEST(tape.size() == before);

  V table = tape.input(rnd({4, 3}, 4));
  BOOST_CHECK_THROW(gather_rows(table, {0, 4}), std::out_of_range);
  BOOST_CHECK_THROW(gather_rows(table, {-1}), std::out_of_range);
  BOOST_CHECK_NO_THROW(gather_rows(table, {3, 0}));

  V logits = tape.input(rnd({2, 3}, 5));
  BOOST_CHECK_THROW(cross_entropy(logits, {0, 3}), std::out_of_range);
  BOOST_CHECK_THROW(cross_entropy(logits, {-2, 1}), std::out_of_range);
  BOOST_CHECK_THROW(nll(logits, {0, 7}), std::out_of_range);
  BOOST_CHECK_THROW(cross_entropy(logits, {0}), ShapeError);  // wrong number of targets
  BOOST_CHECK_NO_THROW(cross_entropy(logits, {-100, 2}));     // ignore_index is not range-checked
}

BOOST_AUTO_TEST_CASE(float_matches_double) {
  const Tn xd = rnd({4, 3}, 11), Wd = rnd({3, 5}, 12), bd = rnd({5}, 13);
  const std::vector<std::int64_t> targets = {4, 0, 2, 1};
  auto run = [&](auto tag) {
    using T = decltype(tag);
    Tensor<T> x = xt::cast<T>(xd), W = xt::cast<T>(Wd), b = xt::cast<T>(bd);
    Parameter<T> pw("W", W), pb("b", b);
    Tape<T> tape;
    Var<T> vx = tape.input(x);
    Var<T> h = sigmoid(add(matmul(vx, tape.param(pw)), tape.param(pb)));
    Var<T> loss = add(cross_entropy(h, targets), mean(square(h)));
    tape.backward(loss);
    return std::make_tuple(Tn(xt::cast<double>(pw.grad)), Tn(xt::cast<double>(pb.grad)),
                           Tn(xt::cast<double>(vx.grad())), double(loss.item()));
  };
  const auto [gw_f, gb_f, gx_f, l_f] = run(float{});
  const auto [gw_d, gb_d, gx_d, l_d] = run(double{});
  CHECK_CLOSE(gw_f, gw_d, 1e-5);
  CHECK_CLOSE(gb_f, gb_d, 1e-5);
  CHECK_CLOSE(gx_f, gx_d, 1e-5);
  BOOST_TEST(std::abs(l_f - l_d) < 1e-5);
  BOOST_TEST(xt::any(xt::abs(gw_d) > 1e-3));  // not trivially zero
}

BOOST_AUTO_TEST_CASE(long_unrolled_recurrence_no_stack_overflow) {
  // h_{t+1} = tanh(W h_t + x_t) for 10 000 steps; backward is one loop over the tape.
  const std::size_t H = 4, steps = 10000;
  Parameter<double> W("W", rnd({H, H}, 21, -0.1, 0.1));
  Tape<double> tape;
  V h0 = tape.input(zeros<double>({H, 1}));
  V h = h0;
  std::mt19937_64 rng(5);
  std::normal_distribution<double> normal;
  for (std::size_t t = 0; t < steps; ++t) {
    Tn xt_ = Tn::from_shape({H, 1});
    for (auto& v : xt_) v = normal(rng);
    h = tanh(add(matmul(tape.param(W), h), tape.constant(std::move(xt_))));
  }
  V loss = sum(h);
  tape.backward(loss);
  BOOST_TEST(xt::all(xt::isfinite(W.grad)));
  BOOST_TEST(xt::any(xt::not_equal(W.grad, 0.0)));
  BOOST_TEST(xt::all(xt::isfinite(h0.grad())));
  BOOST_TEST(tape.size() > 3 * steps);
  // The last step alone: dL/dW from step T is (1 - h_T²) h_{T-1}ᵀ; the total must differ
  // from zero and stay bounded (contraction with |W| small).
  BOOST_TEST(xt::amax(xt::abs(W.grad))() < 1e4);
}

BOOST_AUTO_TEST_CASE(gradient_sink_instead_of_parameter_grad) {
  Parameter<double> p("p", Tn({1.0, -2.0})), q("q", Tn({3.0})), unused("u", Tn({0.0}));
  GradientBuffer<double> buf;
  BOOST_TEST(buf.empty());
  auto record_and_backward = [&](Tape<double>& tape) {
    tape.param(unused);  // on the tape but reached by no gradient path
    V loss = add(sum(square(tape.param(p))), sum(mul_scalar(tape.param(q), 5.0)));
    tape.backward(loss);
  };
  Tape<double> tape;
  tape.set_gradient_sink(&buf);
  record_and_backward(tape);
  // Parameter::grad untouched; the buffer holds the gradients.
  CHECK_CLOSE(p.grad, Tn({0.0, 0.0}), 0.0);
  CHECK_CLOSE(q.grad, Tn({0.0}), 0.0);
  BOOST_TEST(!buf.empty());
  BOOST_REQUIRE(buf.find(&p) != nullptr);
  BOOST_REQUIRE(buf.find(&q) != nullptr);
  CHECK_CLOSE(*buf.find(&p), Tn({2.0, -4.0}), 0.0);
  CHECK_CLOSE(*buf.find(&q), Tn({5.0}), 0.0);
  BOOST_TEST(buf.find(&unused) == nullptr);

  // A second tape into the same buffer accumulates.
  Tape<double> tape2;
  tape2.set_gradient_sink(&buf);
  record_and_backward(tape2);
  CHECK_CLOSE(*buf.find(&p), Tn({4.0, -8.0}), 0.0);

  // Reduction into another buffer, then into the parameters.
  GradientBuffer<double> total;
  buf.add_into(total);
  buf.add_into(total);
  CHECK_CLOSE(*total.find(&q), Tn({20.0}), 0.0);
  total.add_into_parameters();
  CHECK_CLOSE(p.grad, Tn({8.0, -16.0}), 0.0);
  CHECK_CLOSE(q.grad, Tn({20.0}), 0.0);
  buf.clear();
  BOOST_TEST(buf.empty());

  // Resetting the sink to nullptr goes back to Parameter::grad.
  Tape<double> tape3;
  tape3.set_gradient_sink(nullptr);
  p.zero_grad();
  q.zero_grad();
  record_and_backward(tape3);
  CHECK_CLOSE(p.grad, Tn({2.0, -4.0}), 0.0);
  BOOST_TEST(buf.empty());
}

BOOST_AUTO_TEST_CASE(custom_op_via_record) {
  // A user op recorded with Tape::record composes with built-in ops and passes gradcheck.
  auto cube = [](V x) {
    Tn y = xt::pow(x.value(), 3.0);
    auto ix = x.id();
    return x.tape().record("cube", std::move(y), {x}, [ix](Tape<double>& t, const Tn& g, const Tn&) {
      t.accumulate(ix, Tn(3.0 * g * xt::square(t.value(ix))));
    });
  };
  const auto r = gradcheck([&](Tape<double>&, const std::vector<V>& v) { return tanh(cube(mul(v[0], v[1]))); },
                           {rnd({2, 3}, 31), rnd({2, 3}, 32)});
  BOOST_TEST(r.ok, r.message());
  Tape<double> tape;
  V x = tape.input(Tn({2.0}));
  V y = cube(x);
  BOOST_TEST(std::string(tape.node(y.id()).op) == "cube");
  tape.backward(y);
  CHECK_CLOSE(x.grad(), Tn({12.0}), 0.0);
}
