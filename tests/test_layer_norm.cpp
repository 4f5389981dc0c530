// The LayerNorm module (layers/layer_norm.hpp): parameters, forward = the layer_norm op, and
// a gradcheck over its input and parameters.
#define BOOST_TEST_MODULE layer_norm_module
#include "tests/ops_testing.hpp"

#include "layers/layer_norm.hpp"
#include "tests/testing.hpp"

using namespace tapenet;
using namespace tapenet::testing;

BOOST_AUTO_TEST_CASE(parameters_start_at_one_and_zero) {
  LayerNorm<double> ln(4);
  const auto params = ln.parameters();
  BOOST_TEST(params.size() == 2u);
  BOOST_TEST(params[0]->name == "gain");
  BOOST_TEST(params[1]->name == "bias");
  CHECK_CLOSE(ln.gain.value, full<double>({4}, 1.0), 0);
  CHECK_CLOSE(ln.bias.value, zeros<double>({4}), 0);
  BOOST_TEST(ln.dim() == 4u);
  BOOST_CHECK_THROW(LayerNorm<double>(4, -1.0), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(forward_is_the_op_and_gradchecks) {
  LayerNorm<double> ln(3, 1e-3);
  randomise(ln, 5);
  Tape<double> tape;
  const Tn x = rnd({2, 3}, 6);
  CHECK_CLOSE(ln.forward(tape, tape.input(x)).value(),
              layer_norm(tape.input(x), tape.input(ln.gain.value), tape.input(ln.bias.value), 1e-3).value(), 0);
  // Unit gain, zero bias: every row has mean 0 and variance v / (v + eps).
  LayerNorm<double> plain(3, 0.0);
  const Tn y = plain.forward(tape, tape.input(tensor({1, 3}, {1, 2, 3}))).value();
  CHECK_CLOSE(y, tensor({1, 3}, {-std::sqrt(1.5), 0, std::sqrt(1.5)}), 1e-14);
  GRADCHECK([&ln](Tape<double>& t, const Inputs& v) { return ln.forward(t, v[0]); }, {rnd({2, 2, 3}, 7)}, ln.parameters());
  CHECK_SHAPE_ERROR(ln.forward(tape, tape.input(rnd({2, 4}, 8))), "layer_norm");
  Tape<float> tf;
  LayerNorm<float> lf(2);
  Tensor<float> xf = {{1.f, 3.f}};
  BOOST_TEST(std::abs(lf.forward(tf, tf.input(xf)).value()(0, 1) - 1.f) < 1e-4f);
}
