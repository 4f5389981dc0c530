// The fused ops of autograd/ops_rnn.hpp, in double: gradcheck of every input of each op, and
// the oracle of the definition — each fused whole-sequence op must give the values and the
// gradients of the cell's own step-by-step unroll (cell.step_projected in a loop).
#define BOOST_TEST_MODULE fused_ops
#include <boost/test/unit_test.hpp>
#include <cblas.h>

#include <cmath>
#include <functional>
#include <memory>
#include <random>
#include <vector>

#include "autograd/gradcheck.hpp"
#include "autograd/ops_rnn.hpp"
#include "layers/cells.hpp"
#include "layers/sequence.hpp"
#include "tests/testing.hpp"

using namespace tapenet;
using Tn = Tensor<double>;
using V = Var<double>;

namespace {

// 5 steps × 7 rows: enough rows for the packed-weight step products both ways
// (autograd/packed_gemm.hpp packs Wᵀ from 32 rows, W from 8).
constexpr std::size_t kT = 5, kB = 7, kD = 3, kH = 4;

Tn rand_tensor(const Shape& s, std::mt19937_64& rng, double scale = 0.5) {
  return init::normal<double>(s, scale, rng);
}

// Gradcheck of op(xp, h0, [c0,] W_hh, b_hh) with all inputs random leaves.
void check_op(std::size_t gates, bool with_c,
              const std::function<V(const std::vector<V>&)>& op) {
  std::mt19937_64 rng(7);
  std::vector<Tn> in = {rand_tensor({kT * kB, gates * kH}, rng), rand_tensor({kB, kH}, rng)};
  if (with_c) in.push_back(rand_tensor({kB, kH}, rng));
  in.push_back(rand_tensor({gates * kH, kH}, rng));
  in.push_back(rand_tensor({1, gates * kH}, rng));
  GradcheckResult r = gradcheck([&](Tape<double>&, const std::vector<V>& x) { return op(x); }, in);
  BOOST_TEST(r.ok, r.message());
  BOOST_TEST(r.checked > 0u);
}

using testing::max_abs_diff;

// run_sequence (fused path) vs an explicit step-by-step loop: loss = Σ_t ⟨R_t, h_t⟩ + ⟨R_c, c_T⟩.
void check_against_unroll(RecurrentCell<double>& cell) {
  std::mt19937_64 rng(11);
  const Tn x = rand_tensor({kT * kB, kD}, rng, 1.0);
  const Tn h0 = rand_tensor({kB, kH}, rng), c0 = rand_tensor({kB, kH}, rng);
  const Tn R = rand_tensor({kT * kB, kH}, rng, 1.0), Rc = rand_tensor({kB, kH}, rng, 1.0);
  auto loss_of = [&](Tape<double>& tape, bool fused, V& xin, V& h0in, V& c0in) {
    xin = tape.input(x);
    h0in = tape.input(h0);
    RecurrentState<double> s{h0in, V()};
    if (cell.has_cell_state()) s.c = c0in = tape.input(c0);
    std::vector<V> outs;
    RecurrentState<double> final;
    if (fused) {
      SequenceOutput<double> run = run_sequence(tape, cell, xin, kB, {}, s);
      outs = run.outputs;
      final = run.final;
    } else {
      V xp = cell.project_input(tape, xin);
      for (std::size_t t = 0; t < kT; ++t) {
        s = cell.step_projected(tape, slice(xp, 0, t * kB, (t + 1) * kB), s);
        outs.push_back(s.h);
      }
      final = s;
    }
    V loss = sum(mask_mul(concat(outs, 0), R));
    if (final.c.valid()) loss = loss + sum(mask_mul(final.c, Rc));
    return loss + sum(final.h);
  };
  auto params = cell.parameters();
  std::vector<Tn> grads[2];
  Tn values[2], dx[2], dh0[2], dc0[2];
  for (int fused = 0; fused < 2; ++fused) {
    for (auto* p : params) p->zero_grad();
    Tape<double> tape;
    V xin, h0in, c0in;
    V loss = loss_of(tape, fused == 1, xin, h0in, c0in);
    tape.backward(loss);
    values[fused] = loss.value();
    dx[fused] = xin.grad();
    dh0[fused] = h0in.grad();
    if (cell.has_cell_state()) dc0[fused] = c0in.grad();
    for (auto* p : params) grads[fused].push_back(p->grad);
  }
  BOOST_TEST(max_abs_diff(values[0], values[1]) < 1e-12);
  BOOST_TEST(max_abs_diff(dx[0], dx[1]) < 1e-12);
  BOOST_TEST(max_abs_diff(dh0[0], dh0[1]) < 1e-12);
  if (cell.has_cell_state()) BOOST_TEST(max_abs_diff(dc0[0], dc0[1]) < 1e-12);
  for (std::size_t k = 0; k < params.size(); ++k)
    BOOST_TEST(max_abs_diff(grads[0][k], grads[1][k]) < 1e-12, params[k]->name);
}

}  // namespace

BOOST_AUTO_TEST_CASE(elman_tanh_sequence_gradcheck) {
  check_op(1, false, [](const std::vector<V>& x) { return elman_tanh_sequence(x[0], x[1], x[2], x[3]); });
}

// h and c_last stacked, so the check covers the gradient reaching the op through both.
template <class T>
Var<T> lstm_h_and_c(const std::vector<Var<T>>& x) {
  const LSTMSequenceResult<T> r = lstm_sequence(x[0], x[1], x[2], x[3], x[4]);
  return concat<T>({r.h, r.c_last}, 0);
}

BOOST_AUTO_TEST_CASE(lstm_sequence_gradcheck) { check_op(4, true, &lstm_h_and_c<double>); }

// h is [T·B, H] and c_last [B, H]: with padding, row b's c after its own last step, which is
// where the unrolled cell's c stops moving (checked against steps 1 .. len_b of the op).
BOOST_AUTO_TEST_CASE(lstm_sequence_returns_h_and_each_rows_last_c) {
  std::mt19937_64 rng(8);
  Tape<double> tape;
  const std::size_t B = 3;
  const std::vector<std::size_t> lengths = {kT, 2, 4};
  V xp = tape.input(rand_tensor({kT * B, 4 * kH}, rng)), h0 = tape.input(rand_tensor({B, kH}, rng));
  V c0 = tape.input(rand_tensor({B, kH}, rng)), W = tape.input(rand_tensor({4 * kH, kH}, rng));
  V b = tape.input(rand_tensor({1, 4 * kH}, rng));
  const LSTMSequenceResult<double> r = lstm_sequence(xp, h0, c0, W, b, lengths);
  BOOST_TEST((to_shape(r.h.shape()) == Shape{kT * B, kH}));
  BOOST_TEST((to_shape(r.c_last.shape()) == Shape{B, kH}));
  for (std::size_t row = 0; row < B; ++row) {
    const std::size_t len = lengths[row];
    const LSTMSequenceResult<double> cut = lstm_sequence(slice(xp, 0, 0, len * B), h0, c0, W, b);
    for (std::size_t j = 0; j < kH; ++j)
      BOOST_TEST(std::abs(r.c_last.value()(row, j) - cut.c_last.value()(row, j)) < 1e-13, "row " << row << ", unit " << j);
  }
  BOOST_TEST(max_abs_diff(r.c_last.value(), c0.value()) > 1e-3);
}

BOOST_AUTO_TEST_CASE(gru_sequence_gradcheck) {
  check_op(3, false, [](const std::vector<V>& x) { return gru_sequence(x[0], x[1], x[2], x[3]); });
}

BOOST_AUTO_TEST_CASE(gru_sequence_reset_before_gradcheck) {
  check_op(3, false, [](const std::vector<V>& x) { return gru_sequence_reset_before(x[0], x[1], x[2], x[3]); });
}

// The fused ops split the batch rows over OpenBLAS's thread count: values and gradients
// must be the same bits for 1, 2 and 3 threads (float, 7 rows, 6 steps: packed path).
BOOST_AUTO_TEST_CASE(fused_ops_give_the_same_bits_for_any_thread_count) {
  using F = Var<float>;
  const std::size_t T = 6, B = 7, H = 9;
  const std::vector<std::pair<std::size_t, std::function<F(const std::vector<F>&)>>> ops = {
      {1, [](const std::vector<F>& x) { return elman_tanh_sequence(x[0], x[1], x[3], x[4]); }},
      {4, &lstm_h_and_c<float>},
      {3, [](const std::vector<F>& x) { return gru_sequence(x[0], x[1], x[3], x[4]); }},
      {3, [](const std::vector<F>& x) { return gru_sequence_reset_before(x[0], x[1], x[3], x[4]); }}};
  const int saved = openblas_get_num_threads();
  for (const auto& [gates, op] : ops) {
    std::mt19937_64 rng(21);
    const Shape shapes[] = {{T * B, gates * H}, {B, H}, {B, H}, {gates * H, H}, {1, gates * H}};
    std::vector<Tensor<float>> in;
    for (const Shape& s : shapes) in.push_back(init::normal<float>(s, 0.5, rng));
    std::vector<std::vector<Tensor<float>>> results;  // per thread count: output, then gradients
    for (int threads : {1, 2, 3}) {
      openblas_set_num_threads(threads);
      Tape<float> tape;
      std::vector<F> x;
      for (const auto& t : in) x.push_back(tape.input(t));
      F y = op(x);
      std::mt19937_64 loss_rng(22);  // the same loss weights for every thread count
      tape.backward(sum(y * tape.constant(init::normal<float>(to_shape(y.shape()), 1.0, loss_rng))));
      std::vector<Tensor<float>> r = {y.value()};
      for (const F& v : x) r.push_back(v.has_grad() ? v.grad() : Tensor<float>());
      results.push_back(r);
    }
    for (std::size_t k = 0; k < results[0].size(); ++k)
      for (std::size_t t = 1; t < results.size(); ++t)
        BOOST_TEST((results[t][k] == results[0][k]), "gates " << gates << ", tensor " << k << ", thread run " << t);
  }
  openblas_set_num_threads(saved);
}

BOOST_AUTO_TEST_CASE(linear_gradcheck) {
  std::mt19937_64 rng(3);
  std::vector<Tn> in = {rand_tensor({5, 3}, rng), rand_tensor({4, 3}, rng), rand_tensor({1, 4}, rng)};
  GradcheckResult r = gradcheck([](Tape<double>&, const std::vector<V>& x) { return linear(x[0], x[1], x[2]); }, in);
  BOOST_TEST(r.ok, r.message());
}

BOOST_AUTO_TEST_CASE(linear_matches_matmul_plus_bias) {
  std::mt19937_64 rng(4);
  Tape<double> tape;
  V x = tape.input(rand_tensor({5, 3}, rng)), W = tape.input(rand_tensor({4, 3}, rng)), b = tape.input(rand_tensor({1, 4}, rng));
  BOOST_TEST(max_abs_diff(linear(x, W, b).value(), (matmul(x, W, false, true) + b).value()) < 1e-14);
}

BOOST_AUTO_TEST_CASE(fused_ops_reject_bad_shapes) {
  std::mt19937_64 rng(5);
  Tape<double> tape;
  V xp = tape.input(rand_tensor({6, 16}, rng)), h0 = tape.input(rand_tensor({4, 4}, rng));
  V c0 = tape.input(rand_tensor({2, 4}, rng)), W = tape.input(rand_tensor({16, 4}, rng)), b = tape.input(rand_tensor({1, 16}, rng));
  BOOST_CHECK_THROW(lstm_sequence(xp, h0, c0, W, b), ShapeError);  // 6 rows are not T·4
  BOOST_CHECK_THROW(gru_sequence(xp, c0, W, b), ShapeError);       // 16 columns are not 3·4
}

BOOST_AUTO_TEST_CASE(fused_lstm_matches_unroll) {
  std::mt19937_64 rng(21);
  LSTMCell<double> cell(kD, kH, rng);
  check_against_unroll(cell);
}

BOOST_AUTO_TEST_CASE(fused_gru_matches_unroll) {
  std::mt19937_64 rng(22);
  GRUCell<double> cell(kD, kH, rng, GRUOptions().with_reset_after(true));
  check_against_unroll(cell);
}

BOOST_AUTO_TEST_CASE(fused_gru_reset_before_matches_unroll) {
  std::mt19937_64 rng(25);
  GRUCell<double> cell(kD, kH, rng);
  check_against_unroll(cell);
}

BOOST_AUTO_TEST_CASE(fused_elman_matches_unroll) {
  std::mt19937_64 rng(23);
  ElmanCell<double> cell(kD, kH, rng);
  check_against_unroll(cell);
}

BOOST_AUTO_TEST_CASE(stacked_lstm_gradcheck_through_fused_path) {
  std::mt19937_64 rng(24);
  StackedRNN<double> rnn(kD, kH, [&rng](std::size_t in, std::size_t h) { return std::make_unique<LSTMCell<double>>(in, h, rng); },
                         StackedOptions<double>().with_layers(2).with_bidirectional());
  std::vector<Tn> in = {rand_tensor({kT * kB, kD}, rng, 1.0)};
  GradcheckResult r = gradcheck(
      [&](Tape<double>& tape, const std::vector<V>& x) {
        return concat_outputs(rnn.forward(tape, x[0], kB).outputs);
      },
      in, rnn.parameters());
  BOOST_TEST(r.ok, r.message());
}

// The one-row paths of matmul (gemv forward, deferred outer-product gradient) and bilinear
// (gemv, deferred tensor gradient), with the operands as parameters (leaves, deferred) and
// as inputs of a further op (not leaves, applied at once).
BOOST_AUTO_TEST_CASE(one_row_matmul_gradcheck) {
  std::mt19937_64 rng(31);
  for (bool tb : {false, true}) {
    Parameter<double> B("B", rand_tensor(tb ? Shape{4, 3} : Shape{3, 4}, rng));
    GradcheckResult r = gradcheck(
        [&](Tape<double>& tape, const std::vector<V>& x) {
          V b = tape.param(B);
          return matmul(x[0], b, false, tb) + matmul(x[0], b * x[1], false, tb);  // leaf and non-leaf B
        },
        {rand_tensor({1, 3}, rng), rand_tensor(tb ? Shape{4, 3} : Shape{3, 4}, rng)}, {&B});
    BOOST_TEST(r.ok, r.message());
  }
}

BOOST_AUTO_TEST_CASE(one_row_bilinear_gradcheck) {
  std::mt19937_64 rng(32);
  Parameter<double> Vp("V", rand_tensor({3, 4, 4}, rng));
  GradcheckResult r = gradcheck(
      [&](Tape<double>& tape, const std::vector<V>& x) {
        V v = tape.param(Vp);
        V xx = concat<double>({x[0], x[1]}, 1);                  // [1, 4]
        V y = bilinear(xx, v, xx);                               // xᵀ V x, V a leaf
        V z = bilinear(tanh(xx), v * x[2], xx);                  // V not a leaf
        return y + z;
      },
      {rand_tensor({1, 2}, rng), rand_tensor({1, 2}, rng), rand_tensor({3, 4, 4}, rng)}, {&Vp});
  BOOST_TEST(r.ok, r.message());
}
