// Sequence runners, stacked and bidirectional layers, truncated BPTT, teacher forcing /
// scheduled sampling and generation (layers/sequence.hpp, layers/generate.hpp), in double.
// The oracle for padding is the definition itself: a padded batch must give, example by
// example, what running that example alone (no padding at all) gives.
#define BOOST_TEST_MODULE sequence
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cmath>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <xtensor/xbuilder.hpp>
#include <xtensor/xview.hpp>

#include "autograd/gradcheck.hpp"
#include "layers/cells.hpp"
#include "layers/generate.hpp"
#include "layers/sequence.hpp"
#include "tests/testing.hpp"

using namespace tapenet;
using Tn = Tensor<double>;
using V = Var<double>;
using State = RecurrentState<double>;
using Ids = std::vector<std::int64_t>;

namespace {

constexpr std::size_t kD = 2, kH = 3, kT = 3, kB = 3;
const std::vector<std::size_t> kLengths{3, 1, 2};

Tn rnd(const Shape& shape, std::uint64_t seed, double scale = 1.0) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(-scale, scale);
  Tn t = Tn::from_shape(shape);
  for (auto& v : t) v = u(rng);
  return t;
}

// Every parameter (biases included) random, so no gradient is zero by construction.
void randomize(Module<double>& m, std::uint64_t seed) {
  for (auto* p : m.parameters()) p->value = rnd(to_shape(p->value.shape()), seed++, 0.6);
}

template <class Cell>
CellFactory<double> factory(std::mt19937_64& rng) {
  return [&rng](std::size_t in, std::size_t h) { return std::make_unique<Cell>(in, h, rng); };
}

// Rows t·B + b, t < len, of a time-major [T·B, F] matrix: example b alone, [len, F].
Tn example_rows(const Tn& x, std::size_t b, std::size_t len, std::size_t batch) {
  const std::size_t F = x.shape()[1];
  Tn out = Tn::from_shape({len, F});
  for (std::size_t t = 0; t < len; ++t)
    for (std::size_t j = 0; j < F; ++j) out(t, j) = x(t * batch + b, j);
  return out;
}

Tn reversed(const Tn& x) {
  Tn out = x;
  const std::size_t n = x.shape()[0], F = x.shape()[1];
  for (std::size_t t = 0; t < n; ++t)
    for (std::size_t j = 0; j < F; ++j) out(t, j) = x(n - 1 - t, j);
  return out;
}

using testing::max_abs_diff;

// Columns [from, to) of row r.
std::vector<double> row_of(const Tn& x, std::size_t r, std::size_t from = 0, std::size_t to = SIZE_MAX) {
  to = std::min<std::size_t>(to, x.shape()[1]);
  std::vector<double> out;
  for (std::size_t j = from; j < to; ++j) out.push_back(x(r, j));
  return out;
}

// What every runner under test returns: the per-step outputs and the final states.
struct Run {
  std::vector<V> outputs;
  std::vector<State> finals;
};
using Runner = std::function<Run(Tape<double>&, V x, std::size_t batch, const std::vector<std::size_t>& lengths)>;

Runner uni_runner(const RecurrentCell<double>& cell) {
  return [&cell](Tape<double>& tape, V x, std::size_t batch, const std::vector<std::size_t>& lengths) {
    SequenceOutput<double> r = run_sequence(tape, cell, x, batch, lengths);
    return Run{r.outputs, {r.final}};
  };
}

Runner bi_runner(const BidirectionalRNN<double>& rnn) {
  return [&rnn](Tape<double>& tape, V x, std::size_t batch, const std::vector<std::size_t>& lengths) {
    BidirectionalOutput<double> r = rnn.forward(tape, x, batch, lengths);
    return Run{r.outputs, {r.forward_final, r.backward_final}};
  };
}

Runner stacked_runner(const StackedRNN<double>& rnn) {
  return [&rnn](Tape<double>& tape, V x, std::size_t batch, const std::vector<std::size_t>& lengths) {
    StackedOutput<double> r = rnn.forward(tape, x, batch, lengths);
    return Run{r.outputs, r.final};
  };
}

// Random probe weights, one row per (step, example), so an example run alone can use
// exactly its rows: L = Σ_t ⟨R_t, out_t⟩ + Σ_k ⟨S_k, h_k⟩ + ⟨C_k, c_k⟩.
struct Probes {
  std::vector<Tn> R;  // T × [B, F]
  std::vector<Tn> S, C;

  Probes(const Run& shape_of, std::uint64_t seed) {
    for (const auto& o : shape_of.outputs) R.push_back(rnd(to_shape(o.shape()), seed++));
    for (const auto& f : shape_of.finals) {
      S.push_back(rnd(to_shape(f.h.shape()), seed++));
      C.push_back(f.c.valid() ? rnd(to_shape(f.c.shape()), seed++) : Tn());
    }
  }
  static Tn pick(const Tn& w, std::optional<std::size_t> example) {
    if (!example) return w;
    Tn r = Tn::from_shape({std::size_t(1), w.shape()[1]});
    for (std::size_t j = 0; j < w.shape()[1]; ++j) r(0, j) = w(*example, j);
    return r;
  }
  V loss(const Run& run, std::optional<std::size_t> example = std::nullopt) const {
    std::vector<V> terms;
    for (std::size_t t = 0; t < run.outputs.size(); ++t) terms.push_back(sum(mask_mul(run.outputs[t], pick(R[t], example))));
    for (std::size_t k = 0; k < run.finals.size(); ++k) {
      terms.push_back(sum(mask_mul(run.finals[k].h, pick(S[k], example))));
      if (run.finals[k].c.valid()) terms.push_back(sum(mask_mul(run.finals[k].c, pick(C[k], example))));
    }
    V total = terms[0];
    for (std::size_t i = 1; i < terms.size(); ++i) total = total + terms[i];
    return total;
  }
};

std::vector<Tn> grads_of(const ParameterList<double>& params) {
  std::vector<Tn> g;
  for (auto* p : params) g.push_back(p->grad);
  return g;
}
void zero_grads(const ParameterList<double>& params) {
  for (auto* p : params) p->zero_grad();
}

// The padded batch against each example alone: outputs at real steps, zero outputs at
// padded steps, final states, and parameter gradients (batch = Σ over examples).
void check_against_alone(const Runner& runner, const ParameterList<double>& params, const std::string& what) {
  BOOST_TEST_CONTEXT(what) {
    const Tn x = rnd({kT * kB, kD}, 7);
    zero_grads(params);
    Tape<double> tape;
    Run batch = runner(tape, tape.constant(x), kB, kLengths);
    BOOST_REQUIRE_EQUAL(batch.outputs.size(), kT);
    const Probes probes(batch, 1000);
    tape.backward(probes.loss(batch));
    const std::vector<Tn> batch_grads = grads_of(params);

    zero_grads(params);
    for (std::size_t b = 0; b < kB; ++b) {
      const std::size_t len = kLengths[b];
      Tape<double> alone_tape;
      Run alone = runner(alone_tape, alone_tape.constant(example_rows(x, b, len, kB)), 1, {});
      BOOST_REQUIRE_EQUAL(alone.outputs.size(), len);
      for (std::size_t t = 0; t < kT; ++t) {
        const std::vector<double> got = row_of(batch.outputs[t].value(), b);
        if (t < len) {
          BOOST_CHECK_MESSAGE(max_abs_diff(got, row_of(alone.outputs[t].value(), 0)) < 1e-12,
                              "output at t=" << t << " of example " << b << " differs from the example alone");
        } else {
          for (double v : got) BOOST_CHECK_MESSAGE(v == 0.0, "padded output at t=" << t << " of example " << b << " is " << v);
        }
      }
      for (std::size_t k = 0; k < batch.finals.size(); ++k) {
        BOOST_CHECK_MESSAGE(max_abs_diff(row_of(batch.finals[k].h.value(), b), row_of(alone.finals[k].h.value(), 0)) < 1e-12,
                            "final h " << k << " of example " << b << " is not its state at its own last step");
        if (batch.finals[k].c.valid())
          BOOST_CHECK_MESSAGE(max_abs_diff(row_of(batch.finals[k].c.value(), b), row_of(alone.finals[k].c.value(), 0)) < 1e-12,
                              "final c " << k << " of example " << b << " is not its state at its own last step");
      }
      alone_tape.backward(probes.loss(alone, b));
    }
    for (std::size_t k = 0; k < params.size(); ++k) {
      const double d = max_abs_diff(batch_grads[k], params[k]->grad);
      BOOST_CHECK_MESSAGE(d < 1e-10, "gradient of " << params[k]->name << " differs by " << d);
      double norm = 0;
      for (double v : batch_grads[k]) norm += std::abs(v);
      BOOST_CHECK_MESSAGE(norm > 0, "gradient of " << params[k]->name << " is zero");
    }
  }
}

// Inputs at padded positions get exactly zero gradient; real positions do not.
void check_padded_input_gradients(const Runner& runner, const std::string& what) {
  BOOST_TEST_CONTEXT(what) {
    Tape<double> tape;
    V x = tape.input(rnd({kT * kB, kD}, 8));
    Run run = runner(tape, x, kB, kLengths);
    tape.backward(Probes(run, 2000).loss(run));
    BOOST_REQUIRE(x.has_grad());
    const Tn& g = x.grad();
    for (std::size_t t = 0; t < kT; ++t)
      for (std::size_t b = 0; b < kB; ++b) {
        const std::vector<double> r = row_of(g, t * kB + b);
        if (t >= kLengths[b]) {
          for (double v : r) BOOST_CHECK_MESSAGE(v == 0.0, "padded input (t=" << t << ", b=" << b << ") has gradient " << v);
        } else {
          double norm = 0;
          for (double v : r) norm += std::abs(v);
          BOOST_CHECK_MESSAGE(norm > 0, "real input (t=" << t << ", b=" << b << ") has no gradient");
        }
      }
  }
}

// Outputs and final states of a run as one row, for gradcheck.
V flatten(const Run& run) {
  std::vector<V> parts;
  auto add = [&](V v) { parts.push_back(reshape(v, {std::size_t(1), v.size()})); };
  for (const auto& o : run.outputs) add(o);
  for (const auto& f : run.finals) {
    add(f.h);
    if (f.c.valid()) add(f.c);
  }
  return concat(parts, 1);
}

void check_gradcheck(const Runner& runner, const ParameterList<double>& params, const std::string& what) {
  const GradcheckFn f = [&](Tape<double>& tape, const std::vector<V>& in) {
    return flatten(runner(tape, in[0], kB, kLengths));
  };
  GradcheckResult r = gradcheck(f, {rnd({kT * kB, kD}, 9)}, params);
  BOOST_CHECK_MESSAGE(r.ok, what << ": " << r.message());
  BOOST_CHECK_GT(r.checked, 100u);
}

}  // namespace

// ---- the runner and padding ---------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(step_mask_marks_real_steps) {
  const Tn m = step_mask<double>(kLengths, 1);
  BOOST_CHECK(to_shape(m.shape()) == Shape({3, 1}));
  BOOST_CHECK_EQUAL(m(0, 0), 1.0);
  BOOST_CHECK_EQUAL(m(1, 0), 0.0);
  BOOST_CHECK_EQUAL(m(2, 0), 1.0);
}

BOOST_AUTO_TEST_CASE(masked_batch_equals_each_sequence_alone) {
  std::mt19937_64 rng(1);
  LSTMCell<double> lstm(kD, kH, rng);
  GRUCell<double> gru(kD, kH, rng);
  ElmanCell<double> elman(kD, kH, rng);
  randomize(lstm, 10);
  randomize(gru, 20);
  randomize(elman, 30);
  check_against_alone(uni_runner(lstm), lstm.parameters(), "LSTM");
  check_against_alone(uni_runner(gru), gru.parameters(), "GRU");
  check_against_alone(uni_runner(elman), elman.parameters(), "Elman");
  GRUCell<double> gru_after(kD, kH, rng, GRUOptions().with_reset_after());
  randomize(gru_after, 25);
  check_against_alone(uni_runner(gru_after), gru_after.parameters(), "GRU (reset after)");

  BidirectionalRNN<double> bi(kD, kH, factory<GRUCell<double>>(rng));
  randomize(bi, 40);
  check_against_alone(bi_runner(bi), bi.parameters(), "bidirectional GRU");

  StackedRNN<double> stacked(kD, kH, factory<LSTMCell<double>>(rng), StackedOptions<double>().with_layers(2));
  randomize(stacked, 50);
  check_against_alone(stacked_runner(stacked), stacked.parameters(), "2-layer LSTM");

  StackedRNN<double> stacked_bi(kD, kH, factory<LSTMCell<double>>(rng),
                                StackedOptions<double>().with_layers(2).with_bidirectional());
  randomize(stacked_bi, 60);
  check_against_alone(stacked_runner(stacked_bi), stacked_bi.parameters(), "2-layer bidirectional LSTM");
}

// A cell that owns no fused form: its subclass of the LSTM turns it off.
template <class T>
struct UnfusedLSTM : LSTMCell<T> {
  using LSTMCell<T>::LSTMCell;
  std::optional<FusedRun<T>> run_fused(Tape<T>&, Var<T>, const std::vector<std::size_t>&,
                                       const RecurrentState<T>&) const override {
    return std::nullopt;
  }
};

BOOST_AUTO_TEST_CASE(padded_batches_take_the_cells_fused_path_unless_it_has_none) {
  std::mt19937_64 rng(3);
  LSTMCell<double> fused(kD, kH, rng);
  UnfusedLSTM<double> unfused(kD, kH, rng);
  unfused.W_ih.value = fused.W_ih.value, unfused.W_hh.value = fused.W_hh.value;
  unfused.b_ih.value = fused.b_ih.value, unfused.b_hh.value = fused.b_hh.value;
  const std::size_t steps = *std::max_element(kLengths.begin(), kLengths.end());
  const Tn x = rnd({steps * kLengths.size(), kD}, 7);
  Tape<double> a, b;
  const SequenceOutput<double> ra = run_sequence(a, fused, a.constant(x), kLengths.size(), kLengths);
  const SequenceOutput<double> rb = run_sequence(b, unfused, b.constant(x), kLengths.size(), kLengths);
  // One node for the whole recurrence against ~15 per step.
  BOOST_TEST(2 * a.size() < b.size(), "fused " << a.size() << " nodes, unrolled " << b.size());
  const double diff = xt::amax(xt::abs(ra.final.h.value() - rb.final.h.value()))() +
                      xt::amax(xt::abs(ra.final.c.value() - rb.final.c.value()))() +
                      xt::amax(xt::abs(concat_outputs(ra.outputs).value() - concat_outputs(rb.outputs).value()))();
  BOOST_TEST(diff < 1e-12);
}

BOOST_AUTO_TEST_CASE(padded_inputs_get_exactly_zero_gradient) {
  std::mt19937_64 rng(2);
  LSTMCell<double> lstm(kD, kH, rng);
  randomize(lstm, 10);
  check_padded_input_gradients(uni_runner(lstm), "LSTM");
  BidirectionalRNN<double> bi(kD, kH, factory<LSTMCell<double>>(rng));
  randomize(bi, 20);
  check_padded_input_gradients(bi_runner(bi), "bidirectional LSTM");
  StackedRNN<double> stacked_bi(kD, kH, factory<GRUCell<double>>(rng),
                                StackedOptions<double>().with_layers(2).with_bidirectional());
  randomize(stacked_bi, 30);
  check_padded_input_gradients(stacked_runner(stacked_bi), "2-layer bidirectional GRU");
}

BOOST_AUTO_TEST_CASE(final_state_is_the_state_at_the_own_last_step) {
  std::mt19937_64 rng(3);
  LSTMCell<double> cell(kD, kH, rng);
  randomize(cell, 10);
  Tape<double> tape;
  const Tn x = rnd({kT * kB, kD}, 11);
  SequenceOutput<double> run = run_sequence(tape, cell, tape.constant(x), kB, kLengths);
  for (std::size_t b = 0; b < kB; ++b) {
    // out_{len-1} = h at the last real step, bit for bit.
    BOOST_CHECK(row_of(run.final.h.value(), b) == row_of(run.outputs[kLengths[b] - 1].value(), b));
    // c: step the cell by hand over the example's real steps.
    State s = cell.zero_state(tape, 1);
    for (std::size_t t = 0; t < kLengths[b]; ++t) {
      Tn xt = Tn::from_shape({std::size_t(1), kD});
      for (std::size_t j = 0; j < kD; ++j) xt(0, j) = x(t * kB + b, j);
      s = cell.step(tape, tape.constant(xt), s);
    }
    BOOST_CHECK_LT(max_abs_diff(row_of(run.final.c.value(), b), row_of(s.c.value(), 0)), 1e-12);
    BOOST_CHECK_LT(max_abs_diff(row_of(run.final.h.value(), b), row_of(s.h.value(), 0)), 1e-12);
  }
  // A given initial state is where every example starts.
  State init{tape.constant(rnd({kB, kH}, 12)), tape.constant(rnd({kB, kH}, 13))};
  SequenceOutput<double> from_init = run_sequence(tape, cell, tape.constant(x), kB, kLengths, init);
  State s{tape.constant(Tn(xt::view(init.h.value(), xt::range(1, 2), xt::all()))),
          tape.constant(Tn(xt::view(init.c.value(), xt::range(1, 2), xt::all())))};
  Tn x1 = Tn::from_shape({std::size_t(1), kD});
  for (std::size_t j = 0; j < kD; ++j) x1(0, j) = x(1, j);
  s = cell.step(tape, tape.constant(x1), s);  // example 1 has one step
  BOOST_CHECK_LT(max_abs_diff(row_of(from_init.final.h.value(), 1), row_of(s.h.value(), 0)), 1e-12);
  BOOST_CHECK_GT(max_abs_diff(row_of(from_init.final.h.value(), 1), row_of(run.final.h.value(), 1)), 1e-6);
}

BOOST_AUTO_TEST_CASE(step_list_input_equals_matrix_input) {
  std::mt19937_64 rng(4);
  GRUCell<double> cell(kD, kH, rng);
  Tape<double> tape;
  const Tn x = rnd({kT * kB, kD}, 11);
  V m = tape.constant(x);
  SequenceOutput<double> a = run_sequence(tape, cell, m, kB, kLengths);
  SequenceOutput<double> b = run_sequence(tape, cell, split_steps(m, kB), kLengths);
  BOOST_REQUIRE_EQUAL(b.outputs.size(), kT);
  for (std::size_t t = 0; t < kT; ++t) BOOST_CHECK(a.outputs[t].value() == b.outputs[t].value());
  BOOST_CHECK(concat_outputs(a.outputs).value() == concat_outputs(b.outputs).value());
  BOOST_CHECK(to_shape(concat_outputs(a.outputs).shape()) == Shape({kT * kB, kH}));
}

BOOST_AUTO_TEST_CASE(bad_shapes_and_lengths_throw) {
  std::mt19937_64 rng(5);
  ElmanCell<double> cell(kD, kH, rng);
  Tape<double> tape;
  V x = tape.constant(rnd({kT * kB, kD}, 1));
  BOOST_CHECK_THROW(run_sequence(tape, cell, x, kB, {4, 1, 2}), ShapeError);       // longer than T
  BOOST_CHECK_THROW(run_sequence(tape, cell, x, kB, {3, 1}), ShapeError);          // one length missing
  BOOST_CHECK_THROW(run_sequence(tape, cell, x, 2), ShapeError);                   // 9 rows are not T·2
  BOOST_CHECK_THROW(run_sequence(tape, cell, tape.constant(rnd({9, 3}, 1)), kB), ShapeError);  // D = 3
  BOOST_CHECK_THROW(run_sequence(tape, cell, x, kB, {}, State{tape.constant(rnd({2, kH}, 1)), {}}), ShapeError);
  BOOST_CHECK_NO_THROW(run_sequence(tape, cell, x, kB, {3, 0, 2}));  // an empty example keeps its initial state
}

// ---- gradient checks ------------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(gradcheck_two_layer_stacked_lstm_on_a_masked_batch) {
  std::mt19937_64 rng(6);
  StackedRNN<double> rnn(kD, kH, factory<LSTMCell<double>>(rng), StackedOptions<double>().with_layers(2));
  randomize(rnn, 100);
  check_gradcheck(stacked_runner(rnn), rnn.parameters(), "2-layer LSTM");
}

BOOST_AUTO_TEST_CASE(gradcheck_bidirectional_gru_on_a_masked_batch) {
  std::mt19937_64 rng(7);
  BidirectionalRNN<double> rnn(kD, kH, factory<GRUCell<double>>(rng));
  randomize(rnn, 200);
  check_gradcheck(bi_runner(rnn), rnn.parameters(), "bidirectional GRU");
}

BOOST_AUTO_TEST_CASE(gradcheck_two_layer_bidirectional_lstm_on_a_masked_batch) {
  std::mt19937_64 rng(8);
  StackedRNN<double> rnn(kD, kH, factory<LSTMCell<double>>(rng),
                         StackedOptions<double>().with_layers(2).with_bidirectional());
  randomize(rnn, 300);
  check_gradcheck(stacked_runner(rnn), rnn.parameters(), "2-layer bidirectional LSTM");
}

// ---- bidirectional ------------------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(backward_direction_reads_each_example_from_its_own_end) {
  std::mt19937_64 rng(9);
  BidirectionalRNN<double> bi(kD, kH, factory<LSTMCell<double>>(rng));
  randomize(bi, 400);
  const Tn x = rnd({kT * kB, kD}, 12);
  Tape<double> tape;
  BidirectionalOutput<double> run = bi.forward(tape, tape.constant(x), kB, kLengths);
  SequenceOutput<double> reverse_only = run_sequence(tape, bi.backward_cell(), tape.constant(x), kB, kLengths,
                                                     std::nullopt, Direction::Reverse);
  BOOST_CHECK(to_shape(run.outputs[0].shape()) == Shape({kB, 2 * kH}));
  BOOST_CHECK(to_shape(run.final_h().shape()) == Shape({kB, 2 * kH}));
  for (std::size_t b = 0; b < kB; ++b) {
    const std::size_t len = kLengths[b];
    // The backward cell run alone, forwards, over the reversed real prefix x_{len-1} .. x_0.
    SequenceOutput<double> alone = run_sequence(tape, bi.backward_cell(), tape.constant(reversed(example_rows(x, b, len, kB))), 1);
    SequenceOutput<double> fwd = run_sequence(tape, bi.forward_cell(), tape.constant(example_rows(x, b, len, kB)), 1);
    for (std::size_t t = 0; t < len; ++t) {
      const std::vector<double> back_half = row_of(run.outputs[t].value(), b, kH, 2 * kH);
      BOOST_CHECK_MESSAGE(max_abs_diff(back_half, row_of(alone.outputs[len - 1 - t].value(), 0)) < 1e-12,
                          "backward output at t=" << t << " of example " << b);
      BOOST_CHECK_LT(max_abs_diff(back_half, row_of(reverse_only.outputs[t].value(), b)), 1e-12);
      BOOST_CHECK_LT(max_abs_diff(row_of(run.outputs[t].value(), b, 0, kH), row_of(fwd.outputs[t].value(), 0)), 1e-12);
    }
    // t = len - 1 is the backward cell's FIRST step, on x_{len-1} from the zero state.
    State first = bi.backward_cell().step(tape, tape.constant(Tn(xt::view(example_rows(x, b, len, kB), xt::range(len - 1, len), xt::all()))),
                                          bi.backward_cell().zero_state(tape, 1));
    BOOST_CHECK_LT(max_abs_diff(row_of(run.outputs[len - 1].value(), b, kH, 2 * kH), row_of(first.h.value(), 0)), 1e-12);
    // The backward final state is after reading x_0: the alone run's last state.
    BOOST_CHECK_LT(max_abs_diff(row_of(run.backward_final.h.value(), b), row_of(alone.final.h.value(), 0)), 1e-12);
    BOOST_CHECK_LT(max_abs_diff(row_of(run.backward_final.c.value(), b), row_of(alone.final.c.value(), 0)), 1e-12);
    for (std::size_t t = len; t < kT; ++t)
      for (double v : row_of(run.outputs[t].value(), b)) BOOST_CHECK_EQUAL(v, 0.0);
  }
}

// ---- stacked layers -----------------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(stacked_layers_are_wired_and_named) {
  std::mt19937_64 rng(10);
  StackedRNN<double> bi(kD, kH, factory<GRUCell<double>>(rng),
                        StackedOptions<double>().with_layers(3).with_bidirectional());
  BOOST_CHECK_EQUAL(bi.cell(0, 0).input_size(), kD);
  BOOST_CHECK_EQUAL(bi.cell(0, 1).input_size(), kD);
  BOOST_CHECK_EQUAL(bi.cell(1, 0).input_size(), 2 * kH);
  BOOST_CHECK_EQUAL(bi.cell(2, 1).input_size(), 2 * kH);
  BOOST_CHECK_EQUAL(bi.output_size(), 2 * kH);
  std::vector<std::string> names;
  for (auto* p : bi.parameters()) names.push_back(p->name);
  BOOST_CHECK_EQUAL(names.front(), "l0.W_ih");
  BOOST_CHECK(std::find(names.begin(), names.end(), "l0_reverse.W_hh") != names.end());
  BOOST_CHECK(std::find(names.begin(), names.end(), "l2_reverse.b_hh") != names.end());
  BOOST_CHECK_EQUAL(names.size(), 3u * 2u * 4u);

  Tape<double> tape;
  StackedOutput<double> out = bi.forward(tape, tape.constant(rnd({kT * kB, kD}, 1)), kB, kLengths);
  BOOST_CHECK_EQUAL(out.final.size(), 6u);
  BOOST_CHECK(to_shape(out.final_h().shape()) == Shape({kB, 2 * kH}));
  // final_h = [top forward h | top backward h]
  BOOST_CHECK(row_of(out.final_h().value(), 1, 0, kH) == row_of(out.final[4].h.value(), 1));
  BOOST_CHECK(row_of(out.final_h().value(), 1, kH, 2 * kH) == row_of(out.final[5].h.value(), 1));
  BOOST_CHECK_THROW(bi.forward(tape, tape.constant(rnd({kT * kB, kD}, 1)), kB, kLengths, {out.final[0]}), ShapeError);
}

BOOST_AUTO_TEST_CASE(stacked_step_equals_stacked_forward) {
  std::mt19937_64 rng(11);
  StackedRNN<double> rnn(kD, kH, factory<LSTMCell<double>>(rng), StackedOptions<double>().with_layers(2).with_dropout(0.5));
  randomize(rnn, 500);
  rnn.eval();
  const Tn x = rnd({kT * kB, kD}, 2);
  Tape<double> tape;
  StackedOutput<double> whole = rnn.forward(tape, tape.constant(x), kB);
  std::vector<State> states;
  std::vector<V> steps = split_steps(tape.constant(x), kB);
  for (std::size_t t = 0; t < kT; ++t) {
    V h = rnn.step(tape, steps[t], states);
    BOOST_CHECK_LT(max_abs_diff(h.value(), whole.outputs[t].value()), 1e-12);
  }
  for (std::size_t l = 0; l < 2; ++l) {
    BOOST_CHECK_LT(max_abs_diff(states[l].h.value(), whole.final[l].h.value()), 1e-12);
    BOOST_CHECK_LT(max_abs_diff(states[l].c.value(), whole.final[l].c.value()), 1e-12);
  }
}

namespace {

// An Elman cell that records every input it projects (the inputs of its layer).
class SpyCell : public RecurrentCell<double> {
 public:
  SpyCell(std::size_t in, std::size_t h, std::mt19937_64& rng, std::vector<Tn>* seen) : inner_(in, h, rng), seen_(seen) {
    this->add_module("inner", inner_);
  }
  std::size_t input_size() const override { return inner_.input_size(); }
  std::size_t hidden_size() const override { return inner_.hidden_size(); }
  V project_input(Tape<double>& tape, V x) const override {
    seen_->push_back(x.value());
    return inner_.project_input(tape, x);
  }
  State step_projected(Tape<double>& tape, V x, const State& s) const override { return inner_.step_projected(tape, x, s); }

 private:
  ElmanCell<double> inner_;
  std::vector<Tn>* seen_;
};

// Layer 1's input [T·B, H] and layer 0's output for a 2-layer stack with dropout p.
struct DropoutProbe {
  Tn layer1_input, layer0_output;
};
DropoutProbe probe_dropout(bool variational, bool training, std::size_t T, std::size_t B) {
  std::mt19937_64 rng(12);
  std::vector<Tn> seen;
  std::size_t made = 0;
  CellFactory<double> make = [&](std::size_t in, std::size_t h) -> std::unique_ptr<RecurrentCell<double>> {
    if (made++ == 0) return std::make_unique<ElmanCell<double>>(in, h, rng);
    return std::make_unique<SpyCell>(in, h, rng, &seen);
  };
  StackedRNN<double> rnn(kD, 6, make, StackedOptions<double>().with_layers(2).with_dropout(0.5, variational));
  randomize(rnn, 600);
  rnn.train(training);
  Tape<double> tape;
  V x = tape.constant(rnd({T * B, kD}, 3));
  rnn.forward(tape, x, B, {}, {}, &rng);
  BOOST_REQUIRE_EQUAL(seen.size(), 1u);
  return {seen[0], concat_outputs(run_sequence(tape, rnn.cell(0), x, B).outputs).value()};
}

}  // namespace

BOOST_AUTO_TEST_CASE(variational_dropout_reuses_one_mask_at_every_step) {
  constexpr std::size_t T = 5, B = 4, H = 6;
  DropoutProbe tied = probe_dropout(true, true, T, B);
  std::size_t zeros_seen = 0;
  for (std::size_t t = 0; t < T; ++t)
    for (std::size_t b = 0; b < B; ++b)
      for (std::size_t j = 0; j < H; ++j) {
        const double v = tied.layer1_input(t * B + b, j), first = tied.layer1_input(b, j);
        BOOST_CHECK_MESSAGE((v == 0.0) == (first == 0.0), "mask differs from step 0 at t=" << t << ", b=" << b << ", j=" << j);
        if (v == 0.0) ++zeros_seen;
        else BOOST_CHECK_CLOSE(v, 2.0 * tied.layer0_output(t * B + b, j), 1e-10);  // kept, scaled by 1/(1-p)
      }
  BOOST_CHECK_GT(zeros_seen, 0u);
  BOOST_CHECK_LT(zeros_seen, T * B * H);
  BOOST_CHECK_EQUAL(zeros_seen % T, 0u);

  // Ordinary dropout draws a new mask at each step: the pattern changes.
  DropoutProbe fresh = probe_dropout(false, true, T, B);
  bool differs = false;
  for (std::size_t t = 1; t < T; ++t)
    for (std::size_t b = 0; b < B; ++b)
      for (std::size_t j = 0; j < H; ++j)
        differs = differs || ((fresh.layer1_input(t * B + b, j) == 0.0) != (fresh.layer1_input(b, j) == 0.0));
  BOOST_CHECK(differs);

  // Evaluation mode: identity.
  for (bool variational : {true, false}) {
    DropoutProbe eval = probe_dropout(variational, false, T, B);
    BOOST_CHECK(eval.layer1_input == eval.layer0_output);
  }

  std::mt19937_64 rng(1);
  Tn mask = tied_dropout_mask<double>(3, 2, 4, 0.5, rng);
  for (std::size_t t = 1; t < 3; ++t)
    for (std::size_t r = 0; r < 2; ++r) BOOST_CHECK(row_of(mask, t * 2 + r) == row_of(mask, r));
}

// ---- truncated BPTT -------------------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(detached_carry_keeps_values_and_stops_gradients) {
  std::mt19937_64 rng(13);
  LSTMCell<double> cell(kD, kH, rng);
  randomize(cell, 700);
  constexpr std::size_t T = 4, B = 2;
  const Tn x = rnd({T * B, kD}, 4);
  const Tn x1 = Tn(xt::view(x, xt::range(0, 2 * B), xt::all()));
  const Tn x2 = Tn(xt::view(x, xt::range(2 * B, 4 * B), xt::all()));

  Tape<double> long_tape;
  SequenceOutput<double> whole = run_sequence(long_tape, cell, long_tape.constant(x), B);

  for (bool detached : {true, false}) {
    BOOST_TEST_CONTEXT("detached " << detached) {
      Tape<double> tape;
      V in1 = tape.input(x1), in2 = tape.input(x2);
      SequenceOutput<double> first = run_sequence(tape, cell, in1, B);
      State carry = detached ? detach_state(first.final, tape) : first.final;
      SequenceOutput<double> second = run_sequence(tape, cell, in2, B, {}, carry);
      for (std::size_t t = 0; t < 2; ++t) {
        BOOST_CHECK_LT(max_abs_diff(first.outputs[t].value(), whole.outputs[t].value()), 1e-12);
        BOOST_CHECK_LT(max_abs_diff(second.outputs[t].value(), whole.outputs[t + 2].value()), 1e-12);
      }
      BOOST_CHECK_LT(max_abs_diff(second.final.c.value(), whole.final.c.value()), 1e-12);
      tape.backward(sum(concat_outputs(second.outputs)));
      BOOST_CHECK(in2.has_grad());
      BOOST_CHECK_EQUAL(in1.has_grad(), !detached);  // a gradient crosses the boundary only when attached
      BOOST_CHECK_EQUAL(carry.h.requires_grad(), !detached);
    }
  }

  // detach_state onto another tape: constants with the same values.
  Tape<double> other;
  State moved = detach_state(whole.final, other);
  BOOST_CHECK(&moved.h.tape() == &other);
  BOOST_CHECK(moved.c.value() == whole.final.c.value());
  BOOST_CHECK(!moved.h.requires_grad());
}

BOOST_AUTO_TEST_CASE(truncated_bptt_chunks_equal_the_long_run_forward_and_cut_gradients) {
  std::mt19937_64 rng(14);
  GRUCell<double> cell(kD, kH, rng);
  randomize(cell, 800);
  constexpr std::size_t T = 7, B = 2, K = 3;  // chunks [0,3) [3,6) [6,7)
  const Tn x = rnd({T * B, kD}, 5);
  const Tn probe = rnd({T * B, kH}, 6);
  auto rows = [&](const Tn& m, std::size_t begin, std::size_t end) {
    return Tn(xt::view(m, xt::range(begin * B, end * B), xt::all()));
  };
  const auto params = cell.parameters();

  // Full BPTT over all T steps.
  zero_grads(params);
  Tape<double> long_tape;
  SequenceOutput<double> whole = run_sequence(long_tape, cell, long_tape.constant(x), B);
  V whole_out = concat_outputs(whole.outputs);
  long_tape.backward(sum(mask_mul(whole_out, probe)));
  const std::vector<Tn> full_grads = grads_of(params);

  // The helper.
  zero_grads(params);
  Tape<double> tape;
  std::vector<Tn> chunk_outputs;
  std::vector<std::pair<std::size_t, std::size_t>> chunks;
  std::vector<StateValues<double>> last = truncated_bptt(
      tape, T, K, [&](Tape<double>& t, std::size_t begin, std::size_t end, const std::vector<State>& carry) {
        chunks.emplace_back(begin, end);
        if (begin == 0) {
          BOOST_CHECK(carry.empty());
        } else {
          BOOST_CHECK(!carry.at(0).h.requires_grad());
        }
        std::optional<State> init;
        if (!carry.empty()) init = carry[0];
        SequenceOutput<double> r = run_sequence(t, cell, t.constant(rows(x, begin, end)), B, {}, init);
        V out = concat_outputs(r.outputs);
        chunk_outputs.push_back(out.value());
        t.backward(sum(mask_mul(out, rows(probe, begin, end))));
        return std::vector<State>{r.final};
      });
  const std::vector<Tn> helper_grads = grads_of(params);
  BOOST_REQUIRE_EQUAL(chunks.size(), 3u);
  BOOST_CHECK(chunks[2] == std::make_pair(std::size_t(6), std::size_t(7)));
  for (std::size_t c = 0; c < chunks.size(); ++c)
    BOOST_CHECK_LT(max_abs_diff(chunk_outputs[c], rows(whole_out.value(), chunks[c].first, chunks[c].second)), 1e-12);
  BOOST_REQUIRE_EQUAL(last.size(), 1u);
  BOOST_CHECK_LT(max_abs_diff(last[0].h, whole.final.h.value()), 1e-12);

  // The expected truncated gradient, independently: each chunk from a constant start
  // state taken from the long run, on its own tape.
  zero_grads(params);
  for (const auto& [begin, end] : chunks) {
    Tape<double> t;
    std::optional<State> init;
    if (begin > 0) init = State{t.constant(whole.outputs[begin - 1].value()), {}};
    SequenceOutput<double> r = run_sequence(t, cell, t.constant(rows(x, begin, end)), B, {}, init);
    t.backward(sum(mask_mul(concat_outputs(r.outputs), rows(probe, begin, end))));
  }
  double truncation_effect = 0;
  for (std::size_t k = 0; k < params.size(); ++k) {
    BOOST_CHECK_LT(max_abs_diff(helper_grads[k], params[k]->grad), 1e-12);
    truncation_effect = std::max(truncation_effect, max_abs_diff(helper_grads[k], full_grads[k]));
  }
  BOOST_CHECK_GT(truncation_effect, 1e-6);  // truncation really cut something

  const std::vector<std::size_t> lens = chunk_lengths({7, 2, 4}, 3, 6);
  BOOST_CHECK(lens == std::vector<std::size_t>({3, 0, 1}));
}

// ---- teacher forcing, scheduled sampling, generation ---------------------------------------------------------------

namespace {

constexpr std::size_t kVocab = 5;

// A random token model: embedding -> GRU -> linear.
struct TokenModel {
  std::mt19937_64 rng{15};
  Embedding<double> embedding{kVocab, kD, rng, 1.0};
  GRUCell<double> cell{kD, kH, rng};
  Linear<double> readout{kH, kVocab, rng};
  TokenModel() {
    randomize(cell, 900);
    randomize(readout, 950);
  }
  DecoderStep<double> step() const { return cell_decoder(cell, token_io(embedding, readout)); }
  ParameterList<double> parameters() {
    ParameterList<double> p = embedding.parameters();
    for (auto* q : cell.parameters()) p.push_back(q);
    for (auto* q : readout.parameters()) p.push_back(q);
    return p;
  }
};

// A deterministic model that predicts (id + 1) mod V: one-hot embedding of id + 1,
// identity Elman cell with no recurrence, identity readout.
struct ShiftModel {
  std::mt19937_64 rng{16};
  Embedding<double> embedding{kVocab, kVocab, rng};
  ElmanCell<double> cell{kVocab, kVocab, rng, ElmanOptions().with_activation(Activation::Identity)};
  Linear<double> readout{kVocab, kVocab, rng};
  ShiftModel() {
    embedding.table.value = zeros<double>({kVocab, kVocab});
    for (std::size_t v = 0; v < kVocab; ++v) embedding.table.value(v, (v + 1) % kVocab) = 10.0;
    cell.W_ih.value = xt::eye<double>(kVocab);
    cell.W_hh.value.fill(0.0);
    readout.W.value = xt::eye<double>(kVocab);
    readout.b->value.fill(0.0);
  }
  DecoderStep<double> step() const { return cell_decoder(cell, token_io(embedding, readout)); }
};

std::int64_t argmax_row(const Tn& logits, std::size_t b) {
  std::size_t best = 0;
  for (std::size_t v = 1; v < logits.shape()[1]; ++v)
    if (logits(b, v) > logits(b, best)) best = v;
  return static_cast<std::int64_t>(best);
}

}  // namespace

BOOST_AUTO_TEST_CASE(scheduled_sampling_with_p1_is_teacher_forcing) {
  TokenModel m;
  constexpr std::size_t T = 4, B = 3;
  const Ids start{0, 0, 0};
  const Ids gold{1, 2, 3, 4, 1, 2, 3, -100, 4, 2, -100, -100};  // time-major; -100 pads
  const auto params = m.parameters();

  zero_grads(params);
  std::mt19937_64 rng(17), untouched(17);
  Tape<double> tape;
  DecodeResult<double> r = decode(tape, m.step(), {}, start, gold, DecodeOptions().with_teacher_forcing(1.0), &rng);
  tape.backward(r.loss);
  const std::vector<Tn> decode_grads = grads_of(params);
  BOOST_CHECK(rng == untouched);  // p = 1 draws nothing
  BOOST_CHECK_EQUAL(r.tokens, 9u);
  BOOST_REQUIRE_EQUAL(r.logits.size(), T);

  // Teacher forcing by hand: inputs = start, gold_0 .. gold_{T-2}, one run_sequence.
  // After a padded gold token decode feeds its prediction; take that from r.inputs.
  Ids inputs = start;
  for (std::size_t i = 0; i < (T - 1) * B; ++i) inputs.push_back(gold[i] != -100 ? gold[i] : r.inputs[B + i]);
  BOOST_CHECK(r.inputs == inputs);
  zero_grads(params);
  Tape<double> tf;
  SequenceOutput<double> run = run_sequence(tf, m.cell, m.embedding.forward(tf, inputs), B);
  V logits = m.readout.forward(tf, concat_outputs(run.outputs));
  ClassLossOptions<double> sum_loss;
  sum_loss.reduction = Reduction::Sum;
  V loss = cross_entropy(logits, gold, sum_loss);
  tf.backward(loss);
  BOOST_CHECK_CLOSE(r.loss.item(), loss.item(), 1e-10);
  for (std::size_t t = 0; t < T; ++t)
    BOOST_CHECK_LT(max_abs_diff(r.logits[t].value(), Tn(xt::view(logits.value(), xt::range(t * B, (t + 1) * B), xt::all()))), 1e-12);
  for (std::size_t k = 0; k < params.size(); ++k)
    BOOST_CHECK_MESSAGE(max_abs_diff(decode_grads[k], params[k]->grad) < 1e-12, "gradient of " << params[k]->name);
}

BOOST_AUTO_TEST_CASE(scheduled_sampling_with_p0_feeds_the_models_predictions) {
  ShiftModel m;
  constexpr std::size_t T = 6, B = 2;
  const Ids start{0, 3};
  const Ids gold(T * B, 0);  // never what the model predicts after a non-(V-1) token
  std::mt19937_64 rng(18), untouched(18);
  Tape<double> tape;
  DecodeResult<double> r = decode(tape, m.step(), {}, start, gold, DecodeOptions().with_teacher_forcing(0.0), &rng);
  BOOST_CHECK(rng == untouched);  // argmax feeding draws nothing
  // The shift model's prediction after id is id + 1: inputs climb from the start token.
  for (std::size_t t = 0; t < T; ++t)
    for (std::size_t b = 0; b < B; ++b) {
      BOOST_CHECK_EQUAL(r.inputs[t * B + b], static_cast<std::int64_t>((start[b] + t) % kVocab));
      if (t > 0) BOOST_CHECK_EQUAL(r.inputs[t * B + b], argmax_row(r.logits[t - 1].value(), b));
    }

  // The same on a random model: every fed token is the argmax of the previous logits.
  TokenModel random_model;
  DecodeResult<double> q = decode(tape, random_model.step(), {}, Ids{1, 2, 3}, Ids(5 * 3, 4),
                                  DecodeOptions().with_teacher_forcing(0.0));
  for (std::size_t t = 1; t < 5; ++t)
    for (std::size_t b = 0; b < 3; ++b) BOOST_CHECK_EQUAL(q.inputs[t * 3 + b], argmax_row(q.logits[t - 1].value(), b));
}

BOOST_AUTO_TEST_CASE(scheduled_sampling_mixes_gold_and_predictions) {
  ShiftModel m;
  constexpr std::size_t T = 10, B = 64;
  const Ids start(B, 1);
  const Ids gold(T * B, 0);
  std::mt19937_64 rng(19);
  Tape<double> tape;
  DecodeResult<double> r = decode(tape, m.step(), {}, start, gold, DecodeOptions().with_teacher_forcing(0.5), &rng);
  std::size_t from_gold = 0, from_model = 0;
  for (std::size_t t = 1; t < T; ++t)
    for (std::size_t b = 0; b < B; ++b) {
      const std::int64_t fed = r.inputs[t * B + b], prediction = argmax_row(r.logits[t - 1].value(), b);
      BOOST_CHECK(fed == 0 || fed == prediction);
      if (prediction == 0) continue;  // ambiguous
      (fed == 0 ? from_gold : from_model) += 1;
    }
  const double share = double(from_gold) / double(from_gold + from_model);
  BOOST_CHECK_GT(share, 0.4);
  BOOST_CHECK_LT(share, 0.6);
  BOOST_CHECK_CLOSE(inverse_sigmoid_decay(0.0, 1.0), 0.5, 1e-12);
  BOOST_CHECK_CLOSE(linear_decay(10.0, 1.0, 0.05), 0.5, 1e-12);
  BOOST_CHECK_CLOSE(exponential_decay(2.0, 0.5), 0.25, 1e-12);
}

BOOST_AUTO_TEST_CASE(greedy_generation_follows_the_model) {
  ShiftModel m;
  std::mt19937_64 rng(20);
  GenerateOptions greedy;
  greedy.greedy = true;
  BOOST_CHECK(generate(m.step(), Ids{4, 2}, 4, rng, greedy) == Ids({3, 4, 0, 1}));  // after the prime's last token
  BOOST_CHECK(generate(m.step(), Ids{2}, 10, rng, GenerateOptions(greedy).with_stop(0)) == Ids({3, 4, 0}));
  // Two sequences, time-major; the first stops and then repeats its stop id.
  BOOST_CHECK(generate(m.step(), Ids{3, 1}, 4, rng, GenerateOptions(greedy).with_batch(2).with_stop(0)) ==
              Ids({4, 2, 0, 3, 0, 4, 0, 0}));
}

BOOST_AUTO_TEST_CASE(generation_from_an_encoder_state_matches_free_running_decode) {
  TokenModel m;
  Tape<double> encoder;
  SequenceOutput<double> enc = run_sequence(encoder, m.cell, encoder.constant(rnd({2 * 2, kD}, 21)), 2);
  std::mt19937_64 rng(22);
  Tape<double> tape;
  DecodeResult<double> r = decode(tape, m.step(), {detach_state(enc.final, tape)}, Ids{0, 1}, Ids(6 * 2, 0),
                                  DecodeOptions().with_teacher_forcing(0.0));
  // Record the logits generate sees at each step.
  std::vector<Tn> seen;
  const DecoderStep<double> inner = m.step();
  const DecoderStep<double> recording = [&](Tape<double>& t, const Ids& ids, std::vector<State>& states) {
    V logits = inner(t, ids, states);
    seen.push_back(logits.value());
    return logits;
  };
  Ids generated = generate(recording, Ids{0, 1}, 5, rng, GenerateOptions().with_batch(2).with_greedy(), {enc.final});
  BOOST_CHECK(Ids(r.inputs.begin() + 2, r.inputs.end()) == generated);
  BOOST_REQUIRE_EQUAL(seen.size(), 5u);  // the prime step, then one per generated id but the last
  for (std::size_t t = 0; t < 5; ++t) BOOST_CHECK_LT(max_abs_diff(seen[t], r.logits[t].value()), 1e-12);
  // Without the encoder state the logits differ (the state is used).
  seen.clear();
  generate(recording, Ids{0, 1}, 5, rng, GenerateOptions().with_batch(2).with_greedy());
  BOOST_CHECK_GT(max_abs_diff(seen[0], r.logits[0].value()), 1e-6);
}

BOOST_AUTO_TEST_CASE(sampling_follows_softmax_with_temperature) {
  const std::vector<double> logits{0.0, std::log(2.0), 0.0};  // softmax: 1/4, 1/2, 1/4
  std::mt19937_64 rng(23);
  std::vector<int> counts(3, 0);
  constexpr int N = 40000;
  for (int i = 0; i < N; ++i) counts[choose_token(logits.data(), 3, false, 1.0, rng)]++;
  BOOST_CHECK_CLOSE(counts[1] / double(N), 0.5, 3.0);
  BOOST_CHECK_CLOSE(counts[0] / double(N), 0.25, 4.0);
  // Temperature 2: p ∝ (1, √2, 1).
  std::fill(counts.begin(), counts.end(), 0);
  for (int i = 0; i < N; ++i) counts[choose_token(logits.data(), 3, false, 2.0, rng)]++;
  BOOST_CHECK_CLOSE(counts[1] / double(N), std::sqrt(2.0) / (2 + std::sqrt(2.0)), 3.0);
  // A low temperature is nearly greedy; greedy is the argmax.
  int top = 0;
  for (int i = 0; i < 1000; ++i) top += choose_token(logits.data(), 3, false, 0.01, rng) == 1;
  BOOST_CHECK_EQUAL(top, 1000);
  BOOST_CHECK_EQUAL(choose_token(logits.data(), 3, true, 1.0, rng), 1);

  // Sampled generation from the shift model (logit 10 vs 0) almost always follows it,
  // but a high temperature does not.
  ShiftModel m;
  Ids hot = generate(m.step(), Ids{0}, 200, rng, GenerateOptions().with_temperature(100.0));
  std::size_t followed = 0;
  std::int64_t prev = 0;
  for (std::int64_t id : hot) {
    followed += id == (prev + 1) % std::int64_t(kVocab);
    prev = id;
  }
  BOOST_CHECK_LT(followed, 120u);
  Ids cold = generate(m.step(), Ids{0}, 20, rng, GenerateOptions().with_temperature(0.5));
  BOOST_CHECK(cold == Ids({1, 2, 3, 4, 0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 0}));
}

BOOST_AUTO_TEST_CASE(stacked_decoder_drives_a_stack) {
  std::mt19937_64 rng(24);
  Embedding<double> embedding(kVocab, kD, rng, 1.0);
  StackedRNN<double> rnn(kD, kH, factory<LSTMCell<double>>(rng), StackedOptions<double>().with_layers(2));
  Linear<double> readout(kH, kVocab, rng);
  randomize(rnn, 1000);
  DecoderStep<double> step = stacked_decoder(rnn, token_io(embedding, readout));
  const Ids start{1, 2}, gold{3, 4, 0, 1, 2, 3};
  Tape<double> tape;
  DecodeResult<double> r = decode(tape, step, {}, start, gold);
  BOOST_CHECK_EQUAL(r.final.size(), 2u);
  // Teacher forcing through the stack = the stack's forward over the embedded inputs.
  StackedOutput<double> whole = rnn.forward(tape, embedding.forward(tape, Ids{1, 2, 3, 4, 0, 1}), 2);
  for (std::size_t t = 0; t < 3; ++t)
    BOOST_CHECK_LT(max_abs_diff(r.logits[t].value(), readout.forward(tape, whole.outputs[t]).value()), 1e-12);
}
