// Recurrent cells: gradients (gradcheck over 3 unrolled steps, every cell and option),
// forward values against the equations written as plain scalar loops, the GRU's
// saturated update gate, an Elman RNN that learns to add, the float instantiation,
// initialisation and the fused layout.
#define BOOST_TEST_MODULE cells
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include <xtensor/xmath.hpp>
#include <xtensor/xreducer.hpp>

#include "autograd/gradcheck.hpp"
#include "layers/basic.hpp"
#include "layers/cells.hpp"
#include "optim/optimizer.hpp"
#include "tests/testing.hpp"

using namespace tapenet;
using tapenet::testing::randomise;
using Vec = std::vector<double>;

namespace {

constexpr std::size_t kD = 3, kH = 4;

using testing::max_abs_diff;

// ---- gradcheck --------------------------------------------------------------------------

// The largest |gradient| reaching each leaf of f's graph: every parameter, then every input.
std::vector<double> gradient_sizes(const GradcheckFn& f, const std::vector<Tensor<double>>& inputs,
                                   const ParameterList<double>& params) {
  for (auto* p : params) p->zero_grad();
  Tape<double> tape;
  std::vector<Var<double>> leaves;
  for (const auto& x : inputs) leaves.push_back(tape.input(x));
  tape.backward(f(tape, leaves));
  std::vector<double> sizes;
  for (auto* p : params) sizes.push_back(xt::amax(xt::abs(p->grad))());
  for (const auto& v : leaves) sizes.push_back(v.has_grad() ? double(xt::amax(xt::abs(v.grad()))()) : 0.0);
  for (auto* p : params) p->zero_grad();
  return sizes;
}

// gradcheck over 3 unrolled steps with batch 2. Inputs: x_1..x_3 [2, D], then h_0 (and
// C_0). The objective is a fixed random projection ⟨R, [h_1 h_2 h_3 (C_3)]⟩, reduced to a
// scalar here so that every h_t and C_3 enters it. Each parameter and input must also get
// a non-zero gradient, so a leaf cut from the graph (analytic 0 = numeric 0) cannot pass.
void expect_gradcheck(RecurrentCell<double>& cell, std::uint64_t seed = 1) {
  constexpr std::size_t steps = 3, batch = 2;
  randomise(cell, seed);
  std::mt19937_64 rng(seed + 100);
  std::vector<Tensor<double>> inputs;
  for (std::size_t t = 0; t < steps; ++t) inputs.push_back(init::normal<double>({batch, cell.input_size()}, 1.0, rng));
  inputs.push_back(init::normal<double>({batch, cell.hidden_size()}, 0.5, rng));
  if (cell.has_cell_state()) inputs.push_back(init::normal<double>({batch, cell.hidden_size()}, 0.5, rng));
  const std::size_t width = (steps + (cell.has_cell_state() ? 1 : 0)) * cell.hidden_size();
  const Tensor<double> R = init::normal<double>({batch, width}, 1.0, rng);
  const GradcheckFn objective = [&cell, &R](Tape<double>& tape, const std::vector<Var<double>>& in) {
    RecurrentState<double> s{in[steps], cell.has_cell_state() ? in[steps + 1] : Var<double>()};
    std::vector<Var<double>> outputs;
    for (std::size_t t = 0; t < steps; ++t) {
      s = cell.step(tape, in[t], s);
      outputs.push_back(s.h);
    }
    if (s.c.valid()) outputs.push_back(s.c);
    return sum(mask_mul(concat(outputs, 1), R));
  };
  const ParameterList<double> params = cell.parameters();
  const GradcheckResult r = gradcheck(objective, inputs, params);
  BOOST_TEST(r.ok, r.message());
  // Every parameter entry and every input entry was compared.
  std::size_t expected = cell.parameter_count();
  for (const auto& x : inputs) expected += x.size();
  BOOST_TEST(r.checked == expected);
  const std::vector<double> sizes = gradient_sizes(objective, inputs, params);
  for (std::size_t k = 0; k < sizes.size(); ++k) {
    const std::string leaf = k < params.size() ? "parameter " + params[k]->name : "input " + std::to_string(k - params.size());
    BOOST_TEST(sizes[k] > 1e-6, leaf << " gets no gradient");
  }
}

// ---- forward values against scalar loops -------------------------------------------------

double sigmoid_ref(double x) { return 1.0 / (1.0 + std::exp(-x)); }

double phi_ref(double x, Activation a) {
  switch (a) {
    case Activation::Tanh: return std::tanh(x);
    case Activation::Sigmoid: return sigmoid_ref(x);
    case Activation::Relu: return x > 0 ? x : 0.0;
    case Activation::Identity: break;
  }
  return x;
}

// Σ_j W[row, j] v[j]
double dot_row(const Tensor<double>& W, std::size_t row, const Vec& v) {
  double s = 0;
  for (std::size_t j = 0; j < v.size(); ++j) s += W(row, j) * v[j];
  return s;
}

// Row `row` of W_ih x + b_ih and of W_hh h + b_hh.
double input_part(const FusedGateCell<double>& cell, std::size_t row, const Vec& x) {
  return dot_row(cell.W_ih.value, row, x) + cell.b_ih.value(0, row);
}
double recurrent_part(const FusedGateCell<double>& cell, std::size_t row, const Vec& h) {
  return dot_row(cell.W_hh.value, row, h) + cell.b_hh.value(0, row);
}
// Gate block k, unit j, of the full pre-activation.
double preact(const FusedGateCell<double>& cell, std::size_t k, std::size_t j, const Vec& x, const Vec& h) {
  const std::size_t row = k * cell.units() + j;
  return input_part(cell, row, x) + recurrent_part(cell, row, h);
}

double peephole(const Parameter<double>* p, std::size_t j, double c) { return p ? p->value(0, j) * c : 0.0; }

struct RefState {
  Vec h, c;
};

RefState elman_ref(const ElmanCell<double>& cell, const Vec& x, const RefState& s) {
  Vec h(kH);
  for (std::size_t j = 0; j < kH; ++j) h[j] = phi_ref(preact(cell, 0, j, x, s.h), cell.options().activation);
  return {h, {}};
}

RefState jordan_ref(const JordanCell<double>& cell, const Vec& x, const RefState& s) {
  Vec a(cell.units()), y(cell.output_size());
  for (std::size_t j = 0; j < a.size(); ++j) a[j] = phi_ref(preact(cell, 0, j, x, s.h), cell.options().activation);
  for (std::size_t o = 0; o < y.size(); ++o)
    y[o] = phi_ref(dot_row(cell.V.value, o, a) + cell.c.value(0, o), cell.options().output_activation);
  return {y, {}};
}

RefState lstm_ref(const LSTMCell<double>& cell, const Vec& x, const RefState& s) {
  const bool coupled = cell.options().coupled;
  Vec h(kH), c(kH);
  for (std::size_t j = 0; j < kH; ++j) {
    const std::size_t F = coupled ? 0 : 1;  // gate blocks: [i,] f, g, o
    const double f = sigmoid_ref(preact(cell, F, j, x, s.h) + peephole(cell.p_f, j, s.c[j]));
    const double g = std::tanh(preact(cell, F + 1, j, x, s.h));
    const double i = coupled ? 1.0 - f : sigmoid_ref(preact(cell, 0, j, x, s.h) + peephole(cell.p_i, j, s.c[j]));
    c[j] = f * s.c[j] + i * g;
    const double o = sigmoid_ref(preact(cell, F + 2, j, x, s.h) + peephole(cell.p_o, j, c[j]));
    h[j] = o * std::tanh(c[j]);
  }
  return {h, c};
}

RefState gru_ref(const GRUCell<double>& cell, const Vec& x, const RefState& s) {
  Vec r(kH), z(kH), rh(kH), h(kH);
  for (std::size_t j = 0; j < kH; ++j) {
    r[j] = sigmoid_ref(preact(cell, 0, j, x, s.h));
    z[j] = sigmoid_ref(preact(cell, 1, j, x, s.h));
    rh[j] = r[j] * s.h[j];
  }
  for (std::size_t j = 0; j < kH; ++j) {
    const std::size_t row = 2 * kH + j;
    const double n = cell.options().reset_after
                         ? std::tanh(input_part(cell, row, x) + r[j] * recurrent_part(cell, row, s.h))
                         : std::tanh(input_part(cell, row, x) + recurrent_part(cell, row, rh));
    h[j] = z[j] * s.h[j] + (1.0 - z[j]) * n;
  }
  return {h, {}};
}

Vec row_of(const Tensor<double>& t, std::size_t b) {
  Vec v(t.shape()[1]);
  for (std::size_t j = 0; j < v.size(); ++j) v[j] = t(b, j);
  return v;
}

// Two steps of a batch of 2 through the tape and through `ref`, row by row, to 1e-12.
template <class Cell>
void expect_matches_reference(Cell& cell, RefState (*ref)(const Cell&, const Vec&, const RefState&)) {
  randomise(cell, 3);
  std::mt19937_64 rng(4);
  Tape<double> tape;
  const std::size_t batch = 2, width = cell.hidden_size();
  RecurrentState<double> s{tape.constant(init::normal<double>({batch, width}, 1.0, rng)), Var<double>()};
  if (cell.has_cell_state()) s.c = tape.constant(init::normal<double>({batch, width}, 1.0, rng));
  std::vector<RefState> expected(batch);
  for (std::size_t b = 0; b < batch; ++b) expected[b] = {row_of(s.h.value(), b), s.c.valid() ? row_of(s.c.value(), b) : Vec()};
  for (int t = 0; t < 2; ++t) {
    const Tensor<double> x = init::normal<double>({batch, kD}, 1.0, rng);
    s = cell.step(tape, tape.constant(x), s);
    for (std::size_t b = 0; b < batch; ++b) {
      expected[b] = ref(cell, row_of(x, b), expected[b]);
      for (std::size_t j = 0; j < width; ++j) {
        BOOST_TEST_CONTEXT("step " << t << ", row " << b << ", unit " << j) {
          BOOST_TEST(s.h.value()(b, j) == expected[b].h[j], boost::test_tools::tolerance(1e-12));
          if (s.c.valid()) BOOST_TEST(s.c.value()(b, j) == expected[b].c[j], boost::test_tools::tolerance(1e-12));
        }
      }
    }
  }
}

}  // namespace

// ---- gradients -----------------------------------------------------------------------------

BOOST_AUTO_TEST_SUITE(gradients)

BOOST_AUTO_TEST_CASE(elman_tanh) {
  std::mt19937_64 rng(1);
  ElmanCell<double> cell(kD, kH, rng, ElmanOptions().with_activation(Activation::Tanh));
  expect_gradcheck(cell);
}

BOOST_AUTO_TEST_CASE(elman_relu) {
  std::mt19937_64 rng(1);
  ElmanCell<double> cell(kD, kH, rng, ElmanOptions().with_activation(Activation::Relu));
  expect_gradcheck(cell);
}

BOOST_AUTO_TEST_CASE(elman_sigmoid) {
  std::mt19937_64 rng(1);
  ElmanCell<double> cell(kD, kH, rng, ElmanOptions().with_activation(Activation::Sigmoid));
  expect_gradcheck(cell);
}

BOOST_AUTO_TEST_CASE(jordan_linear_output) {
  std::mt19937_64 rng(1);
  JordanCell<double> cell(kD, kH, rng, JordanOptions().with_output_size(3));
  expect_gradcheck(cell);
}

BOOST_AUTO_TEST_CASE(jordan_tanh_output) {
  std::mt19937_64 rng(1);
  JordanCell<double> cell(kD, kH, rng,
                          JordanOptions().with_activation(Activation::Sigmoid).with_output_activation(Activation::Tanh));
  expect_gradcheck(cell);
}

BOOST_AUTO_TEST_CASE(lstm_plain) {
  std::mt19937_64 rng(1);
  LSTMCell<double> cell(kD, kH, rng);
  expect_gradcheck(cell);
}

BOOST_AUTO_TEST_CASE(lstm_peephole) {
  std::mt19937_64 rng(1);
  LSTMCell<double> cell(kD, kH, rng, LSTMOptions().with_peephole());
  expect_gradcheck(cell);
}

BOOST_AUTO_TEST_CASE(lstm_coupled) {
  std::mt19937_64 rng(1);
  LSTMCell<double> cell(kD, kH, rng, LSTMOptions().with_coupled());
  expect_gradcheck(cell);
}

BOOST_AUTO_TEST_CASE(lstm_peephole_coupled) {
  std::mt19937_64 rng(1);
  LSTMCell<double> cell(kD, kH, rng, LSTMOptions().with_peephole().with_coupled());
  expect_gradcheck(cell);
}

BOOST_AUTO_TEST_CASE(gru_reset_before) {
  std::mt19937_64 rng(1);
  GRUCell<double> cell(kD, kH, rng);
  expect_gradcheck(cell);
}

BOOST_AUTO_TEST_CASE(gru_reset_after) {
  std::mt19937_64 rng(1);
  GRUCell<double> cell(kD, kH, rng, GRUOptions().with_reset_after());
  expect_gradcheck(cell);
}

BOOST_AUTO_TEST_SUITE_END()

// ---- forward values ------------------------------------------------------------------------

BOOST_AUTO_TEST_SUITE(forward)

BOOST_AUTO_TEST_CASE(elman_matches_equations) {
  for (Activation a : {Activation::Tanh, Activation::Relu, Activation::Sigmoid, Activation::Identity}) {
    BOOST_TEST_CONTEXT(activation_name(a)) {
      std::mt19937_64 rng(1);
      ElmanCell<double> cell(kD, kH, rng, ElmanOptions().with_activation(a));
      expect_matches_reference(cell, &elman_ref);
    }
  }
}

BOOST_AUTO_TEST_CASE(jordan_matches_equations) {
  std::mt19937_64 rng(1);
  JordanCell<double> cell(kD, kH, rng, JordanOptions().with_output_size(3).with_output_activation(Activation::Tanh));
  // The carried state is the output y: hidden_size() is its width O, not the H hidden units.
  BOOST_TEST(cell.hidden_size() == 3u);
  BOOST_TEST(cell.output_size() == 3u);
  BOOST_TEST(cell.hidden_layer_size() == kH);
  Tape<double> tape;
  const RecurrentState<double> s = cell.step(tape, tape.constant(zeros<double>({2, kD})), cell.zero_state(tape, 2));
  BOOST_TEST(JordanCell<double>::output(s).dim(1) == 3u);
  expect_matches_reference(cell, &jordan_ref);
}

BOOST_AUTO_TEST_CASE(lstm_matches_equations) {
  for (bool peephole : {false, true})
    for (bool coupled : {false, true}) {
      BOOST_TEST_CONTEXT("peephole " << peephole << ", coupled " << coupled) {
        std::mt19937_64 rng(1);
        LSTMCell<double> cell(kD, kH, rng, LSTMOptions().with_peephole(peephole).with_coupled(coupled));
        expect_matches_reference(cell, &lstm_ref);
      }
    }
}

BOOST_AUTO_TEST_CASE(gru_matches_equations) {
  for (bool reset_after : {false, true}) {
    BOOST_TEST_CONTEXT("reset_after " << reset_after) {
      std::mt19937_64 rng(1);
      GRUCell<double> cell(kD, kH, rng, GRUOptions().with_reset_after(reset_after));
      expect_matches_reference(cell, &gru_ref);
    }
  }
}

// The sequence runner's path: one GEMM over all T·B input rows, then step_projected on
// each step's rows, gives what step() gives.
BOOST_AUTO_TEST_CASE(projecting_a_whole_sequence_equals_stepping) {
  constexpr std::size_t steps = 4, batch = 3;
  std::mt19937_64 rng(5);
  LSTMCell<double> cell(kD, kH, rng, LSTMOptions().with_peephole());
  randomise(cell, 6);
  Tape<double> tape;
  const Var<double> xs = tape.constant(init::normal<double>({steps * batch, kD}, 1.0, rng));
  const Var<double> projected = cell.project_input(tape, xs);
  RecurrentState<double> a = cell.zero_state(tape, batch), b = a;
  for (std::size_t t = 0; t < steps; ++t) {
    a = cell.step(tape, slice(xs, 0, t * batch, (t + 1) * batch), a);
    b = cell.step_projected(tape, slice(projected, 0, t * batch, (t + 1) * batch), b);
  }
  BOOST_TEST(max_abs_diff(a.h.value(), b.h.value()) <= 1e-14);
  BOOST_TEST(max_abs_diff(a.c.value(), b.c.value()) <= 1e-14);
  BOOST_TEST(max_abs_diff(a.h.value(), zeros<double>({batch, kH})) > 0.01);
}

BOOST_AUTO_TEST_SUITE_END()

// ---- behaviour -------------------------------------------------------------------------------

// z = σ(50 + …) rounds to exactly 1 in double, so h_t = z⊙h_{t-1} + (1-z)⊙n = h_{t-1} bit
// for bit, whatever the input. With the update gate at 0 the state must move instead.
BOOST_AUTO_TEST_CASE(gru_with_saturated_update_gate_copies_its_state) {
  for (bool reset_after : {false, true}) {
    for (double z_bias : {50.0, 0.0}) {
      BOOST_TEST_CONTEXT("reset_after " << reset_after << ", z bias " << z_bias) {
        std::mt19937_64 rng(7);
        GRUCell<double> cell(kD, kH, rng, GRUOptions().with_reset_after(reset_after));
        for (std::size_t j = kH; j < 2 * kH; ++j) cell.b_ih.value(0, j) = z_bias;  // block 1 = z
        Tape<double> tape;
        const Tensor<double> h0 = init::normal<double>({2, kH}, 1.0, rng);
        RecurrentState<double> s{tape.constant(h0), Var<double>()};
        for (int t = 0; t < 6; ++t) {
          s = cell.step(tape, tape.constant(init::normal<double>({2, kD}, 2.0, rng)), s);
          const double moved = max_abs_diff(s.h.value(), h0);
          if (z_bias > 0) BOOST_TEST(moved == 0.0);
          else BOOST_TEST(moved > 1e-3);
        }
      }
    }
  }
}

// Many-to-one regression: an Elman RNN (tanh, H = 8) reads 5 numbers from U(-1, 1) and a
// linear readout of its last state must give their sum.
BOOST_AUTO_TEST_CASE(elman_learns_to_add_its_inputs) {
  constexpr std::size_t steps = 5, batch = 32, hidden = 8;
  std::mt19937_64 rng(11);
  ElmanCell<double> cell(1, hidden, rng);
  Linear<double> readout(hidden, 1, rng);
  ParameterList<double> params = cell.parameters();
  for (auto* p : readout.parameters()) params.push_back(p);
  Adam<double> opt(params, AdamOptions().with_lr(0.02));
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  Tape<double> tape;
  // One random batch: its mse loss on `tape` (the tape is cleared first).
  auto batch_loss = [&]() {
    tape.clear();
    Tensor<double> sum = zeros<double>({batch, 1});
    RecurrentState<double> s = cell.zero_state(tape, batch);
    for (std::size_t t = 0; t < steps; ++t) {
      Tensor<double> x = Tensor<double>::from_shape({batch, 1});
      for (auto& v : x) v = u(rng);
      sum += x;
      s = cell.step(tape, tape.constant(x), s);
    }
    return mse(readout.forward(tape, s.h), tape.constant(sum));
  };
  const double initial = batch_loss().item();
  for (int it = 0; it < 500; ++it) {
    if (it == 350) opt.set_lr(0.005);
    opt.zero_grad();
    tape.backward(batch_loss());
    opt.step();
  }
  double held_out = 0;
  for (int k = 0; k < 4; ++k) held_out += batch_loss().item() / 4;
  BOOST_TEST_MESSAGE("sum task: mse " << initial << " -> " << held_out);
  BOOST_TEST(initial > 0.5);
  BOOST_TEST(held_out < 1e-2);
}

// The float instantiation computes what the double one does, to float precision.
template <template <class> class Cell, class Options>
void expect_float_matches_double(const Options& options) {
  std::mt19937_64 rng_d(9), rng_f(9);
  Cell<double> cd(kD, kH, rng_d, options);
  Cell<float> cf(kD, kH, rng_f, options);
  randomise(cd, 10);
  const auto pd = cd.parameters();
  const auto pf = cf.parameters();
  BOOST_REQUIRE(pd.size() == pf.size());
  for (std::size_t k = 0; k < pd.size(); ++k) pf[k]->value = xt::cast<float>(pd[k]->value);
  std::mt19937_64 rng(12);
  Tape<double> td;
  Tape<float> tf;
  RecurrentState<double> sd = cd.zero_state(td, 2);
  RecurrentState<float> sf = cf.zero_state(tf, 2);
  for (int t = 0; t < 3; ++t) {
    const Tensor<double> x = init::normal<double>({2, kD}, 1.0, rng);
    sd = cd.step(td, td.constant(x), sd);
    sf = cf.step(tf, tf.constant(xt::cast<float>(x)), sf);
  }
  const Tensor<double> hf = xt::cast<double>(sf.h.value());
  BOOST_TEST(max_abs_diff(hf, sd.h.value()) < 1e-5);
  BOOST_TEST(max_abs_diff(sd.h.value(), zeros<double>({2, cd.hidden_size()})) > 1e-2);
}

BOOST_AUTO_TEST_CASE(float_instantiation_matches_double) {
  BOOST_TEST_CONTEXT("Elman") expect_float_matches_double<ElmanCell>(ElmanOptions());
  BOOST_TEST_CONTEXT("Jordan") expect_float_matches_double<JordanCell>(JordanOptions().with_output_size(2));
  BOOST_TEST_CONTEXT("LSTM") expect_float_matches_double<LSTMCell>(LSTMOptions().with_peephole());
  BOOST_TEST_CONTEXT("coupled LSTM") expect_float_matches_double<LSTMCell>(LSTMOptions().with_coupled());
  BOOST_TEST_CONTEXT("GRU") expect_float_matches_double<GRUCell>(GRUOptions());
  BOOST_TEST_CONTEXT("GRU reset_after") expect_float_matches_double<GRUCell>(GRUOptions().with_reset_after());
}

// ---- initialisation and layout ---------------------------------------------------------------

// Ones exactly in b_ih's forget block (block 1, or 0 when coupled); zero elsewhere.
BOOST_AUTO_TEST_CASE(lstm_forget_bias_starts_at_one) {
  for (bool coupled : {false, true})
    for (bool unit : {true, false}) {
      BOOST_TEST_CONTEXT("coupled " << coupled << ", unit_forget_bias " << unit) {
        std::mt19937_64 rng(1);
        LSTMCell<float> cell(kD, kH, rng, LSTMOptions().with_coupled(coupled).with_unit_forget_bias(unit));
        const std::size_t f = coupled ? 0 : 1;
        BOOST_TEST(cell.forget_gate() == f);
        for (std::size_t j = 0; j < cell.gate_count() * kH; ++j) {
          const bool in_forget_block = j / kH == f;
          BOOST_TEST(cell.b_ih.value(0, j) == (unit && in_forget_block ? 1.0f : 0.0f));
          BOOST_TEST(cell.b_hh.value(0, j) == 0.0f);
        }
      }
    }
}

BOOST_AUTO_TEST_CASE(parameter_layout_follows_pytorch) {
  std::mt19937_64 rng(1);
  auto shapes = [](Module<double>& m) {
    std::vector<std::pair<std::string, Shape>> out;
    for (auto* p : m.parameters()) out.emplace_back(p->name, to_shape(p->value.shape()));
    return out;
  };
  using Layout = std::vector<std::pair<std::string, Shape>>;
  auto fused = [](std::size_t rows, std::size_t rec) {
    return Layout{{"W_ih", {rows, kD}}, {"W_hh", {rows, rec}}, {"b_ih", {1, rows}}, {"b_hh", {1, rows}}};
  };
  ElmanCell<double> elman(kD, kH, rng);
  BOOST_TEST((shapes(elman) == fused(kH, kH)));
  JordanCell<double> jordan(kD, kH, rng, JordanOptions().with_output_size(2));
  Layout jordan_layout = fused(kH, 2);
  jordan_layout.push_back({"V", {2, kH}});
  jordan_layout.push_back({"c", {1, 2}});
  BOOST_TEST((shapes(jordan) == jordan_layout));
  LSTMCell<double> lstm(kD, kH, rng);
  BOOST_TEST((shapes(lstm) == fused(4 * kH, kH)));
  LSTMCell<double> peep(kD, kH, rng, LSTMOptions().with_peephole());
  Layout peep_layout = fused(4 * kH, kH);
  for (const char* p : {"p_i", "p_f", "p_o"}) peep_layout.push_back({p, {1, kH}});
  BOOST_TEST((shapes(peep) == peep_layout));
  LSTMCell<double> coupled(kD, kH, rng, LSTMOptions().with_peephole().with_coupled());
  Layout coupled_layout = fused(3 * kH, kH);
  for (const char* p : {"p_f", "p_o"}) coupled_layout.push_back({p, {1, kH}});
  BOOST_TEST((shapes(coupled) == coupled_layout));
  BOOST_TEST(coupled.p_i == nullptr);
  GRUCell<double> gru(kD, kH, rng);
  BOOST_TEST((shapes(gru) == fused(3 * kH, kH)));
}

// W_ih ~ Glorot U(-a, a) over the whole fused matrix; each gate block of W_hh orthogonal.
BOOST_AUTO_TEST_CASE(initialisation_is_glorot_and_blockwise_orthogonal) {
  std::mt19937_64 rng(2);
  LSTMCell<double> cell(kD, kH, rng);
  const double a = std::sqrt(6.0 / double(4 * kH + kD));
  double largest = 0;
  for (double w : cell.W_ih.value) largest = std::max(largest, std::abs(w));
  BOOST_TEST(largest <= a);
  BOOST_TEST(largest > a / 2);
  for (std::size_t k = 0; k < 4; ++k)
    for (std::size_t i = 0; i < kH; ++i)
      for (std::size_t j = 0; j < kH; ++j) {
        double dot = 0;
        for (std::size_t m = 0; m < kH; ++m) dot += cell.W_hh.value(k * kH + i, m) * cell.W_hh.value(k * kH + j, m);
        BOOST_TEST(dot == (i == j ? 1.0 : 0.0), boost::test_tools::tolerance(1e-12));
      }
  // The blocks are drawn independently, not copies of one matrix.
  BOOST_TEST(cell.W_hh.value(0, 0) != cell.W_hh.value(kH, 0));
}

BOOST_AUTO_TEST_CASE(bad_state_shapes_are_rejected) {
  std::mt19937_64 rng(1);
  LSTMCell<double> lstm(kD, kH, rng);
  Tape<double> tape;
  const Var<double> x = tape.constant(zeros<double>({2, kD}));
  RecurrentState<double> no_c{tape.constant(zeros<double>({2, kH})), Var<double>()};
  BOOST_CHECK_THROW(lstm.step(tape, x, no_c), ShapeError);
  RecurrentState<double> wrong_batch = lstm.zero_state(tape, 3);
  BOOST_CHECK_THROW(lstm.step(tape, x, wrong_batch), ShapeError);
  BOOST_CHECK_THROW(lstm.step_projected(tape, x, lstm.zero_state(tape, 2)), ShapeError);
  JordanCell<double> jordan(kD, kH, rng, JordanOptions().with_output_size(2));
  RecurrentState<double> hidden_sized{tape.constant(zeros<double>({2, kH})), Var<double>()};
  BOOST_CHECK_THROW(jordan.step(tape, x, hidden_sized), ShapeError);
  BOOST_CHECK_NO_THROW(jordan.step(tape, x, jordan.zero_state(tape, 2)));
}
