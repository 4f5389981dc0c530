// An independent oracle: the vanilla RNN of Goodfellow, Bengio and Courville 2016 (Deep
// Learning, §10.2, in its notation)
//   a_t = b + W h_{t-1} + U x_t,  h_t = tanh(a_t),  o_t = c + V h_t,  ŷ_t = softmax(o_t),
//   L = Σ_t -log ŷ_t[y_t]
// with its backpropagation-through-time gradients (Werbos 1990; the book's §10.2.2) derived
// by hand and written as plain loops. The tape, which knows nothing of RNNs, must produce
// the same gradients to 1e-10 over T = 20 steps.
#define BOOST_TEST_MODULE bptt_oracle
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <random>

#include "autograd/ops.hpp"

using namespace tapenet;
using Mat = std::vector<std::vector<double>>;
using Vec = std::vector<double>;

namespace {

constexpr std::size_t kT = 20, kD = 3, kH = 5, kK = 4;

Mat random_matrix(std::size_t rows, std::size_t cols, std::mt19937_64& rng, double scale) {
  std::normal_distribution<double> normal(0.0, scale);
  Mat m(rows, Vec(cols));
  for (auto& r : m)
    for (auto& v : r) v = normal(rng);
  return m;
}

Tensor<double> to_tensor(const Mat& m) {
  Tensor<double> t = Tensor<double>::from_shape({m.size(), m[0].size()});
  for (std::size_t i = 0; i < m.size(); ++i)
    for (std::size_t j = 0; j < m[0].size(); ++j) t(i, j) = m[i][j];
  return t;
}

Vec matvec(const Mat& M, const Vec& v) {
  Vec out(M.size(), 0.0);
  for (std::size_t i = 0; i < M.size(); ++i)
    for (std::size_t j = 0; j < v.size(); ++j) out[i] += M[i][j] * v[j];
  return out;
}

Vec matTvec(const Mat& M, const Vec& v) {  // Mᵀ v
  Vec out(M[0].size(), 0.0);
  for (std::size_t i = 0; i < M.size(); ++i)
    for (std::size_t j = 0; j < out.size(); ++j) out[j] += M[i][j] * v[i];
  return out;
}

void add_outer(Mat& G, const Vec& a, const Vec& b) {  // G += a bᵀ
  for (std::size_t i = 0; i < a.size(); ++i)
    for (std::size_t j = 0; j < b.size(); ++j) G[i][j] += a[i] * b[j];
}

struct Rnn {
  Mat W, U, V;  // [H,H], [H,D], [K,H]
  Vec b, c;     // [H], [K]
};

struct HandGradients {
  Mat W, U, V;
  Vec b, c;
  double loss = 0;
};

// Forward and hand-derived BPTT:
//   ∇o_t = ŷ_t - e_{y_t}
//   ∇h_τ = Vᵀ ∇o_τ;  ∇h_t = Wᵀ diag(1 - h_{t+1}²) ∇h_{t+1} + Vᵀ ∇o_t
//   ∇c = Σ ∇o_t,  ∇V = Σ ∇o_t h_tᵀ,  ∇b = Σ diag(1 - h_t²) ∇h_t,
//   ∇W = Σ diag(1 - h_t²) ∇h_t h_{t-1}ᵀ,  ∇U = Σ diag(1 - h_t²) ∇h_t x_tᵀ
HandGradients hand_bptt(const Rnn& p, const std::vector<Vec>& x, const std::vector<int>& y) {
  std::vector<Vec> h(kT + 1, Vec(kH, 0.0));  // h[0] = h_0 = 0; h[t+1] is step t
  std::vector<Vec> grad_o(kT);
  HandGradients g{Mat(kH, Vec(kH)), Mat(kH, Vec(kD)), Mat(kK, Vec(kH)), Vec(kH), Vec(kK), 0.0};
  for (std::size_t t = 0; t < kT; ++t) {
    Vec a = matvec(p.W, h[t]);
    Vec ux = matvec(p.U, x[t]);
    for (std::size_t i = 0; i < kH; ++i) h[t + 1][i] = std::tanh(p.b[i] + a[i] + ux[i]);
    Vec o = matvec(p.V, h[t + 1]);
    double mx = -1e300, z = 0;
    for (std::size_t k = 0; k < kK; ++k) mx = std::max(mx, o[k] += p.c[k]);
    for (double v : o) z += std::exp(v - mx);
    grad_o[t].resize(kK);
    for (std::size_t k = 0; k < kK; ++k) grad_o[t][k] = std::exp(o[k] - mx) / z - (int(k) == y[t] ? 1.0 : 0.0);
    g.loss += mx + std::log(z) - o[y[t]];
  }
  Vec grad_a_next(kH, 0.0);  // diag(1 - h_{t+1}²) ∇h_{t+1}
  for (std::size_t t = kT; t-- > 0;) {
    Vec grad_h = matTvec(p.V, grad_o[t]);
    Vec through_time = matTvec(p.W, grad_a_next);
    Vec grad_a(kH);
    for (std::size_t i = 0; i < kH; ++i) {
      grad_h[i] += through_time[i];
      grad_a[i] = (1 - h[t + 1][i] * h[t + 1][i]) * grad_h[i];
    }
    for (std::size_t k = 0; k < kK; ++k) g.c[k] += grad_o[t][k];
    add_outer(g.V, grad_o[t], h[t + 1]);
    for (std::size_t i = 0; i < kH; ++i) g.b[i] += grad_a[i];
    add_outer(g.W, grad_a, h[t]);
    add_outer(g.U, grad_a, x[t]);
    grad_a_next = grad_a;
  }
  return g;
}

void check_close(const Tensor<double>& tape_grad, const Mat& hand, const char* name) {
  for (std::size_t i = 0; i < hand.size(); ++i)
    for (std::size_t j = 0; j < hand[0].size(); ++j)
      BOOST_TEST(std::abs(tape_grad(i, j) - hand[i][j]) < 1e-10, name << "[" << i << "," << j << "]: tape "
                                                                       << tape_grad(i, j) << " vs hand " << hand[i][j]);
}

}  // namespace

BOOST_AUTO_TEST_CASE(tape_bptt_matches_hand_derived_gradients) {
  std::mt19937_64 rng(7);
  Rnn p{random_matrix(kH, kH, rng, 0.5), random_matrix(kH, kD, rng, 0.5), random_matrix(kK, kH, rng, 0.5),
        random_matrix(1, kH, rng, 0.1)[0], random_matrix(1, kK, rng, 0.1)[0]};
  std::vector<Vec> x;
  std::vector<int> y;
  std::uniform_int_distribution<int> label(0, kK - 1);
  for (std::size_t t = 0; t < kT; ++t) {
    x.push_back(random_matrix(1, kD, rng, 1.0)[0]);
    y.push_back(label(rng));
  }
  const HandGradients hand = hand_bptt(p, x, y);

  // The same network as an ordinary C++ loop over the tape, with row vectors.
  Parameter<double> W("W", to_tensor(p.W)), U("U", to_tensor(p.U)), V("V", to_tensor(p.V));
  Parameter<double> b("b", to_tensor(Mat{p.b})), c("c", to_tensor(Mat{p.c}));
  Tape<double> tape;
  Var<double> h = tape.constant(zeros<double>({1, kH}));
  Var<double> loss = tape.constant(zeros<double>({1}));
  ClassLossOptions<double> summed;
  summed.reduction = Reduction::Sum;
  for (std::size_t t = 0; t < kT; ++t) {
    Var<double> xt = tape.constant(to_tensor(Mat{x[t]}));
    h = tanh(tape.param(b) + matmul(h, tape.param(W), false, true) + matmul(xt, tape.param(U), false, true));
    Var<double> o = tape.param(c) + matmul(h, tape.param(V), false, true);
    loss = loss + cross_entropy(o, {y[t]}, summed);
  }
  tape.backward(loss);

  BOOST_TEST(std::abs(loss.item() - hand.loss) < 1e-10);
  check_close(W.grad, hand.W, "dW");
  check_close(U.grad, hand.U, "dU");
  check_close(V.grad, hand.V, "dV");
  check_close(b.grad, Mat{hand.b}, "db");
  check_close(c.grad, Mat{hand.c}, "dc");
}
