// The linear-chain CRF (layers/crf.hpp): log Z, scores and Viterbi against brute force over
// every label sequence of tiny cases, padded batches against their examples one by one, and
// gradchecks of the negative log-likelihood (emissions and all three score tables).
#define BOOST_TEST_MODULE crf
#include "tests/ops_testing.hpp"

#include <limits>

#include "layers/crf.hpp"
#include "tests/testing.hpp"

using namespace tapenet;
using namespace tapenet::testing;

namespace {

using Tags = std::vector<std::int64_t>;

// score(x, y) of one sentence E [T, L] by the definition.
double score_of(const CRF<double>& crf, const Tn& E, const Tags& y) {
  double s = crf.start.value(y[0]) + crf.end.value(y.back());
  for (std::size_t t = 0; t < y.size(); ++t) s += E(t, y[t]);
  for (std::size_t t = 1; t < y.size(); ++t) s += crf.transitions.value(y[t - 1], y[t]);
  return s;
}

// Every label sequence of length T over L labels.
std::vector<Tags> all_sequences(std::size_t T, std::size_t L) {
  std::vector<Tags> out;
  Tags y(T, 0);
  for (;;) {
    out.push_back(y);
    std::size_t t = 0;
    while (t < T && ++y[t] == std::int64_t(L)) y[t++] = 0;
    if (t == T) return out;
  }
}

double brute_log_z(const CRF<double>& crf, const Tn& E) {
  double z = 0;
  for (const Tags& y : all_sequences(E.shape()[0], E.shape()[1])) z += std::exp(score_of(crf, E, y));
  return std::log(z);
}

Tags brute_best(const CRF<double>& crf, const Tn& E) {
  Tags best;
  double top = -std::numeric_limits<double>::infinity();
  for (const Tags& y : all_sequences(E.shape()[0], E.shape()[1]))
    if (const double s = score_of(crf, E, y); s > top) {
      top = s;
      best = y;
    }
  return best;
}

// Example b of a batch [T, B, L], its first n steps, as [n, L].
Tn example(const Tn& E, std::size_t b, std::size_t n) {
  Tn e = Tn::from_shape({n, E.shape()[2]});
  for (std::size_t t = 0; t < n; ++t)
    for (std::size_t j = 0; j < E.shape()[2]; ++j) e(t, j) = E(t, b, j);
  return e;
}

Tn one_sentence(const Tn& E) {
  Tn e = E;
  e.reshape({E.shape()[0], 1, E.shape()[1]});
  return e;
}

struct Fixture {
  std::mt19937_64 rng{7};
  CRF<double> crf{3, rng};
  Fixture() { randomise(crf, 11, 1.0); }
};

// A batch of 3 with lengths 4, 2, 3 (and tags -1 on the padding, which must be ignored).
const std::vector<std::size_t> kLengths = {4, 2, 3};
Tn batch_mask() {
  Tn m = zeros<double>({4, 3});
  for (std::size_t b = 0; b < 3; ++b)
    for (std::size_t t = 0; t < kLengths[b]; ++t) m(t, b) = 1;
  return m;
}
IndexTensor batch_tags() {
  IndexTensor tags = {{0, 2, 1}, {1, 2, 0}, {2, -1, 2}, {1, -1, -1}};
  return tags;
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(crf, Fixture)

BOOST_AUTO_TEST_CASE(log_partition_and_score_against_brute_force) {
  for (std::size_t T : {1, 2, 4}) {
    BOOST_TEST_CONTEXT("T = " << T) {
      const Tn E = rnd({T, 3}, 20 + T, -2, 2);
      Tape<double> tape;
      V e = tape.input(one_sentence(E));
      const Tn ones = full<double>({T, 1}, 1.0);
      CHECK_CLOSE(crf.log_partition(tape, e, ones).value(), tensor({1}, {brute_log_z(crf, E)}), 1e-12);
      const Tags y = all_sequences(T, 3)[T + 1];
      IndexTensor tags = IndexTensor::from_shape({T, 1});
      for (std::size_t t = 0; t < T; ++t) tags(t, 0) = y[t];
      CHECK_CLOSE(crf.score(tape, e, tags, ones).value(), tensor({1}, {score_of(crf, E, y)}), 1e-12);
      CHECK_CLOSE(crf.log_likelihood(tape, tape.input(E), y).value(), tensor({1}, {score_of(crf, E, y) - brute_log_z(crf, E)}), 1e-12);
    }
  }
}

BOOST_AUTO_TEST_CASE(probabilities_sum_to_one) {
  const Tn E = rnd({3, 3}, 30, -2, 2);
  Tape<double> tape;
  V e = tape.input(E);
  double total = 0;
  for (const Tags& y : all_sequences(3, 3)) total += std::exp(crf.log_likelihood(tape, e, y).item());
  BOOST_TEST(std::abs(total - 1) < 1e-12);
}

BOOST_AUTO_TEST_CASE(viterbi_against_brute_force) {
  for (std::uint64_t seed = 40; seed < 46; ++seed) {
    const Tn E = rnd({4, 3}, seed, -2, 2);
    BOOST_TEST(crf.viterbi(E) == brute_best(crf, E), boost::test_tools::per_element());
  }
  BOOST_TEST(crf.viterbi(rnd({1, 3}, 50)) == brute_best(crf, rnd({1, 3}, 50)), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(padded_batch_matches_examples_one_by_one) {
  const Tn E = rnd({4, 3, 3}, 60, -2, 2), mask = batch_mask();
  const IndexTensor tags = batch_tags();
  Tape<double> tape;
  V e = tape.input(E);
  const Tn log_z = crf.log_partition(tape, e, mask).value(), scores = crf.score(tape, e, tags, mask).value();
  double nll = 0;
  const auto paths = crf.viterbi(E, mask);
  for (std::size_t b = 0; b < 3; ++b) {
    const Tn eb = example(E, b, kLengths[b]);
    Tags yb(kLengths[b]);
    for (std::size_t t = 0; t < kLengths[b]; ++t) yb[t] = tags(t, b);
    BOOST_TEST(std::abs(log_z(b) - brute_log_z(crf, eb)) < 1e-12);
    BOOST_TEST(std::abs(scores(b) - score_of(crf, eb, yb)) < 1e-12);
    BOOST_TEST(paths[b] == brute_best(crf, eb), boost::test_tools::per_element());
    nll += brute_log_z(crf, eb) - score_of(crf, eb, yb);
  }
  CHECK_CLOSE(crf.neg_log_likelihood(tape, e, tags, mask).value(), tensor({1}, {nll}), 1e-12);
  CHECK_CLOSE(crf.neg_log_likelihood(tape, e, tags, mask, Reduction::Mean).value(), tensor({1}, {nll / 3}), 1e-12);
}

BOOST_AUTO_TEST_CASE(gradcheck_neg_log_likelihood) {
  const CRF<double>& c = crf;
  const Tags y = {2, 0, 0, 1};
  GRADCHECK([&c, y](Tape<double>& tape, const Inputs& v) { return c.neg_log_likelihood(tape, v[0], y); }, {rnd({4, 3}, 70)},
            crf.parameters());
  const Tn mask = batch_mask();
  const IndexTensor tags = batch_tags();
  GRADCHECK([&c, mask, tags](Tape<double>& tape, const Inputs& v) { return c.neg_log_likelihood(tape, v[0], tags, mask); },
            {rnd({4, 3, 3}, 71)}, crf.parameters());
  // Padded steps' emissions receive no gradient.
  Tape<double> tape;
  V e = tape.input(rnd({4, 3, 3}, 72));
  tape.backward(crf.neg_log_likelihood(tape, e, tags, mask));
  for (std::size_t j = 0; j < 3; ++j) {
    BOOST_TEST(e.grad()(2, 1, j) == 0.0);
    BOOST_TEST(e.grad()(3, 2, j) == 0.0);
  }
}

BOOST_AUTO_TEST_CASE(float_instantiation) {
  std::mt19937_64 rng(1);
  CRF<float> f(3, rng);
  Tape<float> tape;
  Tensor<float> E = {{0.5f, -1.f, 2.f}, {1.f, 0.f, -0.5f}};
  BOOST_TEST(std::isfinite(f.neg_log_likelihood(tape, tape.input(E), {2, 0}).item()));
  BOOST_TEST(f.viterbi(E).size() == 2u);
}

BOOST_AUTO_TEST_CASE(errors) {
  Tape<double> tape;
  const Tn mask = batch_mask();
  V e = tape.input(rnd({4, 3, 3}, 80));
  CHECK_SHAPE_ERROR(crf.log_partition(tape, tape.input(rnd({4, 3, 2}, 81)), mask), "CRF");
  CHECK_SHAPE_ERROR(crf.log_partition(tape, e, zeros<double>({4, 2})), "CRF");
  CHECK_SHAPE_ERROR(crf.score(tape, e, IndexTensor::from_shape({3, 3}), mask), "CRF");
  CHECK_SHAPE_ERROR(crf.log_likelihood(tape, tape.input(rnd({4, 3}, 82)), Tags{0, 1}), "CRF");
  CHECK_SHAPE_ERROR(crf.viterbi(rnd({4, 3, 3}, 83)), "CRF");
  Tn gap = mask;
  gap(1, 0) = 0;  // 1, 0, 1, 1: not a prefix
  BOOST_CHECK_THROW(crf.log_partition(tape, e, gap), std::invalid_argument);
  IndexTensor bad = batch_tags();
  bad(0, 0) = 3;
  BOOST_CHECK_THROW(crf.score(tape, e, bad, mask), std::out_of_range);
}

BOOST_AUTO_TEST_SUITE_END()
