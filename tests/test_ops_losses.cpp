// Normalisation and losses of issue 16: layer_norm, cosine_similarity, l1_loss,
// smooth_l1_loss, binary_cross_entropy_with_logits, kl_div and ctc_loss. Gradchecks, values
// by hand, by explicit loops or from Python's math module, and CTC against a brute-force
// sum over every alignment.
#define BOOST_TEST_MODULE ops_losses
#include "tests/ops_testing.hpp"

#include <functional>
#include <limits>

using namespace tapenet;
using namespace tapenet::testing;

// ---------------------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(normalisation)

// The definition, by explicit loops over the rows of x [R, D].
Tn layer_norm_oracle(const Tn& x, const Tn& g, const Tn& b, double eps) {
  const std::size_t D = x.shape().back(), R = x.size() / D;
  Tn y = Tn::from_shape(x.shape());
  for (std::size_t r = 0; r < R; ++r) {
    double mu = 0, var = 0;
    for (std::size_t j = 0; j < D; ++j) mu += x.flat(r * D + j) / double(D);
    for (std::size_t j = 0; j < D; ++j) var += std::pow(x.flat(r * D + j) - mu, 2) / double(D);
    for (std::size_t j = 0; j < D; ++j) y.flat(r * D + j) = (x.flat(r * D + j) - mu) / std::sqrt(var + eps) * g(j) + b(j);
  }
  return y;
}

BOOST_AUTO_TEST_CASE(layer_norm_values) {
  Tape<double> tape;
  // [1, 2, 3]: mean 2, variance 2/3, so x̂ = ±√1.5.
  V x = tape.input(tensor({1, 3}, {1, 2, 3}));
  CHECK_CLOSE(layer_norm(x, tape.input(tensor({3}, {1, 1, 1})), tape.input(zeros<double>({3})), 0.0).value(),
              tensor({1, 3}, {-std::sqrt(1.5), 0, std::sqrt(1.5)}), 1e-14);
  const Tn x3 = rnd({2, 2, 4}, 1), g = rnd({4}, 2), b = rnd({4}, 3);
  CHECK_CLOSE(layer_norm(tape.input(x3), tape.input(g), tape.input(b)).value(), layer_norm_oracle(x3, g, b, 1e-5), 1e-13);
  Tape<float> tf;  // float instantiation
  Tensor<float> xf = {{1.f, 2.f, 3.f}}, gf = {1.f, 1.f, 1.f}, bf = {0.f, 0.f, 0.f};
  BOOST_TEST(std::abs(layer_norm(tf.input(xf), tf.input(gf), tf.input(bf), 0.f).value()(0, 2) - std::sqrt(1.5f)) < 1e-6f);
}

BOOST_AUTO_TEST_CASE(layer_norm_gradcheck) {
  GRADCHECK([](Tape<double>&, const Inputs& v) { return layer_norm(v[0], v[1], v[2]); }, {rnd({3, 5}, 4), rnd({5}, 5), rnd({5}, 6)});
  GRADCHECK([](Tape<double>&, const Inputs& v) { return layer_norm(v[0], v[1], v[2], 0.1); }, {rnd({2, 2, 3}, 7), rnd({3}, 8), rnd({3}, 9)});
  // Gain and bias the same Var.
  GRADCHECK([](Tape<double>&, const Inputs& v) { return layer_norm(v[0], v[1], v[1]); }, {rnd({2, 4}, 10), rnd({4}, 11)});
}

BOOST_AUTO_TEST_CASE(cosine_similarity_values_and_gradcheck) {
  Tape<double> tape;
  V a = tape.input(tensor({2, 2}, {1, 0, 3, 4})), b = tape.input(tensor({2, 2}, {1, 1, -3, -4}));
  CHECK_CLOSE(cosine_similarity(a, b).value(), tensor({2}, {1 / std::sqrt(2.0), -1}), 1e-14);
  CHECK_CLOSE(cosine_similarity(a, b, 0).value(), tensor({2}, {(1 - 9) / std::sqrt(10.0 * 10.0), -16 / std::sqrt(16.0 * 17.0)}), 1e-14);
  V z = tape.input(zeros<double>({1, 2}));
  CHECK_CLOSE(cosine_similarity(z, b).value(), tensor({2}, {0, 0}), 0);  // eps keeps 0/0 at 0
  GRADCHECK([](Tape<double>&, const Inputs& v) { return cosine_similarity(v[0], v[1]); }, {rnd({3, 4}, 12), rnd({3, 4}, 13)});
  GRADCHECK([](Tape<double>&, const Inputs& v) { return cosine_similarity(v[0], v[1], 1); }, {rnd({3, 4}, 14), rnd({1, 4}, 15)});
  GRADCHECK([](Tape<double>&, const Inputs& v) { return cosine_similarity(v[0], add(v[0], v[1]), 0); }, {rnd({3, 2}, 16), rnd({3, 2}, 17)});
}

BOOST_AUTO_TEST_CASE(shape_errors_name_the_op) {
  Tape<double> tape;
  V x = tape.input(rnd({2, 3}, 1));
  CHECK_SHAPE_ERROR(layer_norm(x, tape.input(rnd({2}, 2)), tape.input(rnd({3}, 3))), "layer_norm");
  CHECK_SHAPE_ERROR(layer_norm(x, tape.input(rnd({3}, 2)), tape.input(rnd({1, 3}, 3))), "layer_norm");
  CHECK_SHAPE_ERROR(cosine_similarity(x, tape.input(rnd({2, 2}, 4))), "cosine_similarity");
  CHECK_SHAPE_ERROR(cosine_similarity(x, x, 2), "cosine_similarity");
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(pointwise_losses)

BOOST_AUTO_TEST_CASE(l1_and_smooth_l1_values) {
  Tape<double> tape;
  V p = tape.input(tensor({4}, {0.0, 2.0, -1.0, 0.5})), y = tape.input(tensor({4}, {0.3, 0.0, 1.5, 0.5}));
  // |d| = 0.3, 2, 2.5, 0
  CHECK_CLOSE(l1_loss(p, y).value(), tensor({1}, {4.8 / 4}), 1e-15);
  CHECK_CLOSE(l1_loss(p, y, Reduction::Sum).value(), tensor({1}, {4.8}), 1e-15);
  // β = 1: 0.5·0.09, 1.5, 2.0, 0
  CHECK_CLOSE(smooth_l1_loss(p, y).value(), tensor({1}, {(0.045 + 1.5 + 2.0) / 4}), 1e-15);
  // β = 2.2: 0.09/4.4, 2²/4.4, 2.5 - 1.1, 0
  CHECK_CLOSE(smooth_l1_loss(p, y, 2.2, Reduction::Sum).value(), tensor({1}, {0.09 / 4.4 + 4 / 4.4 + 1.4}), 1e-14);
  CHECK_CLOSE(smooth_l1_loss(p, y, 0.0, Reduction::Sum).value(), l1_loss(p, y, Reduction::Sum).value(), 1e-15);
  tape.backward(l1_loss(p, y, Reduction::Sum));
  CHECK_CLOSE(p.grad(), tensor({4}, {-1, 1, -1, 0}), 0);  // sign, 0 at the tie
  CHECK_CLOSE(y.grad(), tensor({4}, {1, -1, 1, 0}), 0);
}

BOOST_AUTO_TEST_CASE(bce_with_logits_values_and_stability) {
  Tape<double> tape;
  V x = tape.input(tensor({2, 3}, {-3.0, -0.5, 0.0, 0.7, 2.0, 5.0}));
  V y = tape.input(tensor({2, 3}, {0.0, 1.0, 0.3, 1.0, 0.0, 0.6}));
  CHECK_CLOSE(binary_cross_entropy_with_logits(x, y).value(), tensor({1}, {1.04210682078856}), 1e-13);
  const Tn w = tensor({2, 3}, {1, 2, 0.5, 1, 3, 1});
  CHECK_CLOSE(binary_cross_entropy_with_logits(x, y, &w, Reduction::Sum).value(), tensor({1}, {11.1340003407174}), 1e-12);
  // A per-column weight [3] broadcasts to [2,3]: the same as the full weight it expands to.
  const Tn wc = tensor({3}, {0.5, 2, 1}), wfull = tensor({2, 3}, {0.5, 2, 1, 0.5, 2, 1});
  CHECK_CLOSE(binary_cross_entropy_with_logits(x, y, &wc).value(), binary_cross_entropy_with_logits(x, y, &wfull).value(), 1e-15);
  V big = tape.input(tensor({2}, {-1000, 1000})), t = tape.input(tensor({2}, {1, 0}));
  Var<double> l = binary_cross_entropy_with_logits(big, t, nullptr, Reduction::Sum);
  CHECK_CLOSE(l.value(), tensor({1}, {2000}), 1e-9);
  tape.backward(l);
  CHECK_CLOSE(big.grad(), tensor({2}, {-1, 1}), 1e-15);
}

BOOST_AUTO_TEST_CASE(kl_div_values) {
  Tape<double> tape;
  V li = tape.input(tensor({2, 2}, {-1.2, -0.4, -2.3, -0.9})), t = tape.input(tensor({2, 2}, {0.3, 0.0, 0.5, 0.2}));
  CHECK_CLOSE(kl_div(li, t, Reduction::Sum).value(), tensor({1}, {0.660346985935426}), 1e-14);
  CHECK_CLOSE(kl_div(li, t).value(), tensor({1}, {0.165086746483857}), 1e-14);
  tape.backward(kl_div(li, t, Reduction::Sum));
  CHECK_CLOSE(li.grad(), tensor({2, 2}, {-0.3, 0, -0.5, -0.2}), 1e-15);
  BOOST_TEST(t.grad()(0, 1) == 0.0);  // target 0 contributes nothing
}

BOOST_AUTO_TEST_CASE(gradchecks) {
  const Tn p = rnd({3, 4}, 20);
  Tn y = rnd({3, 4}, 21);
  for (std::size_t i = 0; i < y.size(); ++i)  // keep |p - y| away from the kinks at 0 and β
    for (double k : {0.0, 0.4, -0.4}) {
      const double d = p.flat(i) - y.flat(i) - k;
      if (std::abs(d) < 0.05) y.flat(i) -= d < 0 ? 0.05 : -0.05;
    }
  for (Reduction r : {Reduction::Mean, Reduction::Sum}) {
    GRADCHECK([r](Tape<double>&, const Inputs& v) { return l1_loss(v[0], v[1], r); }, {p, y});
    GRADCHECK([r](Tape<double>&, const Inputs& v) { return smooth_l1_loss(v[0], v[1], 0.4, r); }, {p, y});
    const Tn w = rnd({4}, 22, 0.5, 2);
    GRADCHECK([r](Tape<double>&, const Inputs& v) { return binary_cross_entropy_with_logits(v[0], v[1], nullptr, r); },
              {rnd({3, 4}, 23, -4, 4), rnd({3, 4}, 24, 0, 1)});
    GRADCHECK([r, w](Tape<double>&, const Inputs& v) { return binary_cross_entropy_with_logits(v[0], v[1], &w, r); },
              {rnd({3, 4}, 25, -4, 4), rnd({3, 4}, 26, 0, 1)});
    GRADCHECK([r](Tape<double>&, const Inputs& v) { return kl_div(log_softmax(v[0], 1), softmax(v[1], 1), r); },
              {rnd({3, 4}, 27), rnd({3, 4}, 28)});
  }
  // The same Var as prediction and (shifted) target.
  GRADCHECK([](Tape<double>&, const Inputs& v) { return smooth_l1_loss(v[0], mul_scalar(v[0], 0.3)); }, {away_from({5}, 29, {0.0}, -2, 2, 0.1)});
  GRADCHECK([](Tape<double>&, const Inputs& v) { return binary_cross_entropy_with_logits(v[0], sigmoid(v[0])); }, {rnd({5}, 30)});
}

BOOST_AUTO_TEST_CASE(shape_errors_name_the_op) {
  Tape<double> tape;
  V a = tape.input(rnd({2, 3}, 1)), b = tape.input(rnd({3, 2}, 2));
  CHECK_SHAPE_ERROR(l1_loss(a, b), "l1_loss");
  CHECK_SHAPE_ERROR(smooth_l1_loss(a, b), "smooth_l1_loss");
  CHECK_SHAPE_ERROR(binary_cross_entropy_with_logits(a, b), "binary_cross_entropy_with_logits");
  const Tn w = rnd({2}, 3);
  CHECK_SHAPE_ERROR(binary_cross_entropy_with_logits(a, a, &w), "binary_cross_entropy_with_logits");
  CHECK_SHAPE_ERROR(kl_div(a, b), "kl_div");
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(ctc)

using Targets = std::vector<std::vector<std::int64_t>>;

// -log Σ over every path of `frames` symbols that collapses (merge repeats, drop blanks) to
// `target`, of Π_t exp(lp[t, n, π_t]): the definition, by enumeration.
double ctc_brute_force(const Tn& lp, std::size_t n, std::size_t frames, const std::vector<std::int64_t>& target, std::int64_t blank) {
  const std::size_t C = lp.shape()[2];
  std::vector<std::size_t> path(frames, 0);
  double total = 0;
  for (;;) {
    std::vector<std::int64_t> collapsed;
    std::int64_t prev = -1;
    double logp = 0;
    for (std::size_t t = 0; t < frames; ++t) {
      const std::int64_t c = std::int64_t(path[t]);
      logp += lp(t, n, path[t]);
      if (c != prev && c != blank) collapsed.push_back(c);
      prev = c;
    }
    if (collapsed == target) total += std::exp(logp);
    std::size_t t = 0;
    while (t < frames && ++path[t] == C) path[t++] = 0;
    if (t == frames) break;
  }
  return -std::log(total);
}

// log_softmax over the classes of random logits [T, N, C].
Tn random_log_probs(const Shape& shape, std::uint64_t seed) {
  Tape<double> tape;
  return log_softmax(tape.input(rnd(shape, seed, -2, 2)), 2).value();
}

BOOST_AUTO_TEST_CASE(hand_value_uniform) {
  // T = 2, C = 2, uniform: of the 4 paths, [1,1], [0,1], [1,0] collapse to [1] -> p = 3/4.
  Tape<double> tape;
  V lp = tape.input(full<double>({2, 1, 2}, std::log(0.5)));
  CHECK_CLOSE(ctc_loss(lp, Targets{{1}}, {2}).value(), tensor({1}, {-std::log(0.75)}), 1e-14);
  // [1,1] needs a blank between the repeats: only [1,0,1] of 8 paths of 3 frames.
  V lp3 = tape.input(full<double>({3, 1, 2}, std::log(0.5)));
  CHECK_CLOSE(ctc_loss(lp3, Targets{{1, 1}}, {3}, {0, Reduction::Sum, false}).value(), tensor({1}, {-std::log(1.0 / 8)}), 1e-14);
}

BOOST_AUTO_TEST_CASE(against_brute_force) {
  const Tn lp = random_log_probs({5, 4, 3}, 1);
  const Targets targets = {{1, 2}, {1, 1}, {2}, {}};
  const std::vector<std::int64_t> lengths = {5, 4, 3, 5};
  Tape<double> tape;
  V x = tape.input(lp);
  double sum_loss = 0, mean_loss = 0;
  for (std::size_t n = 0; n < 4; ++n) {
    const double l = ctc_brute_force(lp, n, std::size_t(lengths[n]), targets[n], 0);
    sum_loss += l;
    mean_loss += l / std::max<std::size_t>(targets[n].size(), 1) / 4;
    CTCOptions one{0, Reduction::Sum, false};
    // Example n alone (the others' lengths do not matter).
    CHECK_CLOSE(ctc_loss(slice(x, 1, n, n + 1), Targets{targets[n]}, {lengths[n]}, one).value(), tensor({1}, {l}), 1e-12);
  }
  CHECK_CLOSE(ctc_loss(x, targets, lengths, {0, Reduction::Sum, false}).value(), tensor({1}, {sum_loss}), 1e-12);
  CHECK_CLOSE(ctc_loss(x, targets, lengths).value(), tensor({1}, {mean_loss}), 1e-12);
  // torch's concatenated targets with target lengths give the same.
  CHECK_CLOSE(ctc_loss(x, std::vector<std::int64_t>{1, 2, 1, 1, 2}, lengths, {2, 2, 1, 0}).value(), tensor({1}, {mean_loss}), 1e-12);
  CHECK_SHAPE_ERROR(ctc_loss(x, std::vector<std::int64_t>{1, 2, 1, 1, 2}, lengths, {2, 2, 1, 1}), "ctc_loss");
  CHECK_SHAPE_ERROR(ctc_loss(x, std::vector<std::int64_t>{1, 2, 1, 1, 2}, lengths, {2, 2, 0, 0}), "ctc_loss");
  // Another blank index: blank = 2, labels from {0, 1}.
  const Targets t2 = {{0, 1}, {0, 0}, {1}, {0}};
  double s2 = 0;
  for (std::size_t n = 0; n < 4; ++n) s2 += ctc_brute_force(lp, n, std::size_t(lengths[n]), t2[n], 2);
  CHECK_CLOSE(ctc_loss(x, t2, lengths, {2, Reduction::Sum, false}).value(), tensor({1}, {s2}), 1e-12);
}

BOOST_AUTO_TEST_CASE(gradcheck_raw_and_through_log_softmax) {
  const Targets targets = {{1, 2}, {1, 1}, {2}};
  const std::vector<std::int64_t> lengths = {4, 4, 2};
  for (Reduction r : {Reduction::Mean, Reduction::Sum}) {
    const CTCOptions opt{0, r, false};
    GRADCHECK([&](Tape<double>&, const Inputs& v) { return ctc_loss(v[0], targets, lengths, opt); }, {random_log_probs({4, 3, 3}, 2)});
    GRADCHECK([&](Tape<double>&, const Inputs& v) { return ctc_loss(log_softmax(v[0], 2), targets, lengths, opt); },
              {rnd({4, 3, 3}, 3, -2, 2)});
  }
  // Frames past an input length receive no gradient.
  Tape<double> tape;
  V x = tape.input(random_log_probs({4, 3, 3}, 4));
  tape.backward(ctc_loss(x, targets, lengths));
  for (std::size_t t = 2; t < 4; ++t)
    for (std::size_t c = 0; c < 3; ++c) BOOST_TEST(x.grad()(t, 2, c) == 0.0);
}

BOOST_AUTO_TEST_CASE(impossible_alignment_and_zero_infinity) {
  // [1, 1] needs 3 frames; 2 are given.
  const Tn lp = random_log_probs({2, 2, 3}, 5);
  const Targets targets = {{1, 1}, {2}};
  Tape<double> tape;
  V x = tape.input(lp);
  BOOST_TEST(std::isinf(ctc_loss(x, targets, {2, 2}, {0, Reduction::Sum, false}).item()));
  Var<double> l = ctc_loss(x, targets, {2, 2}, {0, Reduction::Sum, true});
  CHECK_CLOSE(l.value(), tensor({1}, {ctc_brute_force(lp, 1, 2, {2}, 0)}), 1e-12);
  tape.backward(l);
  for (std::size_t t = 0; t < 2; ++t)
    for (std::size_t c = 0; c < 3; ++c) BOOST_TEST(x.grad()(t, 0, c) == 0.0);
}

BOOST_AUTO_TEST_CASE(errors) {
  Tape<double> tape;
  V x = tape.input(random_log_probs({3, 2, 3}, 6));
  CHECK_SHAPE_ERROR(ctc_loss(tape.input(rnd({3, 3}, 1)), Targets{{1}}, {3}), "ctc_loss");
  CHECK_SHAPE_ERROR(ctc_loss(x, Targets{{1}}, {3}), "ctc_loss");
  CHECK_SHAPE_ERROR(ctc_loss(x, Targets{{1}, {2}}, {3}), "ctc_loss");
  CHECK_SHAPE_ERROR(ctc_loss(x, Targets{{1}, {2}}, {4, 3}), "ctc_loss");
  BOOST_CHECK_THROW(ctc_loss(x, Targets{{1}, {0}}, {3, 3}), std::out_of_range);  // the blank as a label
  BOOST_CHECK_THROW(ctc_loss(x, Targets{{1}, {3}}, {3, 3}), std::out_of_range);
  BOOST_CHECK_THROW(ctc_loss(x, Targets{{1}, {1}}, {3, 3}, {3, Reduction::Mean, false}), std::out_of_range);
}

BOOST_AUTO_TEST_SUITE_END()
