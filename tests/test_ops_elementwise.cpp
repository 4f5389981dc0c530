// Elementwise ops of issue 16: abs, softplus, log_sigmoid, leaky_relu, elu, gelu, maximum,
// minimum, where. Gradients by central differences (tapenet::gradcheck), values against
// constants computed independently (Python's math module from the torch formulas).
#define BOOST_TEST_MODULE ops_elementwise
#include "tests/ops_testing.hpp"

#include <limits>

using namespace tapenet;
using namespace tapenet::testing;

namespace {

const Tn kX = tensor({5}, {-2.5, -0.3, 0.0, 0.4, 3.0});

Tn forward(V (*f)(V), const Tn& x) {
  Tape<double> tape;
  return f(tape.input(x)).value();
}

V leaky(V x) { return leaky_relu(x, 0.1); }
V elu07(V x) { return elu(x, 0.7); }

}  // namespace

BOOST_AUTO_TEST_SUITE(unary)

BOOST_AUTO_TEST_CASE(values_against_independent_constants) {
  CHECK_CLOSE(forward(&abs<double>, kX), tensor({5}, {2.5, 0.3, 0.0, 0.4, 3.0}), 1e-15);
  CHECK_CLOSE(forward(&softplus<double>, kX),
              tensor({5}, {0.0788897342925496, 0.554355244468527, 0.693147180559945, 0.913015252399953, 3.04858735157374}), 1e-13);
  CHECK_CLOSE(forward(&log_sigmoid<double>, kX),
              tensor({5}, {-2.57888973429255, -0.854355244468527, -0.693147180559945, -0.513015252399953, -0.0485873515737421}), 1e-13);
  CHECK_CLOSE(forward(&leaky, kX), tensor({5}, {-0.25, -0.03, 0, 0.4, 3}), 1e-15);
  CHECK_CLOSE(forward(&elu07, kX), tensor({5}, {-0.642540500963271, -0.181427245522797, 0, 0.4, 3}), 1e-13);
  CHECK_CLOSE(forward(&gelu<double>, kX),
              tensor({5}, {-0.0155241633144404, -0.114626573343314, 0, 0.26216869664413, 2.99595030590511}), 1e-13);
}

BOOST_AUTO_TEST_CASE(float_matches_double) {
  Tape<float> tape;
  Tensor<float> xf = Tensor<float>::from_shape({5});
  for (std::size_t i = 0; i < 5; ++i) xf(i) = float(kX(i));
  Var<float> x = tape.input(xf);
  const std::vector<Tensor<float>> got = {abs(x).value(), softplus(x).value(), log_sigmoid(x).value(),
                                          leaky_relu(x, 0.1f).value(), elu(x, 0.7f).value(), gelu(x).value()};
  const std::vector<Tn> want = {forward(&abs<double>, kX), forward(&softplus<double>, kX), forward(&log_sigmoid<double>, kX),
                                forward(&leaky, kX),       forward(&elu07, kX),           forward(&gelu<double>, kX)};
  for (std::size_t k = 0; k < got.size(); ++k)
    for (std::size_t i = 0; i < 5; ++i) BOOST_TEST(std::abs(double(got[k](i)) - want[k](i)) < 1e-6);
}

BOOST_AUTO_TEST_CASE(softplus_and_log_sigmoid_are_stable) {
  Tape<double> tape;
  V x = tape.input(tensor({4}, {-800, -40, 40, 800}));
  CHECK_CLOSE(softplus(x).value(), tensor({4}, {0, std::exp(-40.0), 40 + std::exp(-40.0), 800}), 1e-15);
  CHECK_CLOSE(log_sigmoid(x).value(), tensor({4}, {-800, -40 - std::exp(-40.0), -std::exp(-40.0), 0}), 1e-15);
  tape.backward(sum(add(softplus(x), log_sigmoid(x))));  // σ(x) + σ(-x) = 1 everywhere, finite
  CHECK_CLOSE(x.grad(), tensor({4}, {1, 1, 1, 1}), 1e-15);
}

BOOST_AUTO_TEST_CASE(gradients_at_kinks_follow_torch) {
  Tape<double> tape;
  V x = tape.input(tensor({1}, {0.0}));
  tape.backward(sum(add(add(abs(x), leaky_relu(x, 0.25)), elu(x, 0.5))));
  BOOST_TEST(x.grad()(0) == 0.0 + 0.25 + 0.5);  // abs'(0) = 0, leaky' = slope, elu' = α at 0
}

BOOST_AUTO_TEST_CASE(gradcheck_each) {
  const std::vector<std::pair<const char*, V (*)(V)>> ops = {{"abs", &abs<double>},  {"softplus", &softplus<double>},
                                                              {"log_sigmoid", &log_sigmoid<double>}, {"leaky_relu", &leaky},
                                                              {"elu", &elu07},       {"gelu", &gelu<double>}};
  std::uint64_t seed = 100;
  for (const auto& [name, f] : ops)
    BOOST_TEST_CONTEXT(name) {
      auto op = f;
      GRADCHECK([op](Tape<double>&, const Inputs& x) { return op(x[0]); }, {away_from({3, 4}, seed++, {0.0}, -3, 3)});
    }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(selection)

BOOST_AUTO_TEST_CASE(maximum_minimum_values_and_ties) {
  Tape<double> tape;
  V a = tape.input(tensor({2, 3}, {1, 5, -2, 0, 3, 3}));
  V b = tape.input(tensor({3}, {2, 5, -4}));
  CHECK_CLOSE(maximum(a, b).value(), tensor({2, 3}, {2, 5, -2, 2, 5, 3}), 0);
  CHECK_CLOSE(minimum(a, b).value(), tensor({2, 3}, {1, 5, -4, 0, 3, -4}), 0);
  // Tie at a(0,1) = b(1) = 5: a takes the gradient.
  tape.backward(sum(maximum(a, b)));
  CHECK_CLOSE(a.grad(), tensor({2, 3}, {0, 1, 1, 0, 0, 1}), 0);
  CHECK_CLOSE(b.grad(), tensor({3}, {2, 1, 0}), 0);
}

BOOST_AUTO_TEST_CASE(maximum_minimum_gradcheck_with_broadcasting) {
  const std::vector<std::pair<Shape, Shape>> pairs = {{{3, 4}, {3, 4}}, {{3, 1}, {1, 4}}, {{2, 3, 4}, {4}}, {{1}, {2, 3}}};
  std::uint64_t seed = 200;
  for (const auto& [sa, sb] : pairs) {
    const Tn a = rnd(sa, seed++), b = rnd(sb, seed++);
    BOOST_TEST_CONTEXT(shape_str(sa) << " with " << shape_str(sb)) {
      GRADCHECK([](Tape<double>&, const Inputs& x) { return maximum(x[0], x[1]); }, {a, b});
      GRADCHECK([](Tape<double>&, const Inputs& x) { return minimum(x[0], x[1]); }, {a, b});
    }
  }
}

BOOST_AUTO_TEST_CASE(repeated_input) {
  // maximum(x, x) = x with every gradient to the first side; where(m, x, x) = x.
  const Tn m = tensor({2, 2}, {1, 0, 0, 1});
  GRADCHECK([](Tape<double>&, const Inputs& x) { return mul(maximum(x[0], x[0]), x[0]); }, {rnd({2, 2}, 3)});
  GRADCHECK([m](Tape<double>&, const Inputs& x) { return mul(where(m, x[0], x[0]), x[0]); }, {rnd({2, 2}, 4)});
  Tape<double> tape;
  V x = tape.input(rnd({2, 2}, 5));
  tape.backward(sum(add(maximum(x, x), where(m, x, x))));
  CHECK_CLOSE(x.grad(), tensor({2, 2}, {2, 2, 2, 2}), 0);
}

BOOST_AUTO_TEST_CASE(where_values_and_broadcast_gradcheck) {
  Tape<double> tape;
  const Tn mask = tensor({3, 1}, {1, 0, 2});
  V a = tape.input(tensor({1, 2}, {10, 20}));
  V b = tape.input(tensor({3, 2}, {1, 2, 3, 4, 5, 6}));
  CHECK_CLOSE(where(mask, a, b).value(), tensor({3, 2}, {10, 20, 3, 4, 10, 20}), 0);
  tape.backward(sum(where(mask, a, b)));
  CHECK_CLOSE(a.grad(), tensor({1, 2}, {2, 2}), 0);
  CHECK_CLOSE(b.grad(), tensor({3, 2}, {0, 0, 1, 1, 0, 0}), 0);
  GRADCHECK([mask](Tape<double>&, const Inputs& x) { return where(mask, x[0], x[1]); }, {rnd({1, 2}, 6), rnd({3, 2}, 7)});
  const Tn row_mask = tensor({4}, {0, 1, 1, 0});
  GRADCHECK([row_mask](Tape<double>&, const Inputs& x) { return where(row_mask, x[0], x[1]); }, {rnd({2, 3, 1}, 8), rnd({3, 4}, 9)});
}

BOOST_AUTO_TEST_CASE(shape_errors_name_the_op) {
  Tape<double> tape;
  V a = tape.input(rnd({2, 3}, 1)), b = tape.input(rnd({4}, 2));
  CHECK_SHAPE_ERROR(maximum(a, b), "maximum");
  CHECK_SHAPE_ERROR(minimum(a, b), "minimum");
  CHECK_SHAPE_ERROR(where(rnd({3}, 3), a, b), "where");
  CHECK_SHAPE_ERROR(where(rnd({2, 2}, 3), a, a), "where");
}

BOOST_AUTO_TEST_SUITE_END()
