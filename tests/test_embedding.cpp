// Embedding's padding index (its row looks up zeros and gets no gradient) and weight tying
// of an embedding with a readout (tied_readout), gradchecked in double.
#define BOOST_TEST_MODULE embedding
#include <boost/test/unit_test.hpp>

#include <random>

#include "autograd/gradcheck.hpp"
#include "autograd/ops.hpp"
#include "layers/basic.hpp"
#include "layers/init.hpp"

using namespace tapenet;

BOOST_AUTO_TEST_CASE(padding_rows_are_zero_and_get_no_gradient) {
  std::mt19937_64 rng(1);
  Embedding<double> e(5, 3, rng, 0.5, /*padding_index=*/2);
  for (std::size_t j = 0; j < 3; ++j) BOOST_TEST(e.table.value(2, j) == 0.0);
  e.table.value(2, 1) = 7.0;  // even a changed padding row looks up zeros
  Tape<double> tape;
  Var<double> out = e.forward(tape, {2, 0, 2, 4});
  for (std::size_t j = 0; j < 3; ++j) {
    BOOST_TEST(out.value()(0, j) == 0.0);
    BOOST_TEST(out.value()(1, j) == e.table.value(0, j));
  }
  tape.backward(sum(square(out)));
  for (std::size_t j = 0; j < 3; ++j) {
    BOOST_TEST(e.table.grad(2, j) == 0.0);
    BOOST_TEST(e.table.grad(0, j) == 2 * e.table.value(0, j));
  }
  auto f = [&](Tape<double>& t, const std::vector<Var<double>>&) { return tanh(e.forward(t, {1, 2, 1, 3})); };
  const GradcheckResult r = gradcheck(f, {}, e.parameters());
  BOOST_TEST(r.ok, r.message());
  BOOST_CHECK_THROW(Embedding<double>(5, 3, rng, 0.5, 5), std::out_of_range);
}

BOOST_AUTO_TEST_CASE(tied_readout_shares_the_table) {
  std::mt19937_64 rng(2);
  Embedding<double> e(6, 4, rng, 0.5);
  Parameter<double> bias("bias", init::normal<double>({1, 6}, 0.5, rng));
  auto f = [&](Tape<double>& t, const std::vector<Var<double>>&) {
    Var<double> h = tanh(e.forward(t, {0, 3, 5}));  // the table as input ...
    return log_softmax(tied_readout(t, e, h, &bias), 1);  // ... and as readout
  };
  const GradcheckResult r = gradcheck(f, {}, {&e.table, &bias});
  BOOST_TEST(r.ok, r.message());
  Tape<double> t;
  BOOST_CHECK_THROW(tied_readout(t, e, t.constant(zeros<double>({2, 3}))), ShapeError);
  BOOST_TEST((tied_readout(t, e, t.constant(zeros<double>({2, 4}))).shape() == Shape{2, 6}));
}
