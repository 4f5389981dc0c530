// Layer-normalised LSTM and GRU cells (Ba et al. 2016; LSTMOptions/GRUOptions::layer_norm):
// gradchecked in double through padded sequences, in the stacked and bidirectional runners;
// compared with an oracle written here gate by gate (a different composition: slices and
// layer_norm per gate, instead of the cells' one reshaped layer_norm); and checked to be
// invariant to the scale of the input, the point of normalising W x.
#define BOOST_TEST_MODULE cells_layer_norm
#include <boost/test/unit_test.hpp>

#include <random>

#include "autograd/gradcheck.hpp"
#include "autograd/ops.hpp"
#include "layers/cell_factory.hpp"
#include "layers/cells.hpp"
#include "layers/init.hpp"
#include "layers/sequence.hpp"
#include "tests/testing.hpp"

using namespace tapenet;

namespace {

template <class Cell, class Options>
void gradcheck_sequence(const Options& options) {
  std::mt19937_64 rng(7);
  Cell cell(3, 4, rng, options);
  testing::randomise(cell, 11);
  auto f = [&](Tape<double>& tape, const std::vector<Var<double>>& in) {
    SequenceOutput<double> out = run_sequence(tape, cell, in[0], 2, {4, 2});
    std::vector<Var<double>> all = {concat_outputs(out.outputs), out.final.h};
    if (out.final.c.valid()) all.push_back(out.final.c);
    return concat(all, 0);
  };
  const GradcheckResult r = gradcheck(f, {init::normal<double>({4 * 2, 3}, 1.0, rng)}, cell.parameters());
  BOOST_TEST(r.ok, r.message());
}

// LN over the units of one gate, with that gate's slice of the gain and bias [1, G·H].
Var<double> gate_norm(Var<double> pre, Var<double> gain, Var<double> bias, std::size_t k, std::size_t H) {
  auto block = [&](Var<double> v) { return slice(v, 1, k * H, (k + 1) * H); };
  return layer_norm(block(pre), reshape(block(gain), {H}), reshape(block(bias), {H}));
}

}  // namespace

BOOST_AUTO_TEST_CASE(lstm_gradients) {
  gradcheck_sequence<LSTMCell<double>>(LSTMOptions().with_layer_norm());
  gradcheck_sequence<LSTMCell<double>>(LSTMOptions().with_layer_norm().with_peephole());
  gradcheck_sequence<LSTMCell<double>>(LSTMOptions().with_layer_norm().with_coupled());
}

BOOST_AUTO_TEST_CASE(gru_gradients) {
  gradcheck_sequence<GRUCell<double>>(GRUOptions().with_layer_norm());
  gradcheck_sequence<GRUCell<double>>(GRUOptions().with_layer_norm().with_reset_after());
}

BOOST_AUTO_TEST_CASE(lstm_step_matches_a_gate_by_gate_oracle) {
  std::mt19937_64 rng(3);
  const std::size_t H = 5;
  LSTMCell<double> cell(4, H, rng, LSTMOptions().with_layer_norm());
  testing::randomise(cell, 5);
  Tape<double> tape;
  Var<double> x = tape.constant(init::normal<double>({3, 4}, 2.0, rng));
  RecurrentState<double> s{tape.constant(init::normal<double>({3, H}, 1.0, rng)),
                           tape.constant(init::normal<double>({3, H}, 1.0, rng))};
  const RecurrentState<double> got = cell.step(tape, x, s);
  const Var<double> wx = matmul(x, tape.param(cell.W_ih), false, true), uh = matmul(s.h, tape.param(cell.W_hh), false, true);
  auto pre = [&](std::size_t k) {
    return gate_norm(wx, tape.param(*cell.ln_ih), tape.param(cell.b_ih), k, H) +
           gate_norm(uh, tape.param(*cell.ln_hh), tape.param(cell.b_hh), k, H);
  };
  const Var<double> i = sigmoid(pre(0)), f = sigmoid(pre(1)), g = tanh(pre(2)), o = sigmoid(pre(3));
  const Var<double> c = f * s.c + i * g;
  const Var<double> h = o * tanh(layer_norm(c, tape.param(*cell.ln_c_gain), tape.param(*cell.ln_c_bias)));
  BOOST_TEST(testing::max_abs_diff(got.c.value(), c.value()) < 1e-12);
  BOOST_TEST(testing::max_abs_diff(got.h.value(), h.value()) < 1e-12);
}

BOOST_AUTO_TEST_CASE(gru_step_matches_a_gate_by_gate_oracle) {
  for (bool reset_after : {false, true}) {
    std::mt19937_64 rng(4);
    const std::size_t H = 3;
    GRUCell<double> cell(2, H, rng, GRUOptions().with_layer_norm().with_reset_after(reset_after));
    testing::randomise(cell, 6);
    Tape<double> tape;
    Var<double> x = tape.constant(init::normal<double>({2, 2}, 2.0, rng));
    Var<double> h0 = tape.constant(init::normal<double>({2, H}, 1.0, rng));
    const Var<double> got = cell.step(tape, x, {h0, Var<double>()}).h;
    const Var<double> W = tape.param(cell.W_ih), U = tape.param(cell.W_hh);
    const Var<double> wx = matmul(x, W, false, true), uh = matmul(h0, U, false, true);
    const Var<double> gi = tape.param(*cell.ln_ih), gh = tape.param(*cell.ln_hh);
    const Var<double> bi = tape.param(cell.b_ih), bh = tape.param(cell.b_hh);
    const Var<double> r = sigmoid(gate_norm(wx, gi, bi, 0, H) + gate_norm(uh, gh, bh, 0, H));
    const Var<double> z = sigmoid(gate_norm(wx, gi, bi, 1, H) + gate_norm(uh, gh, bh, 1, H));
    Var<double> n;
    if (reset_after) {
      n = tanh(gate_norm(wx, gi, bi, 2, H) + r * gate_norm(uh, gh, bh, 2, H));
    } else {
      const Var<double> u_n = slice(U, 0, 2 * H, 3 * H);
      const Var<double> rec = matmul(r * h0, u_n, false, true);  // [B, H]: gate 0 of a one-gate block
      n = tanh(gate_norm(wx, gi, bi, 2, H) +
               gate_norm(rec, slice(gh, 1, 2 * H, 3 * H), slice(bh, 1, 2 * H, 3 * H), 0, H));
    }
    const Var<double> h = z * h0 + (1.0 - z) * n;
    BOOST_TEST(testing::max_abs_diff(got.value(), h.value()) < 1e-12, "reset_after " << reset_after);
  }
}

// LN(W (a x)) = LN(W x) for a > 0: from a zero state the first step does not see the scale.
BOOST_AUTO_TEST_CASE(the_first_step_ignores_the_input_scale) {
  std::mt19937_64 rng(8);
  LSTMCell<double> lstm(3, 6, rng, LSTMOptions().with_layer_norm());
  GRUCell<double> gru(3, 6, rng, GRUOptions().with_layer_norm());
  LSTMCell<double> plain(3, 6, rng);
  const Tensor<double> x = init::normal<double>({4, 3}, 1.0, rng);
  auto first_h = [&](const RecurrentCell<double>& cell, double scale) {
    Tape<double> tape;
    return cell.step(tape, tape.constant(x * scale), cell.zero_state(tape, 4)).h.value();
  };
  BOOST_TEST(testing::max_abs_diff(first_h(lstm, 1), first_h(lstm, 30)) < 5e-4);  // to LN's eps
  BOOST_TEST(testing::max_abs_diff(first_h(gru, 1), first_h(gru, 30)) < 5e-4);
  BOOST_TEST(testing::max_abs_diff(first_h(plain, 1), first_h(plain, 30)) > 1e-2);  // without LN it does
}

BOOST_AUTO_TEST_CASE(in_the_stacked_bidirectional_runner) {
  for (CellKind kind : {CellKind::LSTM, CellKind::GRU}) {
    std::mt19937_64 rng(9);
    const CellOptions options =
        CellOptions().with_lstm(LSTMOptions().with_layer_norm()).with_gru(GRUOptions().with_layer_norm());
    StackedRNN<double> rnn(2, 3, cell_factory<double>(kind, rng, options),
                           StackedOptions<double>().with_layers(2).with_bidirectional());
    testing::randomise(rnn, 10);
    auto f = [&](Tape<double>& tape, const std::vector<Var<double>>& in) {
      return concat_outputs(rnn.forward(tape, in[0], 2, {3, 2}).outputs);
    };
    const GradcheckResult r = gradcheck(f, {init::normal<double>({3 * 2, 2}, 1.0, rng)}, rnn.parameters());
    BOOST_TEST(r.ok, cell_name(kind) << ": " << r.message());
    std::size_t gains = 0;
    for (auto* p : rnn.parameters()) gains += p->name.find("ln_") != std::string::npos;
    BOOST_TEST(gains == (kind == CellKind::LSTM ? 16u : 8u));  // 4 cells x (4 | 2)
  }
}
