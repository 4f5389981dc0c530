// Importing PyTorch weights: tapenet cells loaded from torch.nn.LSTM / GRU / RNN state
// dicts reproduce torch's outputs to 1e-10 (fixtures tests/data/torch_*.npz, written by
// tests/data/torch_make_fixtures.py with torch 1.13.1), one LSTM step checked against
// PyTorch's equations written as plain loops, and the import's errors.
#define BOOST_TEST_MODULE pytorch_import
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <filesystem>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "io/npz.hpp"
#include "layers/cells.hpp"
#include "layers/pytorch_import.hpp"
#include "tests/testing.hpp"

using namespace tapenet;
namespace fs = std::filesystem;
using Entries = std::map<std::string, Tensor<double>>;

namespace {

const fs::path kDataDir = fs::path(__FILE__).parent_path() / "data";
constexpr double kTol = 1e-10;

Entries load_fixture(const std::string& name) { return load_npz<double>((kDataDir / name).string()); }

const Tensor<double>& entry(const Entries& e, const std::string& key) {
  const auto it = e.find(key);
  BOOST_REQUIRE_MESSAGE(it != e.end(), "fixture entry '" << key << "' missing");
  return it->second;
}

// Columns [col, col + cols) of plane t of a [T, B, W] array, as a [B, cols] tensor.
Tensor<double> plane(const Tensor<double>& a, std::size_t t, std::size_t col = 0, std::size_t cols = 0) {
  const std::size_t rows = a.shape()[1], width = a.shape()[2];
  if (cols == 0) cols = width - col;
  Tensor<double> out = Tensor<double>::from_shape({rows, cols});
  for (std::size_t b = 0; b < rows; ++b)
    for (std::size_t j = 0; j < cols; ++j) out(b, j) = a(t, b, col + j);
  return out;
}

std::vector<Tensor<double>> sequence(const Tensor<double>& a) {
  std::vector<Tensor<double>> xs;
  for (std::size_t t = 0; t < a.shape()[0]; ++t) xs.push_back(plane(a, t));
  return xs;
}

using testing::max_abs_diff;

struct Run {
  std::vector<Tensor<double>> h;  // h_t in time order (also when run backwards in time)
  Tensor<double> h_n, c_n;
};

// Runs `cell` over xs (last to first when `backwards`) from h0 (and c0).
Run run(const RecurrentCell<double>& cell, const std::vector<Tensor<double>>& xs, const Tensor<double>& h0,
        const Tensor<double>* c0 = nullptr, bool backwards = false) {
  Tape<double> tape;
  RecurrentState<double> s{tape.constant(h0), c0 ? tape.constant(*c0) : Var<double>()};
  Run r;
  r.h.resize(xs.size());
  for (std::size_t k = 0; k < xs.size(); ++k) {
    const std::size_t t = backwards ? xs.size() - 1 - k : k;
    s = cell.step(tape, tape.constant(xs[t]), s);
    r.h[t] = s.h.value();
  }
  r.h_n = s.h.value();
  if (s.c.valid()) r.c_n = s.c.value();
  return r;
}

void expect_close(const Tensor<double>& got, const Tensor<double>& expected, const std::string& what) {
  const double d = max_abs_diff(got, expected);
  BOOST_TEST(d <= kTol, what << ": max |tapenet - torch| = " << d);
}

template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "(no exception)";
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

}  // namespace

// torch.nn.LSTM(3, 4, num_layers=2): layer 1 reads layer 0's output.
BOOST_AUTO_TEST_CASE(two_layer_lstm_matches_torch) {
  const Entries e = load_fixture("torch_lstm.npz");
  std::mt19937_64 rng(1);
  LSTMCell<double> layer0(3, 4, rng), layer1(4, 4, rng);
  import_pytorch_cell(layer0, e, 0);
  import_pytorch_cell(layer1, e, 1);
  const Tensor<double>& h0 = entry(e, "h0");
  const Tensor<double>& c0 = entry(e, "c0");
  const Tensor<double> h00 = plane(h0, 0), c00 = plane(c0, 0), h01 = plane(h0, 1), c01 = plane(c0, 1);
  const Run r0 = run(layer0, sequence(entry(e, "input")), h00, &c00);
  const Run r1 = run(layer1, r0.h, h01, &c01);
  const Tensor<double>& output = entry(e, "output");
  for (std::size_t t = 0; t < r1.h.size(); ++t) expect_close(r1.h[t], plane(output, t), "output[" + std::to_string(t) + "]");
  expect_close(r0.h_n, plane(entry(e, "h_n"), 0), "h_n[0]");
  expect_close(r1.h_n, plane(entry(e, "h_n"), 1), "h_n[1]");
  expect_close(r0.c_n, plane(entry(e, "c_n"), 0), "c_n[0]");
  expect_close(r1.c_n, plane(entry(e, "c_n"), 1), "c_n[1]");
  // The fixture is not trivial: the state moved away from where it started.
  BOOST_TEST(max_abs_diff(r1.h_n, h01) > 0.05);
}

// torch.nn.GRU(3, 4, bidirectional=True): output[t] = [forward h_t, backward h_t].
BOOST_AUTO_TEST_CASE(bidirectional_gru_matches_torch) {
  const Entries e = load_fixture("torch_gru.npz");
  std::mt19937_64 rng(1);
  GRUCell<double> forward(3, 4, rng, GRUOptions().with_reset_after()), backward(3, 4, rng, GRUOptions().with_reset_after());
  import_pytorch_cell(forward, e, 0, false);
  import_pytorch_cell(backward, e, 0, true);
  const std::vector<Tensor<double>> xs = sequence(entry(e, "input"));
  const Tensor<double>& h0 = entry(e, "h0");
  const Run fw = run(forward, xs, plane(h0, 0));
  const Run bw = run(backward, xs, plane(h0, 1), nullptr, /*backwards=*/true);
  const Tensor<double>& output = entry(e, "output");
  for (std::size_t t = 0; t < xs.size(); ++t) {
    expect_close(fw.h[t], plane(output, t, 0, 4), "forward output[" + std::to_string(t) + "]");
    expect_close(bw.h[t], plane(output, t, 4, 4), "backward output[" + std::to_string(t) + "]");
  }
  expect_close(fw.h_n, plane(entry(e, "h_n"), 0), "h_n[0]");
  expect_close(bw.h_n, plane(entry(e, "h_n"), 1), "h_n[1]");
  // Torch's reset-after candidate is not the seeds' reset-before one: the same weights in a
  // reset_before cell give another sequence, so the test tells the two apart.
  GRUCell<double> before(3, 4, rng);
  for (std::size_t k = 0; k < 4; ++k) before.parameters()[k]->value = forward.parameters()[k]->value;
  BOOST_TEST(max_abs_diff(run(before, xs, plane(h0, 0)).h_n, fw.h_n) > 1e-4);
}

// torch.nn.RNN(3, 4, nonlinearity="tanh").
BOOST_AUTO_TEST_CASE(elman_rnn_matches_torch) {
  const Entries e = load_fixture("torch_rnn.npz");
  std::mt19937_64 rng(1);
  ElmanCell<double> cell(3, 4, rng);
  import_pytorch_cell(cell, e);
  const Run r = run(cell, sequence(entry(e, "input")), plane(entry(e, "h0"), 0));
  for (std::size_t t = 0; t < r.h.size(); ++t) expect_close(r.h[t], plane(entry(e, "output"), t), "output[" + std::to_string(t) + "]");
  expect_close(r.h_n, plane(entry(e, "h_n"), 0), "h_n[0]");
}

// The float instantiation imports the same file (converted on load) to float precision.
BOOST_AUTO_TEST_CASE(float_cells_import_too) {
  const auto e = load_npz<float>((kDataDir / "torch_lstm.npz").string());
  std::mt19937_64 rng(1);
  LSTMCell<float> cell(3, 4, rng);
  import_pytorch_cell(cell, e, 0);
  const Entries d = load_fixture("torch_lstm.npz");
  Tape<float> tape;
  RecurrentState<float> s{tape.constant(xt::cast<float>(plane(d.at("h0"), 0))),
                          tape.constant(xt::cast<float>(plane(d.at("c0"), 0)))};
  for (const auto& x : sequence(d.at("input"))) s = cell.step(tape, tape.constant(xt::cast<float>(x)), s);
  const Tensor<double> h_n = xt::cast<double>(s.h.value());
  BOOST_TEST(max_abs_diff(h_n, plane(d.at("h_n"), 0)) < 1e-5);
}

// One step of an LSTM with D = 2, H = 2, B = 1, from PyTorch's documented equations as plain
// loops — an oracle that shares nothing with the tape or with torch.
//   i = σ(W_ii x + b_ii + W_hi h + b_hi)   f = σ(W_if x + b_if + W_hf h + b_hf)
//   g = tanh(W_ig x + b_ig + W_hg h + b_hg) o = σ(W_io x + b_io + W_ho h + b_ho)
//   c' = f c + i g,   h' = o tanh(c')
BOOST_AUTO_TEST_CASE(one_lstm_step_matches_hand_computation) {
  constexpr std::size_t D = 2, H = 2, G = 4;
  const double W_ih[G * H][D] = {{0.1, -0.2}, {0.3, 0.4},  {-0.5, 0.6}, {0.7, -0.8},
                                 {0.9, 0.1},  {-0.2, 0.3}, {0.4, -0.5}, {0.6, 0.7}};
  const double W_hh[G * H][H] = {{-0.3, 0.2}, {0.1, 0.5},  {0.2, -0.4}, {-0.6, 0.1},
                                 {0.3, 0.3},  {-0.1, 0.2}, {0.5, -0.2}, {0.4, 0.6}};
  const double b_ih[G * H] = {0.1, -0.1, 0.2, 0.3, -0.2, 0.05, 0.0, 0.15};
  const double b_hh[G * H] = {-0.05, 0.1, 0.0, -0.1, 0.2, 0.1, -0.3, 0.05};
  const double x[D] = {0.5, -1.5}, h[H] = {0.25, -0.75}, c[H] = {1.0, -0.5};

  auto sig = [](double v) { return 1.0 / (1.0 + std::exp(-v)); };
  double pre[G][H];
  for (std::size_t k = 0; k < G; ++k)
    for (std::size_t j = 0; j < H; ++j) {
      const std::size_t row = k * H + j;
      pre[k][j] = b_ih[row] + b_hh[row];
      for (std::size_t d = 0; d < D; ++d) pre[k][j] += W_ih[row][d] * x[d];
      for (std::size_t m = 0; m < H; ++m) pre[k][j] += W_hh[row][m] * h[m];
    }
  double c_next[H], h_next[H];
  for (std::size_t j = 0; j < H; ++j) {
    const double i = sig(pre[0][j]), f = sig(pre[1][j]), g = std::tanh(pre[2][j]), o = sig(pre[3][j]);
    c_next[j] = f * c[j] + i * g;
    h_next[j] = o * std::tanh(c_next[j]);
  }

  Entries e;
  e["weight_ih_l0"] = Tensor<double>::from_shape({G * H, D});
  e["weight_hh_l0"] = Tensor<double>::from_shape({G * H, H});
  e["bias_ih_l0"] = Tensor<double>::from_shape({G * H});
  e["bias_hh_l0"] = Tensor<double>::from_shape({G * H});
  for (std::size_t r = 0; r < G * H; ++r) {
    for (std::size_t d = 0; d < D; ++d) e["weight_ih_l0"](r, d) = W_ih[r][d];
    for (std::size_t m = 0; m < H; ++m) e["weight_hh_l0"](r, m) = W_hh[r][m];
    e["bias_ih_l0"](r) = b_ih[r];
    e["bias_hh_l0"](r) = b_hh[r];
  }
  std::mt19937_64 rng(1);
  LSTMCell<double> cell(D, H, rng);
  import_pytorch_cell(cell, e);
  Tape<double> tape;
  RecurrentState<double> s{tape.constant(Tensor<double>{{h[0], h[1]}}), tape.constant(Tensor<double>{{c[0], c[1]}})};
  s = cell.step(tape, tape.constant(Tensor<double>{{x[0], x[1]}}), s);
  for (std::size_t j = 0; j < H; ++j) {
    BOOST_TEST(s.h.value()(0, j) == h_next[j], boost::test_tools::tolerance(1e-14));
    BOOST_TEST(s.c.value()(0, j) == c_next[j], boost::test_tools::tolerance(1e-14));
  }
}

BOOST_AUTO_TEST_CASE(keys_can_carry_a_module_prefix) {
  Entries prefixed;
  for (const auto& [key, value] : load_fixture("torch_rnn.npz")) prefixed["encoder.rnn." + key] = value;
  std::mt19937_64 rng(1);
  ElmanCell<double> a(3, 4, rng), b(3, 4, rng);
  import_pytorch_cell(a, prefixed, 0, false, "encoder.rnn.");
  import_pytorch_cell(b, load_fixture("torch_rnn.npz"));
  for (std::size_t k = 0; k < 4; ++k) BOOST_TEST(max_abs_diff(a.parameters()[k]->value, b.parameters()[k]->value) == 0.0);
  BOOST_TEST(pytorch_parameter_name("bias_hh", 2, true) == "bias_hh_l2_reverse");
}

// A missing key or a wrong shape names the key (and both shapes) and changes nothing.
BOOST_AUTO_TEST_CASE(bad_entries_are_reported_and_leave_the_cell_untouched) {
  const Entries e = load_fixture("torch_lstm.npz");
  std::mt19937_64 rng(1);
  LSTMCell<double> cell(3, 4, rng);
  const Tensor<double> before = cell.W_ih.value;

  Entries missing = e;
  missing.erase("bias_hh_l0");
  const std::string m = error_of([&] { import_pytorch_cell(cell, missing, 0); });
  BOOST_TEST(contains(m, "'bias_hh_l0'"), m);
  BOOST_CHECK_THROW(import_pytorch_cell(cell, missing, 0), CheckpointError);

  const std::string r = error_of([&] { import_pytorch_cell(cell, e, 0, /*reverse=*/true); });
  BOOST_TEST(contains(r, "'weight_ih_l0_reverse'"), r);

  // Layer 1 reads 4 features, this cell 3.
  const std::string s = error_of([&] { import_pytorch_cell(cell, e, 1); });
  BOOST_TEST(contains(s, "'weight_ih_l1'"), s);
  BOOST_TEST(contains(s, "[16,4]"), s);
  BOOST_TEST(contains(s, "[16,3]"), s);

  Entries bad_bias = e;
  bad_bias["bias_ih_l0"] = zeros<double>({12});
  const std::string b = error_of([&] { import_pytorch_cell(cell, bad_bias, 0); });
  BOOST_TEST(contains(b, "'bias_ih_l0' is [12]"), b);
  BOOST_TEST(contains(b, "[16]"), b);

  Entries projected = e;
  projected["weight_hr_l0"] = zeros<double>({2, 4});
  BOOST_CHECK_THROW(import_pytorch_cell(cell, projected, 0), CheckpointError);

  BOOST_TEST(max_abs_diff(cell.W_ih.value, before) == 0.0);
}

// Cells whose equations are not torch's refuse the import instead of computing something else.
BOOST_AUTO_TEST_CASE(cells_with_other_equations_are_refused) {
  const Entries lstm = load_fixture("torch_lstm.npz"), gru = load_fixture("torch_gru.npz"), rnn = load_fixture("torch_rnn.npz");
  std::mt19937_64 rng(1);
  LSTMCell<double> peephole(3, 4, rng, LSTMOptions().with_peephole());
  BOOST_CHECK_THROW(import_pytorch_cell(peephole, lstm), std::invalid_argument);
  LSTMCell<double> coupled(3, 4, rng, LSTMOptions().with_coupled());
  BOOST_CHECK_THROW(import_pytorch_cell(coupled, lstm), std::invalid_argument);
  GRUCell<double> reset_before(3, 4, rng);
  const std::string g = error_of([&] { import_pytorch_cell(reset_before, gru); });
  BOOST_TEST(contains(g, "reset_after"), g);
  ElmanCell<double> sigmoid_rnn(3, 4, rng, ElmanOptions().with_activation(Activation::Sigmoid));
  BOOST_CHECK_THROW(import_pytorch_cell(sigmoid_rnn, rnn), std::invalid_argument);
  ElmanCell<double> relu_rnn(3, 4, rng, ElmanOptions().with_activation(Activation::Relu));
  BOOST_CHECK_NO_THROW(import_pytorch_cell(relu_rnn, rnn));
}
