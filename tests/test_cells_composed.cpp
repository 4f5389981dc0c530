// The oracle of every fused cell: the equations of layers/cells.hpp written here with generic
// tape ops (slice, matmul, sigmoid, tanh, ...), one line per equation. Each oracle is a
// subclass of the library cell that overrides step_projected with the composed equations and
// has no fused form, so it shares the cell's parameters and the sequence runner unrolls it
// with its step mask. The tests gradcheck the oracles, then compare the fused cells with them
// (values and every gradient, one step and padded whole sequences) in double and in float.
#define BOOST_TEST_MODULE cells_composed
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <xtensor/xmath.hpp>
#include <xtensor/xreducer.hpp>

#include "autograd/gradcheck.hpp"
#include "layers/cells.hpp"
#include "layers/sequence.hpp"
#include "tests/testing.hpp"

using namespace tapenet;
using tapenet::testing::max_abs_diff;
using tapenet::testing::randomise;

namespace {

constexpr std::size_t kD = 3, kH = 5, kB = 4;
const std::vector<std::size_t> kLengths = {6, 2, 5, 1};  // padded batch of kB rows, T = 6

// `Cell` without its fused form: the runner unrolls step_projected with its step mask.
template <template <class> class Cell, class T>
struct Unfused : Cell<T> {
  using Base = Cell<T>;
  using Base::Base;
  std::optional<FusedRun<T>> run_fused(Tape<T>&, Var<T>, const std::vector<std::size_t>&,
                                       const RecurrentState<T>&) const override {
    return std::nullopt;
  }
};

// h_t = tanh(xp + U h_{t-1} + b_hh)
template <class T>
struct ComposedElman : Unfused<ElmanCell, T> {
  using Unfused<ElmanCell, T>::Unfused;
  RecurrentState<T> step_projected(Tape<T>& tape, Var<T> xp, const RecurrentState<T>& s) const override {
    return {tanh(xp + matmul(s.h, tape.param(this->W_hh), false, true) + tape.param(this->b_hh)), Var<T>()};
  }
};

// [i f g o] = xp + U h_{t-1} + b_hh;  C_t = f⊙C_{t-1} + i⊙g;  h_t = o⊙tanh(C_t)
template <class T>
struct ComposedLSTM : Unfused<LSTMCell, T> {
  using Unfused<LSTMCell, T>::Unfused;
  RecurrentState<T> step_projected(Tape<T>& tape, Var<T> xp, const RecurrentState<T>& s) const override {
    const std::size_t H = this->units();
    const Var<T> pre = xp + matmul(s.h, tape.param(this->W_hh), false, true) + tape.param(this->b_hh);
    const Var<T> i = sigmoid(slice(pre, 1, 0, H));
    const Var<T> f = sigmoid(slice(pre, 1, H, 2 * H));
    const Var<T> g = tanh(slice(pre, 1, 2 * H, 3 * H));
    const Var<T> o = sigmoid(slice(pre, 1, 3 * H, 4 * H));
    const Var<T> c = f * s.c + i * g;
    return {o * tanh(c), c};
  }
};

// r = σ(W_r x + b_ir + U_r h_{t-1} + b_hr),  z = σ(W_z x + b_iz + U_z h_{t-1} + b_hz)
// n = tanh(W_n x + b_in + U_n (r⊙h_{t-1}) + b_hn)   (reset before)
// n = tanh(W_n x + b_in + r⊙(U_n h_{t-1} + b_hn))   (reset after)
// h_t = z⊙h_{t-1} + (1-z)⊙n
template <class T>
struct ComposedGRU : Unfused<GRUCell, T> {
  using Unfused<GRUCell, T>::Unfused;
  RecurrentState<T> step_projected(Tape<T>& tape, Var<T> xp, const RecurrentState<T>& s) const override {
    const std::size_t H = this->units();
    const Var<T> U = tape.param(this->W_hh), b = tape.param(this->b_hh);
    auto block = [H](Var<T> v, std::size_t k) { return slice(v, 1, k * H, (k + 1) * H); };
    auto U_k = [&](std::size_t k) { return slice(U, 0, k * H, (k + 1) * H); };
    auto recurrent = [&](Var<T> h, std::size_t k) { return matmul(h, U_k(k), false, true) + block(b, k); };
    const Var<T> r = sigmoid(block(xp, 0) + recurrent(s.h, 0));
    const Var<T> z = sigmoid(block(xp, 1) + recurrent(s.h, 1));
    const Var<T> n = this->options().reset_after ? tanh(block(xp, 2) + r * recurrent(s.h, 2))
                                                 : tanh(block(xp, 2) + recurrent(r * s.h, 2));
    return {z * s.h + (T(1) - z) * n, Var<T>()};
  }
};

// Copies every parameter value of `from` into `to` (the same cell class and shapes).
template <class T>
void copy_parameters(RecurrentCell<T>& from, RecurrentCell<T>& to) {
  const ParameterList<T> a = from.parameters(), b = to.parameters();
  BOOST_REQUIRE(a.size() == b.size());
  for (std::size_t k = 0; k < a.size(); ++k) b[k]->value = a[k]->value;
}

// The inputs of one run: x [T·B, D], h0 and (LSTM) c0 [B, H], and the loss weights.
template <class T>
struct RunInputs {
  Tensor<T> x, h0, c0, R, Rc;
};

template <class T>
RunInputs<T> make_inputs(const RecurrentCell<T>& cell, std::size_t steps, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  const std::size_t H = cell.hidden_size();
  return {init::normal<T>({steps * kB, kD}, 1.0, rng), init::normal<T>({kB, H}, 0.5, rng),
          init::normal<T>({kB, H}, 0.5, rng), init::normal<T>({steps * kB, H}, 1.0, rng),
          init::normal<T>({kB, H}, 1.0, rng)};
}

// The loss value, then the gradients of x, h0, (c0,) and every parameter, of
//   L = ⟨R, outputs⟩ + Σ final.h + ⟨Rc, final.c⟩ + Σ h'² (+ Σ c')
// for `cell` run over `in` with `lengths` (empty: every row runs all steps), where h', c' is
// one cell.step from the initial state (the single-step path, apart from the runner's).
template <class T>
std::vector<Tensor<T>> loss_and_gradients(RecurrentCell<T>& cell, const RunInputs<T>& in,
                                          const std::vector<std::size_t>& lengths) {
  for (auto* p : cell.parameters()) p->zero_grad();
  Tape<T> tape;
  const Var<T> x = tape.input(in.x);
  RecurrentState<T> s{tape.input(in.h0), Var<T>()};
  if (cell.has_cell_state()) s.c = tape.input(in.c0);
  const SequenceOutput<T> run = run_sequence(tape, cell, x, kB, lengths, s);
  Var<T> loss = sum(mask_mul(concat_outputs(run.outputs), in.R)) + sum(run.final.h);
  if (run.final.c.valid()) loss = loss + sum(mask_mul(run.final.c, in.Rc));
  const RecurrentState<T> one = cell.step(tape, slice(x, 0, 0, kB), s);
  loss = loss + sum(one.h * one.h);
  if (one.c.valid()) loss = loss + sum(one.c);
  tape.backward(loss);
  std::vector<Tensor<T>> out = {loss.value(), x.grad(), s.h.grad()};
  if (s.c.valid()) out.push_back(s.c.grad());
  for (auto* p : cell.parameters()) out.push_back(p->grad);
  return out;
}

// The fused cell and its oracle (same parameters) agree to `tol` relative to each tensor's
// size (at least 1), on one step and on a padded sequence; and the loss is not trivially small.
template <class T, class Fused, class Composed>
void expect_fused_matches_composed(Fused& fused, Composed& composed, double tol) {
  copy_parameters<T>(fused, composed);
  for (const std::vector<std::size_t>& lengths : {std::vector<std::size_t>{}, kLengths}) {
    const std::size_t steps = lengths.empty() ? 1 : 6;
    const RunInputs<T> in = make_inputs(fused, steps, 31 + steps);
    const std::vector<Tensor<T>> a = loss_and_gradients(fused, in, lengths);
    const std::vector<Tensor<T>> b = loss_and_gradients(composed, in, lengths);
    BOOST_REQUIRE(a.size() == b.size());
    for (std::size_t k = 0; k < a.size(); ++k) {
      const double scale = std::max(1.0, double(xt::amax(xt::abs(a[k]))()));
      BOOST_TEST(max_abs_diff(a[k], b[k]) <= tol * scale, "tensor " << k << " (0: loss), " << steps << " steps");
    }
    BOOST_TEST(std::abs(double(a[0].data()[0])) > 0.1);
  }
}

// Both precisions: double to 1e-12, float to 1e-5 (parameters drawn once, in double).
template <template <class> class Cell, template <class> class Composed, class Options>
void check_cell(const Options& options) {
  std::mt19937_64 rng(1);
  Cell<double> fused_d(kD, kH, rng, options);
  Composed<double> composed_d(kD, kH, rng, options);
  randomise(fused_d, 2);
  expect_fused_matches_composed<double>(fused_d, composed_d, 1e-12);
  Cell<float> fused_f(kD, kH, rng, options);
  Composed<float> composed_f(kD, kH, rng, options);
  const ParameterList<double> pd = fused_d.parameters();
  const ParameterList<float> pf = fused_f.parameters();
  for (std::size_t k = 0; k < pd.size(); ++k) pf[k]->value = xt::cast<float>(pd[k]->value);
  expect_fused_matches_composed<float>(fused_f, composed_f, 1e-5);
}

// gradcheck of the oracle itself over a padded sequence: every parameter and input.
template <template <class> class Composed, class Options>
void gradcheck_oracle(const Options& options) {
  std::mt19937_64 rng(3);
  Composed<double> cell(kD, kH, rng, options);
  randomise(cell, 4);
  const RunInputs<double> in = make_inputs<double>(cell, 6, 5);
  std::vector<Tensor<double>> leaves = {in.x, in.h0};
  if (cell.has_cell_state()) leaves.push_back(in.c0);
  const GradcheckFn f = [&](Tape<double>& tape, const std::vector<Var<double>>& v) {
    RecurrentState<double> s{v[1], cell.has_cell_state() ? v[2] : Var<double>()};
    const SequenceOutput<double> run = run_sequence(tape, cell, v[0], kB, kLengths, s);
    Var<double> loss = sum(mask_mul(concat_outputs(run.outputs), in.R)) + sum(run.final.h);
    return run.final.c.valid() ? loss + sum(mask_mul(run.final.c, in.Rc)) : loss;
  };
  const GradcheckResult r = gradcheck(f, leaves, cell.parameters());
  BOOST_TEST(r.ok, r.message());
  std::size_t expected = cell.parameter_count();
  for (const auto& t : leaves) expected += t.size();
  BOOST_TEST(r.checked == expected);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(oracles_pass_gradcheck)

BOOST_AUTO_TEST_CASE(elman_tanh) { gradcheck_oracle<ComposedElman>(ElmanOptions()); }
BOOST_AUTO_TEST_CASE(lstm) { gradcheck_oracle<ComposedLSTM>(LSTMOptions()); }
BOOST_AUTO_TEST_CASE(gru_reset_before) { gradcheck_oracle<ComposedGRU>(GRUOptions()); }
BOOST_AUTO_TEST_CASE(gru_reset_after) { gradcheck_oracle<ComposedGRU>(GRUOptions().with_reset_after()); }

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(fused_cells_match_their_oracles)

BOOST_AUTO_TEST_CASE(elman_tanh) { check_cell<ElmanCell, ComposedElman>(ElmanOptions()); }
BOOST_AUTO_TEST_CASE(lstm) { check_cell<LSTMCell, ComposedLSTM>(LSTMOptions()); }
BOOST_AUTO_TEST_CASE(gru_reset_before) { check_cell<GRUCell, ComposedGRU>(GRUOptions()); }
BOOST_AUTO_TEST_CASE(gru_reset_after) { check_cell<GRUCell, ComposedGRU>(GRUOptions().with_reset_after()); }

BOOST_AUTO_TEST_SUITE_END()
