// "Write your own cell" (README): a recurrent cell that is not in the library — the Minimal
// Gated Unit of Zhou et al. (2016) — written only with the public API, as a user would:
//
//   f_t = σ(W_f x_t + U_f h_{t-1} + b_f)
//   h̃_t = tanh(W_h x_t + U_h (f_t ⊙ h_{t-1}) + b_h)
//   h_t = (1 - f_t) ⊙ h_{t-1} + f_t ⊙ h̃_t
//
// The test gradchecks it in double through a whole unrolled sequence (run_sequence with
// padding), stacks it in the library's StackedRNN runner via a CellFactory, and trains it
// to remember the first input of a sequence, in float. README.md quotes this file.
#define BOOST_TEST_MODULE user_cell
#include <boost/test/unit_test.hpp>

#include <random>

#include "autograd/gradcheck.hpp"
#include "autograd/ops.hpp"
#include "layers/init.hpp"
#include "layers/recurrent.hpp"
#include "layers/sequence.hpp"
#include "optim/optimizer.hpp"

using namespace tapenet;

// ---- the user's cell ------------------------------------------------------------------------
template <class T>
class MinimalGatedUnit : public RecurrentCell<T> {
 public:
  MinimalGatedUnit(std::size_t input, std::size_t hidden, std::mt19937_64& rng)
      : W(this->add_parameter("W", init::glorot_uniform<T>({2 * hidden, input}, rng))),  // [W_f; W_h]
        b(this->add_parameter("b", zeros<T>({1, 2 * hidden}))),
        U_f(this->add_parameter("U_f", init::orthogonal<T>(hidden, hidden, rng))),
        U_h(this->add_parameter("U_h", init::orthogonal<T>(hidden, hidden, rng))),
        hidden_(hidden) {}

  std::size_t input_size() const override { return W.value.shape()[1]; }
  std::size_t hidden_size() const override { return hidden_; }

  // Both gates' input parts in one GEMM: [W_f x + b_f | W_h x + b_h].
  Var<T> project_input(Tape<T>& tape, Var<T> x) const override { return linear(x, tape.param(W), tape.param(b)); }

  RecurrentState<T> step_projected(Tape<T>& tape, Var<T> xp, const RecurrentState<T>& state) const override {
    const std::vector<Var<T>> parts = split(xp, 1, {hidden_, hidden_});
    Var<T> h = state.h;
    Var<T> f = sigmoid(parts[0] + matmul(h, tape.param(U_f), false, true));
    Var<T> candidate = tanh(parts[1] + matmul(f * h, tape.param(U_h), false, true));
    return {(T(1) - f) * h + f * candidate, {}};
  }

  Parameter<T>& W;
  Parameter<T>& b;
  Parameter<T>& U_f;
  Parameter<T>& U_h;

 private:
  std::size_t hidden_;
};
// -----------------------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(gradients_through_a_padded_sequence) {
  std::mt19937_64 rng(1);
  MinimalGatedUnit<double> cell(3, 4, rng);
  for (auto* p : cell.parameters()) p->value = init::normal<double>(to_shape(p->value.shape()), 0.5, rng);
  const std::size_t batch = 2, steps = 5;
  auto f = [&](Tape<double>& tape, const std::vector<Var<double>>& in) {
    SequenceOutput<double> out = run_sequence(tape, cell, in[0], batch, {5, 3});
    return concat(std::vector<Var<double>>{concat_outputs(out.outputs), out.final.h}, 0);
  };
  const GradcheckResult r = gradcheck(f, {init::normal<double>({steps * batch, 3}, 1.0, rng)}, cell.parameters());
  BOOST_TEST(r.ok, r.message());
  BOOST_TEST(r.checked > 60u);
}

BOOST_AUTO_TEST_CASE(a_broken_backward_is_caught) {  // the check above can fail
  std::mt19937_64 rng(2);
  MinimalGatedUnit<double> cell(3, 4, rng);
  auto f = [&](Tape<double>& tape, const std::vector<Var<double>>& in) {
    RecurrentState<double> s = cell.zero_state(tape, 2);
    s = cell.step(tape, in[0], s);
    // A stop-gradient disguised as the identity: the value is right, the gradient is not.
    Var<double> h = s.h + tape.constant(zeros<double>({2, 4}));
    return tanh(tape.constant(h.value()) + h * 0.0) * h;
  };
  const GradcheckResult r = gradcheck(f, {init::normal<double>({2, 3}, 1.0, rng)}, cell.parameters());
  BOOST_TEST(!r.ok);
}

BOOST_AUTO_TEST_CASE(stacks_in_the_library_runner) {
  std::mt19937_64 rng(3);
  CellFactory<float> mgu = [&rng](std::size_t in, std::size_t hidden) {
    return std::make_unique<MinimalGatedUnit<float>>(in, hidden, rng);
  };
  StackedRNN<float> rnn(3, 5, mgu, StackedOptions<float>().with_layers(2));
  Tape<float> tape;
  StackedOutput<float> out = rnn.forward(tape, tape.constant(init::normal<float>({4 * 2, 3}, 1.0, rng)), 2);
  BOOST_TEST(out.outputs.size() == 4u);
  BOOST_TEST((out.outputs[3].shape() == Shape{2, 5}));
  BOOST_TEST(rnn.parameters().size() == 8u);  // two cells of W, b, U_f, U_h
}

// Remember the sign of the first of 8 noisy inputs: a task that needs the gate.
BOOST_AUTO_TEST_CASE(learns_to_remember_the_first_input) {
  std::mt19937_64 rng(4);
  MinimalGatedUnit<float> cell(1, 8, rng);
  Parameter<float> V("V", init::glorot_uniform<float>({2, 8}, rng));
  ParameterList<float> params = cell.parameters();
  params.push_back(&V);
  Adam<float> adam(params, AdamOptions().with_lr(0.02f));
  const std::size_t batch = 32, steps = 8;
  auto batch_loss = [&](Tape<float>& tape, std::mt19937_64& data_rng) {
    std::normal_distribution<float> noise(0.f, 0.3f);
    std::bernoulli_distribution sign(0.5);
    Tensor<float> x = zeros<float>({steps * batch, 1});
    std::vector<std::int64_t> labels(batch);
    for (std::size_t b = 0; b < batch; ++b) {
      labels[b] = sign(data_rng);
      x(b, 0) = labels[b] ? 1.f : -1.f;
      for (std::size_t t = 1; t < steps; ++t) x(t * batch + b, 0) = noise(data_rng);
    }
    SequenceOutput<float> out = run_sequence(tape, cell, tape.constant(x), batch);
    return cross_entropy(matmul(out.final.h, tape.param(V), false, true), labels);
  };
  std::mt19937_64 data_rng(5);
  float first = 0, last = 0;
  for (int step = 0; step < 150; ++step) {
    Tape<float> tape;
    Var<float> loss = batch_loss(tape, data_rng);
    adam.zero_grad();
    tape.backward(loss);
    adam.step();
    (step == 0 ? first : last) = loss.item();
  }
  BOOST_TEST(first > 0.6f);
  BOOST_TEST(last < 0.1f, "loss " << first << " -> " << last);
}
